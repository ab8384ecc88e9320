"""Shared helpers of the Python client tests: redis-server, a PSUBSCRIBE '*' capture, siobroker.

Every process is started on a free 127.0.0.1 port and stopped by its PID; every wait is bounded.
Importing this module also puts clients/python on sys.path (tests do not need the package
installed).
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
CLIENT_DIR = os.path.join(ROOT, "clients", "python")
if CLIENT_DIR not in sys.path:
    sys.path.insert(0, CLIENT_DIR)

import redis  # noqa: E402  (Debian's python3-redis)

BIN_DIR = os.environ.get("SIO_BIN_DIR") or os.path.join(ROOT, "build", "bin")
NODE = os.environ.get("NODE") or ("/usr/bin/node" if os.path.exists("/usr/bin/node") else shutil.which("node"))
REDIS_SERVER = os.environ.get("REDIS_SERVER") or shutil.which("redis-server") or "/usr/bin/redis-server"
WAIT = 10.0  # seconds, the bound of every wait for a process or a message


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc, timeout=5.0):
    """Stop one process we started, by its PID: SIGTERM, then SIGKILL after ``timeout``."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.kill(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout)


class RedisServer:
    """A throw-away redis-server (no persistence) on a free port."""

    def __init__(self):
        self.proc = None
        self.port = None
        self.dir = None

    @property
    def url(self):
        return "redis://127.0.0.1:%d/0" % self.port

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="sio-redis-")
        last = ""
        for _ in range(3):
            self.port = free_port()
            self.proc = subprocess.Popen(
                [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", self.dir, "--daemonize", "no", "--loglevel", "warning"],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + WAIT
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1)
                    if client.ping():
                        client.close()
                        return self
                except redis.exceptions.ConnectionError:
                    time.sleep(0.05)
            _stop(self.proc)
            last = self.proc.stdout.read().decode("utf-8", "replace") if self.proc.stdout else ""
        raise RuntimeError("redis-server did not start:\n" + last)

    def client(self):
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=WAIT)

    def stop(self):
        _stop(self.proc)
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


END = b"__end__"
CASE = b"__case__"


class Capture:
    """PSUBSCRIBE '*' and record every (channel, raw bytes), in order, until ``END`` arrives.

    ``start()`` returns once the subscription is confirmed. ``finish()`` publishes ``END`` and
    returns the messages before it (bounded by ``WAIT``).
    """

    def __init__(self, server):
        self.server = server
        self.client = server.client()
        self.pubsub = self.client.pubsub()
        self.messages = []

    def start(self):
        self.pubsub.psubscribe("*")
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            msg = self.pubsub.get_message(timeout=0.5)
            if msg and msg["type"] == "psubscribe":
                return self
        raise RuntimeError("PSUBSCRIBE '*' was not confirmed")

    def finish(self):
        self.server.client().publish(END, b"")
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            msg = self.pubsub.get_message(timeout=0.5)
            if not msg or msg["type"] != "pmessage":
                continue
            if msg["channel"] == END:
                self.close()
                return self.messages
            self.messages.append((msg["channel"], msg["data"]))
        self.close()
        raise AssertionError("the end marker did not arrive within %.0fs (%d messages so far)"
                             % (WAIT, len(self.messages)))

    def close(self):
        try:
            self.pubsub.close()
            self.client.close()
        except Exception:
            pass


def group_by_case(messages):
    """[(channel, data)] with CASE markers → [(case name, [(channel, data), ...])]."""
    groups = []
    for channel, data in messages:
        if channel == CASE:
            groups.append((data.decode("utf-8"), []))
        elif groups:
            groups[-1][1].append((channel, data))
        else:
            groups.append(("<before any case>", [(channel, data)]))
    return groups


def siobroker_has_redis():
    """True when ``siobroker --help`` mentions ``--redis``."""
    path = os.path.join(BIN_DIR, "siobroker")
    if not os.path.exists(path):
        return False
    try:
        out = subprocess.run([path, "--help"], stdin=subprocess.DEVNULL, capture_output=True,
                             timeout=WAIT)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return b"--redis" in out.stdout + out.stderr


