"""siobroker.bridge and siobroker.django's consumer dispatch, in-process (no server): the call
signature (the same vector as the C unit test), the binary codec, and how calls become answers
(refusals, acks with and without an ack parameter, sync and async handlers, socket data changes,
the session user, broadcasts, errors). The view and the real nodes are in tests/integration/app.

    /usr/bin/python3 -m unittest -v tests/integration/python/test_consumer.py
"""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "clients", "python"))

import django  # noqa: E402
from django.conf import settings  # noqa: E402

settings.configure(
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    SIO_APP_SECRET="app-secret-0123456789",
    SIO_CONSUMERS=[],
    SECRET_KEY="tests-only",
    USE_TZ=True,
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
)
django.setup()

from siobroker import bridge  # noqa: E402
from siobroker.django import ConnectionRefused, SocketIOConsumer  # noqa: E402
from siobroker.django.consumer import dispatch  # noqa: E402


class Consumer(SocketIOConsumer):
    namespace = "/t"

    async def connect(self, socket, auth):
        if auth.get("refuse"):
            raise ConnectionRefused("nope", {"why": auth["refuse"]})
        if auth.get("false"):
            return False
        socket.data["n"] = 0
        socket.data["user"] = socket.user.get_username() if socket.user.is_authenticated else None
        await socket.join(["a", "b"])
        await socket.emit("hello", b"\x00\x01")
        return True

    def event_inc(self, socket, by):
        socket.data["n"] += by

    async def event_echo(self, socket, *args, ack=None):
        await socket.emit("before", 1)
        if ack is not None:
            await ack(*args)

    def event_who(self, socket, ack):
        ack(socket.user.username if socket.user.is_authenticated else None, socket.user_id)

    def event_bcast(self, socket, text):
        socket.server.emit("said", text, room="a", skip_sid=socket.id, volatile=True)
        socket.to("b").emit("to_b", text)

    def event_chat_message(self, socket, payload):
        pass

    def event_boom(self, socket):
        raise KeyError("x")

    def disconnect(self, socket, reason):
        socket.emit("ignored")
        socket.server.emit("left", reason)


def call(kind, **kw):
    c = {"type": kind, "nsp": "/t", "sid": "S1"}
    c.update(kw)
    return c


class BridgeTest(unittest.TestCase):
    def test_signature_vector_and_checks(self):
        body = b'{"v":1}'
        sig = bridge.sign("app-secret-0123456789", 1700000000000, body)
        self.assertEqual(sig, "0f69ceb14d6e13055d8deb6200140bfdafff2c1607d5201be636c93b5dee9e54")
        now = 1700000000000
        bridge.verify("app-secret-0123456789", "1700000000000", sig, body, now_ms=now + 29000)
        for ts, s, b, why in [
            (None, sig, body, "missing"),
            ("1700000000000", sig, body + b" ", "mismatch"),
            ("1700000000000", sig.upper(), body, "mismatch"),
            ("17e12", sig, body, "bad timestamp"),
            ("1700000000000", sig, body, "window"),
        ]:
            with self.assertRaisesRegex(bridge.SignatureError, why):
                bridge.verify("app-secret-0123456789", ts, s, b,
                              now_ms=now + (31000 if why == "window" else 0))

    def test_binary_codec(self):
        args, atts = bridge.encode_args(["x", {"b": b"\x00\xff", "l": [bytearray(b"ab")]}, b""])
        self.assertEqual(args, ["x", {"b": {"_placeholder": True, "num": 0},
                                      "l": [{"_placeholder": True, "num": 1}]},
                                {"_placeholder": True, "num": 2}])
        self.assertEqual(atts, ["AP8=", "YWI=", ""])
        self.assertEqual(bridge.decode_args(args, atts), ["x", {"b": b"\x00\xff", "l": [b"ab"]}, b""])
        self.assertEqual(bridge.decode_args(args, None), args)  # no attachments: plain objects
        with self.assertRaises(ValueError):
            bridge.decode_args([{"_placeholder": True, "num": 5}], ["AA=="])


class DispatchTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        from django.core.management import call_command

        call_command("migrate", verbosity=0)

    def connect(self, **kw):
        return dispatch([call("connect", handshake=kw.pop("handshake", {"headers": {}}), auth=kw)])[0]

    def test_connect_accept_actions_and_data(self):
        a = self.connect()
        self.assertTrue(a["accept"])
        self.assertEqual(a["data"]["d"], {"n": 0, "user": None})
        self.assertEqual(a["actions"], [
            {"type": "join", "rooms": ["a", "b"]},
            {"type": "emit", "event": "hello", "args": [{"_placeholder": True, "num": 0}],
             "attachments": ["AAE="]},
        ])

    def test_refusals_and_errors(self):
        self.assertEqual(self.connect(refuse="x"), {"accept": False, "message": "nope",
                                                    "data": {"why": "x"}})
        self.assertEqual(self.connect(false=True), {"accept": False, "message": "connection refused"})
        ans = dispatch([call("event", event="boom", args=[], ack=True, data=None)])[0]
        self.assertIn("KeyError", ans["error"])
        other = dispatch([call("connect", nsp="/none", handshake={}, auth={})])[0]
        self.assertEqual(other, {"accept": False, "message": "Invalid namespace"})

    def test_events_data_acks(self):
        data = self.connect()["data"]
        ans = dispatch([call("event", event="inc", args=[5], ack=False, data=data)])[0]
        self.assertEqual(ans["actions"][-1]["type"], "set_data")
        self.assertEqual(ans["actions"][-1]["data"]["d"]["n"], 5)
        # Without an ack parameter: acked (no args) after the handler; no data change, no set_data.
        ans = dispatch([call("event", event="chat-message", args=[{}], ack=True, data=data)])[0]
        self.assertEqual(ans, {"actions": [{"type": "ack", "args": []}]})
        # Async handler: emit then ack, in that order, binary kept.
        ans = dispatch([call("event", event="echo", args=[{"_placeholder": True, "num": 0}],
                             attachments=["AQI="], ack=True, data=data)])[0]
        self.assertEqual([x["type"] for x in ans["actions"]], ["emit", "ack"])
        self.assertEqual(ans["actions"][1]["attachments"], ["AQI="])
        # No ack asked: the handler gets ack=None.
        ans = dispatch([call("event", event="echo", args=[1], ack=False, data=data)])[0]
        self.assertEqual(ans, {"actions": [{"type": "emit", "event": "before", "args": [1]}]})
        # Unknown event: nothing.
        self.assertEqual(dispatch([call("event", event="zzz", args=[], ack=True, data=data)])[0],
                         {"actions": []})

    def test_broadcasts_and_disconnect(self):
        data = self.connect()["data"]
        ans = dispatch([call("event", event="bcast", args=["hi"], ack=False, data=data)])[0]
        self.assertEqual(ans["actions"], [
            {"type": "broadcast", "event": "said", "args": ["hi"], "nsp": "/t", "rooms": ["a"],
             "except": ["S1"], "volatile": True},
            {"type": "broadcast", "event": "to_b", "args": ["hi"], "nsp": "/t", "rooms": ["b"],
             "except": ["S1"]},
        ])
        ans = dispatch([call("disconnect", reason="transport close", data=data)])[0]
        self.assertEqual(ans, {"actions": [{"type": "broadcast", "event": "left",
                                            "args": ["transport close"], "nsp": "/t"}]})

    def test_session_user(self):
        from importlib import import_module

        from django.contrib.auth import get_user_model, login
        from django.http import HttpRequest

        user = get_user_model().objects.create_user("dora", password="pw")
        request = HttpRequest()
        request.session = import_module(settings.SESSION_ENGINE).SessionStore()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        request.session.save()
        hs = {"headers": {"cookie": "other=1; sessionid=%s" % request.session.session_key}}
        a = self.connect(handshake=hs)
        self.assertEqual(a["data"]["d"]["user"], "dora")
        self.assertEqual(a["data"]["uid"], user.pk)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as q:
            ans = dispatch([call("event", event="who", args=[], ack=True, data=a["data"])])[0]
        self.assertEqual(ans["actions"], [{"type": "ack", "args": ["dora", user.pk]}])
        self.assertEqual(len(q), 0, "no query for the username")
        # A forged cookie: anonymous.
        self.assertEqual(self.connect(handshake={"headers": {"cookie": "sessionid=forged"}})["data"]["uid"], None)


if __name__ == "__main__":
    unittest.main()
