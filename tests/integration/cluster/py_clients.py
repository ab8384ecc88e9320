"""python-socketio clients (Debian's python3-socketio) for the balancer test (balancer.test.mjs).

Usage: /usr/bin/python3 py_clients.py URL COUNT PREFIX EXPECTED

Starts COUNT clients named PREFIX0.. over polling against URL (HAProxy), each joins room "all"
(ack checked) and prints {"event": "joined", "name", "sid"} per client. On a line "go" on stdin,
each emits "hello" {name, bin: bytes} with an ack and waits (bounded) for EXPECTED hellos from
the others, then prints {"event": "result", "name", "from": [...], "binary_ok", "ack"}. On "bye"
every client disconnects and the process prints {"event": "bye"} and exits 0. Every wait is
bounded; any failure prints {"event": "error", ...} and exits 1.
"""

import json
import os
import sys
import threading
import time

import socketio

WAIT = 20.0


def say(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def payload(name):
    return bytes((len(name) + i) % 256 for i in range(64))


class Peer:
    def __init__(self, url, name, expected):
        self.name = name
        self.expected = expected
        self.hellos = {}
        self.binary_ok = True
        self.done = threading.Event()
        debug = bool(os.environ.get("SIO_PY_DEBUG"))
        self.sio = socketio.Client(reconnection=False, logger=debug, engineio_logger=debug)
        self.sio.on("hello", self.on_hello)
        self.sio.connect(url, transports=["polling"], auth={"name": name},
                         wait_timeout=WAIT)

    def on_hello(self, data):
        src = data.get("name")
        if data.get("bin") != payload(src):
            self.binary_ok = False
        self.hellos[src] = self.hellos.get(src, 0) + 1
        if len(self.hellos) >= self.expected:
            self.done.set()


def main():
    url, count, prefix, expected = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    peers = []
    try:
        for i in range(count):
            p = Peer(url, "%s%d" % (prefix, i), expected)
            ack = p.sio.call("join", "all", timeout=WAIT)
            if ack != {"ok": True}:
                raise RuntimeError("join ack %r" % (ack,))
            peers.append(p)
            say({"event": "joined", "name": p.name, "sid": p.sio.eio.sid})
        if sys.stdin.readline().strip() != "go":
            raise RuntimeError("expected go")
        acks = {}
        for p in peers:
            acks[p.name] = p.sio.call("hello", {"name": p.name, "bin": payload(p.name)},
                                      timeout=WAIT)
        deadline = time.time() + WAIT
        for p in peers:
            p.done.wait(max(0.1, deadline - time.time()))
            say({"event": "result", "name": p.name, "from": sorted(p.hellos),
                 "dups": sorted(k for k, v in p.hellos.items() if v > 1),
                 "binary_ok": p.binary_ok, "ack": acks[p.name]})
        if sys.stdin.readline().strip() != "bye":
            raise RuntimeError("expected bye")
        for p in peers:
            p.sio.disconnect()
        say({"event": "bye"})
        return 0
    except Exception as e:  # noqa: BLE001 - reported to the test, which fails
        say({"event": "error", "error": repr(e)})
        return 1
    finally:
        for p in peers:
            try:
                p.sio.disconnect()
            except Exception:  # noqa: BLE001
                pass


if __name__ == "__main__":
    sys.exit(main())
