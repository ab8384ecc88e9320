"""End to end: a Django view's emitter call reaches a socket.io-client through siobroker --redis.

redis-server + ``siobroker --redis`` (start_siobroker) + a socket.io-client 4.8 (sio_client.mjs)
that joins a room through the rooms policy; the Django view of test_django's project then does
``emitter.to(room).emit("news", {"title": ...})`` and the client must receive it.

If ``siobroker --help`` does not mention ``--redis`` the test FAILS with
"siobroker has no --redis yet" (it is never skipped). Registered as ctest
``integration.python.django_e2e`` (commented out in CMakeLists.txt until the daemon is ready).

    SIO_BIN_DIR=build/bin /usr/bin/python3 -m unittest -v tests/integration/python/test_django_e2e.py
"""

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from siohelpers import (HERE, NODE, ROOT, WAIT, RedisServer, _stop, setup_django,  # noqa: E402
                        siobroker_has_redis, start_siobroker)

SERVER = None
PROJECT_DIR = None


def setUpModule():
    global SERVER, PROJECT_DIR
    SERVER = RedisServer().start()
    try:
        PROJECT_DIR = setup_django(SERVER.url)
    except BaseException:
        SERVER.stop()
        raise


def tearDownModule():
    try:
        import siobroker.django

        siobroker.django.reset_emitter()
    finally:
        SERVER.stop()
        if PROJECT_DIR:
            shutil.rmtree(PROJECT_DIR, ignore_errors=True)


class NodeClient:
    """sio_client.mjs, its JSON lines collected by a reader thread."""

    def __init__(self, url, room, event, timeout_ms=20000):
        self.proc = subprocess.Popen([NODE, os.path.join(HERE, "sio_client.mjs"), url, room, event, str(timeout_ms)],
                                     cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.lines = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stdout:
            try:
                item = json.loads(raw)
            except ValueError:
                item = {"step": "output", "text": raw.decode("utf-8", "replace")}
            with self.cond:
                self.lines.append(item)
                self.cond.notify_all()

    def wait_step(self, step, timeout=WAIT):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for item in self.lines:
                    if item.get("step") == step:
                        return item
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def stop(self):
        _stop(self.proc)
        if self.proc.stdout:
            self.proc.stdout.close()


class DjangoToBrowser(unittest.TestCase):
    def test_view_event_reaches_socketio_client_through_siobroker(self):
        if not siobroker_has_redis():
            self.fail("siobroker has no --redis yet")
        from django.test import Client

        node = start_siobroker(SERVER.url)
        client = None
        try:
            client = NodeClient(node.url, "lobby", "news")
            joined = client.wait_step("joined")
            self.assertIsNotNone(joined, "the client did not join: %r\nsiobroker:\n%s" % (client.lines, node.log()))
            self.assertEqual(joined["ack"], {"ok": True})
            title = "Grüße vom Django €"
            # The node subscribes to Redis asynchronously: publish again until the event arrives
            # (bounded); the client reports the first one and exits.
            deadline = time.monotonic() + WAIT
            event = None
            while event is None and time.monotonic() < deadline:
                response = Client().get("/news/", {"room": "lobby", "title": title})
                self.assertEqual(response.status_code, 200)
                event = client.wait_step("event", timeout=0.5)
            self.assertIsNotNone(event, "no 'news' event within %.0fs: %r\nsiobroker:\n%s"
                                 % (WAIT, client.lines, node.log()))
            self.assertEqual(event["args"], [{"title": title}])
        finally:
            if client is not None:
                client.stop()
            node.stop()


if __name__ == "__main__":
    unittest.main()
