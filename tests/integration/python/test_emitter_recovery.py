"""siobroker.Emitter(recovery=True): emits logged for connection state recovery (docs/recovery.md).

The emitter runs the nodes' own log script (adapter-redis/rd_recovery.c; checked byte for byte
here): each non-volatile emit becomes a stream entry in KEY:csr-log#NSP whose ``d`` field is the
msgpack of the event data (and ``r``/``e`` of its rooms and except-rooms), and is published as
the classic broadcast with the entry id appended to its data and as a 4th array element (what the
nodes read). A volatile emit, and an emitter without the option, publish as before.

    /usr/bin/python3 -m unittest -v tests/integration/python/test_emitter_recovery.py
"""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import siohelpers  # noqa: E402  (also puts clients/python on sys.path)
from siohelpers import ROOT, Capture, RedisServer  # noqa: E402

import msgpack  # noqa: E402

from siobroker import Emitter  # noqa: E402
from siobroker.emitter import RECOVERY_LOG_SCRIPT, encode_msgpack  # noqa: E402


def c_script():
    """RD_RECOV_LOG_SCRIPT's text, from the C source."""
    src = open(os.path.join(ROOT, "adapter-redis", "rd_recovery.c"), encoding="utf-8").read()
    m = re.search(r"const char RD_RECOV_LOG_SCRIPT\[\] =\s*(.*?);\n", src, re.S)
    assert m, "RD_RECOV_LOG_SCRIPT not found"
    pieces = re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1))
    return "".join(p.encode("utf-8").decode("unicode_escape") for p in pieces)


class EmitterRecovery(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.redis = RedisServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.redis.stop()

    def test_script_is_the_nodes(self):
        self.assertEqual(RECOVERY_LOG_SCRIPT, c_script())

    def test_options_checked(self):
        with self.assertRaises(ValueError):
            Emitter(self.redis.client(), recovery=True, recovery_window_ms=0)
        with self.assertRaises(ValueError):
            Emitter(self.redis.client(), recovery=True, recovery_max_packets=-1)

    def test_logged_emit(self):
        client = self.redis.client()
        e = Emitter(client, key="k1", recovery=True, recovery_window_ms=5000, recovery_max_packets=50)
        cap = Capture(self.redis).start()
        e.to("room1").except_("x").emit("ev", 1, b"\x01\x02", {"a": [None, True]})
        e.of("/chat").emit("all", "z")
        e.to("room1").volatile.emit("vol", 2)
        Emitter(client, key="k1").to("room1").emit("plain", 3)
        msgs = cap.finish()
        self.assertEqual([ch for ch, _ in msgs], [b"k1#/#room1#", b"k1#/chat#", b"k1#/#room1#", b"k1#/#room1#"])

        entries = client.xrange("k1:csr-log#/")
        self.assertEqual(len(entries), 1)
        eid, fields = entries[0]
        self.assertEqual(msgpack.unpackb(fields[b"d"], raw=False), ["ev", 1, b"\x01\x02", {"a": [None, True]}])
        self.assertEqual(msgpack.unpackb(fields[b"r"], raw=False), ["room1"])
        self.assertEqual(msgpack.unpackb(fields[b"e"], raw=False), ["x"])
        self.assertEqual(fields[b"n"], b"")
        self.assertGreater(client.pttl("k1:csr-log#/"), 5000)

        m = msgpack.unpackb(msgs[0][1], raw=False)
        offset = eid.decode()
        self.assertEqual(len(m), 4)
        self.assertEqual(m[0], "emitter")
        self.assertEqual(m[1], {"type": 2, "data": ["ev", 1, b"\x01\x02", {"a": [None, True]}, offset], "nsp": "/"})
        self.assertEqual(m[2], {"rooms": ["room1"], "flags": {}, "except": ["x"]})
        self.assertEqual(m[3], offset)
        # The broadcast is the Node emitter's but for the offset: decoders that read three
        # elements see the classic message with one more argument.
        classic = Emitter(client, key="k1").to("room1").except_("x").encode("ev", 1, b"\x01\x02", {"a": [None, True]})[1]
        self.assertEqual(msgpack.unpackb(classic, raw=False)[2], m[2])

        chat = client.xrange("k1:csr-log#/chat")
        self.assertEqual(len(chat), 1)
        self.assertEqual(chat[0][1][b"r"], b"")
        self.assertEqual(msgpack.unpackb(msgs[1][1], raw=False)[1]["data"], ["all", "z", chat[0][0].decode()])

        for _, raw in msgs[2:]:  # volatile, and without the option: the classic 3 elements
            self.assertEqual(len(msgpack.unpackb(raw, raw=False)), 3)

    def test_size_bound(self):
        client = self.redis.client()
        e = Emitter(client, key="k2", recovery=True, recovery_window_ms=5000, recovery_max_packets=10)
        for i in range(400):
            e.emit("n", i)
        # MAXLEN ~: trimmed by whole radix-tree nodes (100 entries), never far above the bound.
        self.assertLessEqual(client.xlen("k2:csr-log#/"), 10 + 100)
        self.assertEqual(encode_msgpack(["n", 399]), client.xrevrange("k2:csr-log#/", count=1)[0][1][b"d"])


if __name__ == "__main__":
    unittest.main()
