"""python-socketio (Debian's python3-socketio) against a siobroker node serving /app through
Django: connect with auth, the welcome emitted in connect, acks with binary both ways, a broadcast
from another socket. Prints "ok" and exits 0, or raises.

    /usr/bin/python3 py_client.py http://127.0.0.1:PORT
"""

import sys
import threading

import socketio

url = sys.argv[1]
got = {}
welcome = threading.Event()
said = threading.Event()

a = socketio.Client(reconnection=False)
b = socketio.Client(reconnection=False)


@a.on("welcome", namespace="/app")
def on_welcome(data):
    got["welcome"] = data
    welcome.set()


@b.on("said", namespace="/app")
def on_said(data):
    got["said"] = data
    said.set()


a.connect(url, namespaces=["/app"], transports=["websocket"], auth={"name": "py-a"}, wait_timeout=10)
b.connect(url, namespaces=["/app"], transports=["polling"], auth={"name": "py-b"}, wait_timeout=10)
assert welcome.wait(10), "no welcome"
assert got["welcome"]["sid"] == a.get_sid("/app"), got
blob = bytes(range(256)) * 4
res = a.call("echo", ["text", {"bin": blob}], namespace="/app", timeout=10)
assert res == ["text", {"bin": blob}], res
assert a.call("say", "from python", namespace="/app", timeout=10) == {"status": "ok"}
assert said.wait(10), "no broadcast"
assert got["said"] == {"from": "py-a", "text": "from python"}, got
state = b.call("state", namespace="/app", timeout=10)
assert state["name"] == "py-b", state
a.disconnect()
b.disconnect()
print("ok")