class Siobroker:
    """A siobroker node; ``log()`` is what it printed."""

    def __init__(self, proc, port):
        self.proc = proc
        self.port = port
        self.url = "http://127.0.0.1:%d" % port
        self.output = []
        self.lock = threading.Lock()

    def log(self):
        with self.lock:
            return "".join(self.output)

    def stop(self):
        _stop(self.proc)
        if self.proc.stdout:
            self.proc.stdout.close()


def start_siobroker(redis_url, *extra_args):
    """Start ``$SIO_BIN_DIR/siobroker --listen 127.0.0.1:<free> --redis <url>`` with a cluster secret.

    Waits (bounded) for its "listening on" line and returns a :class:`Siobroker`; the caller stops
    it with ``.stop()``. The secret goes through the environment (SIO_CLUSTER_SECRET), as in
    production.
    """
    path = os.path.join(BIN_DIR, "siobroker")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIO_")}
    env["SIO_CLUSTER_SECRET"] = "python-tests-cluster-secret-0123"
    last = ""
    for _ in range(3):
        port = free_port()
        args = [path, "--listen", "127.0.0.1:%d" % port, "--redis", redis_url]
        args += ["--log-level", "debug"] + list(extra_args)
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=env)
        node = Siobroker(proc, port)
        listening = threading.Event()

        def read(node=node, listening=listening):
            for raw in node.proc.stdout:
                line = raw.decode("utf-8", "replace")
                with node.lock:
                    node.output.append(line)
                if "listening on" in line:
                    listening.set()

        threading.Thread(target=read, daemon=True).start()
        if listening.wait(WAIT):
            return node
        node.stop()
        last = node.log()
        if "in use" not in last:
            break
    raise RuntimeError("siobroker did not print \"listening on\" within %.0fs:\n%s" % (WAIT, last))


# --------------------------------------------------------------------------------------------
# A minimal Django project (written to a temp dir, imported in-process after django.setup())
# --------------------------------------------------------------------------------------------

DJANGO_PROJECT = "siodjproj"

_SETTINGS = '''\
SECRET_KEY = "siobroker-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
ROOT_URLCONF = "siodjproj.urls"
INSTALLED_APPS = []
MIDDLEWARE = []
DATABASES = {}
USE_TZ = True
TIME_ZONE = "UTC"
SIO_REDIS_URL = %(redis_url)r
SIO_REDIS_KEY = %(redis_key)r
'''

_URLS = '''\
from django.urls import path

from . import views

urlpatterns = [
    path("news/", views.news),
    path("chat/", views.chat),
]
'''

_VIEWS = '''\
from django.http import HttpResponse, JsonResponse

from siobroker.django import emitter, get_emitter


def news(request):
    emitter.to(request.GET["room"]).emit("news", {"title": request.GET.get("title", "Hello")})
    return HttpResponse("ok")


def chat(request):
    get_emitter().of("chat").volatile.emit("msg", request.GET.get("text", ""))
    return JsonResponse({"ok": True})
'''


def make_django_project(base_dir, redis_url, redis_key="socket.io"):
    """Write the ``siodjproj`` project under ``base_dir``; put ``base_dir`` on sys.path yourself."""
    pkg = os.path.join(base_dir, DJANGO_PROJECT)
    os.makedirs(pkg, exist_ok=True)
    files = {
        "__init__.py": "",
        "settings.py": _SETTINGS % {"redis_url": redis_url, "redis_key": redis_key},
        "urls.py": _URLS,
        "views.py": _VIEWS,
    }
    for name, text in files.items():
        with open(os.path.join(pkg, name), "w", encoding="utf-8") as f:
            f.write(text)
    return pkg


def setup_django(redis_url, redis_key="socket.io"):
    """Create the project in a new temp dir and ``django.setup()`` it; returns the temp dir."""
    base = tempfile.mkdtemp(prefix="sio-django-")
    make_django_project(base, redis_url, redis_key)
    sys.path.insert(0, base)
    os.environ["DJANGO_SETTINGS_MODULE"] = DJANGO_PROJECT + ".settings"
    import django

    django.setup()
    return base
