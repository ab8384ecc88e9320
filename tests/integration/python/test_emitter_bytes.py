"""siobroker.Emitter publishes exactly what Node's @socket.io/redis-emitter 5.1.0 publishes.

A throw-away redis-server is started; node_emitter.mjs performs a list of emitter calls with the
real Node emitter while a PSUBSCRIBE '*' subscriber records every (channel, raw bytes); the same
calls are then made with the Python emitter and recorded again; both sequences must be identical,
case by case. The golden vectors (a) (b) (d) of docs/redis-adapter.md §2.5 are checked too.

    /usr/bin/python3 -m unittest -v tests/integration/python/test_emitter_bytes.py

(Debian's interpreter: python3-redis and python3-msgpack are installed for it.)
"""

import datetime as dt
import os
import subprocess
import sys
import unittest
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import siohelpers  # noqa: E402  (also puts clients/python on sys.path)
from siohelpers import NODE, ROOT, Capture, RedisServer, group_by_case  # noqa: E402

import siobroker  # noqa: E402
from siobroker import RESERVED_EVENTS, Emitter, encode_json, encode_msgpack  # noqa: E402

NODE_SCRIPT = os.path.join(siohelpers.HERE, "node_emitter.mjs")
UTC = dt.timezone.utc


def pattern(n):
    return bytes((i * 7) & 255 for i in range(n))


def big_map(n):
    return {"k%d" % i: i for i in range(n)}


def D(*args, ms=0, us=None):
    return dt.datetime(*args, microsecond=(ms * 1000 if us is None else us), tzinfo=UTC)


INTS = [0, 1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**40, 2**53,
        -1, -32, -33, -128, -129, -32768, -32769, -(2**31), -(2**31) - 1, -(2**40), -(2**53)]
FLOATS = [1.5, -0.25, 3.141592653589793, 1.7976931348623157e-300, -1e-300, 5e-324, 2.0, -0.0, 0.1 + 0.2, float(2**63),
          float(2**64 - 2**12), -float(2**63), float("nan"), float("inf"), float("-inf")]

# (name, function of (emitter, redis client)); the same names, order and calls as CASES in
# node_emitter.mjs.
CASES = [
    ("emit_all", lambda e, c: e.emit("em-all", "hello")),
    ("golden_a_to_room", lambda e, c: e.to("room1").emit("em-room1", 1)),
    ("golden_b_binary", lambda e, c: e.emit("em-bin", b"\xde\xad\xbe\xef", {"nested": b"hi"})),
    ("golden_d_chat_mixed", lambda e, c: e.of("/chat").to("room1").except_("AwN9rioo_iySWGeeAAAF").volatile
     .emit("em-chat-mixed", 42)),
    ("to_room_except", lambda e, c: e.to("room1").except_("room2").emit("em-room1-not2", "x")),
    ("except_only", lambda e, c: e.except_("room2").emit("em-not2")),
    ("two_rooms_list", lambda e, c: e.to(["room1", "room2"]).emit("em-two", 2)),
    ("two_rooms_chained", lambda e, c: e.to("room1").in_("room2").emit("em-two")),
    ("rooms_accumulate_dedupe", lambda e, c: e.to("a").in_(["b", "a"]).to("c").except_(("x", "y")).except_("x")
     .emit("acc", 1)),
    ("same_room_twice_is_one", lambda e, c: e.to("solo").to(["solo"]).emit("solo", 1)),
    ("to_socket_id", lambda e, c: e.to("7zITUT4yBBrBi-YTAAAC").emit("private", "hi")),
    ("volatile", lambda e, c: e.volatile.emit("em-volatile", 1)),
    ("compress_false", lambda e, c: e.compress(False).emit("em-nocompress", 1)),
    ("compress_true_volatile", lambda e, c: e.compress(True).volatile.emit("f", 1)),
    ("volatile_compress_false_room", lambda e, c: e.to("r").volatile.compress(False).emit("f", 1)),
    ("compress_reset_keeps_position", lambda e, c: e.compress(True).volatile.compress(False).emit("f")),
    ("of_slash_chat", lambda e, c: e.of("/chat").emit("em-chat", 1)),
    ("of_chat_room", lambda e, c: e.of("chat").to("room1").emit("em-chat-room1", 1)),
    ("of_empty_is_root", lambda e, c: e.of("").emit("root")),
    ("key_prefix", lambda e, c: Emitter(c, key="myapp").to("r").emit("k", 1)),
    ("key_prefix_request", lambda e, c: Emitter(c, key="myapp").of("/admin").sockets_join("r")),
    ("numeric_room", lambda e, c: e.to(5).emit("num-room")),
    ("unicode_room_and_event", lambda e, c: e.to("sală-€").emit("événement", "ü")),
    ("binary_sizes", lambda e, c: e.emit("bins", b"", pattern(255), pattern(256), pattern(65535))),
    ("binary_bin32", lambda e, c: e.emit("bin32", pattern(65536))),
    ("binary_uint8array_arraybuffer", lambda e, c: e.emit("views", bytearray(pattern(40)),
                                                          memoryview(pattern(40))[:10], (b"x",))),
    ("ints", lambda e, c: e.emit("ints", *INTS)),
    ("ints_in_map", lambda e, c: e.emit("ints", {"a": 2**40, "b": -33, "c": 300, "d": 70000})),
    ("floats", lambda e, c: e.emit("floats", *FLOATS)),
    ("nil_bools", lambda e, c: e.emit("nb", None, True, False, {"a": None, "b": True, "c": False})),
    ("strings", lambda e, c: e.emit("strs", "ü€", "", "a" * 31, "a" * 32, "b" * 255, "c" * 256, "😀",
                                    "ü€" * 20, "\u0000\n\t\"\\", "\u2028")),
    ("strings_big", lambda e, c: e.emit("strs", "d" * 65535, "e" * 65536, "€" * 30000)),
    ("empty_containers", lambda e, c: e.emit("empty", [], {}, [[]], {"a": {}}, {"a": ()})),
    ("array16", lambda e, c: e.emit("arr", list(range(15)), list(range(16)), tuple(range(20)), list(range(65535)))),
    ("array32", lambda e, c: e.emit("arr32", list(range(65536)))),
    ("map16", lambda e, c: e.emit("map", big_map(15), big_map(16), big_map(20))),
    ("map32", lambda e, c: e.emit("map32", big_map(65536))),
    ("many_args", lambda e, c: e.emit("many", *range(20))),
    ("nested", lambda e, c: e.emit("nested", (1, [2, (3, {"x": [4, b"\x05"]})]), {"a b": {"c-d": [None]}})),
    ("mapping_keys_like_js", lambda e, c: e.emit("keys", {1: "a", None: "b", 2.5: "c"}, {True: "d", False: "e"})),
    ("date_whole_seconds", lambda e, c: e.emit("date", D(2024, 1, 2, 3, 4, 5))),
    ("date_millis", lambda e, c: e.emit("date", D(2024, 1, 2, 3, 4, 5, us=678901), D(2024, 1, 2, 3, 4, 5, ms=1))),
    ("date_epoch_and_limits", lambda e, c: e.emit(
        "date", D(1970, 1, 1), D(2106, 2, 7, 6, 28, 15), D(2106, 2, 7, 6, 28, 16), D(2514, 5, 30, 1, 53, 3, ms=999),
        D(2514, 5, 30, 1, 53, 4), D(3000, 1, 1))),
    ("date_before_1970", lambda e, c: e.emit(
        "date", D(1969, 12, 31, 23, 59, 59, ms=999), D(1900, 1, 1), D(1, 1, 1), D(9999, 12, 31, 23, 59, 59, ms=999))),
    ("date_nested_offset", lambda e, c: e.to("r").emit("date", {
        "at": dt.datetime(2024, 6, 1, 12, 0, 0, 500000, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        "list": [dt.datetime(2024, 6, 1, 3, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))]})),
    ("sockets_join", lambda e, c: e.sockets_join("room5")),
    ("sockets_join_list_no_dedupe", lambda e, c: e.sockets_join(["a", "b", "a"])),
    ("sockets_join_selected", lambda e, c: e.in_(["r1", "r2"]).except_("r3").sockets_join("x")),
    ("sockets_join_unicode", lambda e, c: e.to("sală-€").sockets_join(["ü€", "😀"])),
    ("sockets_leave", lambda e, c: e.in_("room1").sockets_leave("room5")),
    ("sockets_leave_all", lambda e, c: e.sockets_leave(("room5", "room6"))),
    ("disconnect_sockets", lambda e, c: e.disconnect_sockets()),
    ("disconnect_sockets_close", lambda e, c: e.in_("room-none").disconnect_sockets(True)),
    ("disconnect_sockets_chat_except", lambda e, c: e.of("/chat").except_("y").disconnect_sockets(False)),
    ("server_side_emit", lambda e, c: e.server_side_emit("hello-srv", {"a": 1}, "x")),
    ("server_side_emit_no_args", lambda e, c: e.server_side_emit("ping")),
    ("server_side_emit_chat", lambda e, c: e.of("chat").server_side_emit("hello-chat", (1, 2))),
    ("server_side_emit_values", lambda e, c: e.server_side_emit(
        "ü€", "\u0001\n\t\"\\/\u007f", "\u2028\u2029", 1.5, 2.0, -0.0, 1e21, 1e-7, 1e-6, 123456789.125, 2**60,
        -(2**60), float("nan"), float("inf"), None, True, False, [], {}, b"\x01\x02\xff", D(2024, 1, 2, 3, 4, 5),
        D(2024, 1, 2, 3, 4, 5, ms=678), {"k": {"z": (1, "b")}})),
]


def hexdump(data):
    h = data.hex(" ")
    return h if len(h) <= 600 else h[:600] + " ... (%d bytes)" % len(data)


class FakeRedis:
    def __init__(self):
        self.published = []

    def publish(self, channel, message):
        self.published.append((channel, message))
        return 0


class NodeVersusPython(unittest.TestCase):
    """Live capture of both emitters on a real redis-server."""

    @classmethod
    def setUpClass(cls):
        cls.server = RedisServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def capture_node(self):
        capture = Capture(self.server).start()
        try:
            proc = subprocess.run([NODE, NODE_SCRIPT, self.server.url], cwd=ROOT, stdin=subprocess.DEVNULL,
                                  capture_output=True, timeout=60)
        except BaseException:
            capture.close()
            raise
        if proc.returncode != 0:
            capture.close()
            self.fail("node_emitter.mjs failed (%d):\n%s%s" % (proc.returncode, proc.stdout.decode(),
                                                                 proc.stderr.decode()))
        return capture.finish()

    def capture_python(self):
        client = self.server.client()
        capture = Capture(self.server).start()
        try:
            emitter = Emitter(client)
            for name, fn in CASES:
                client.publish("__case__", name)
                fn(emitter, client)
        except BaseException:
            capture.close()
            raise
        finally:
            client.close()
        return capture.finish()

    def test_same_channels_and_bytes_as_node(self):
        node = group_by_case(self.capture_node())
        python = group_by_case(self.capture_python())
        self.assertEqual([name for name, _ in node], [name for name, _ in CASES],
                         "node_emitter.mjs and CASES list different cases")
        self.assertEqual([name for name, _ in python], [name for name, _ in CASES])
        for (name, want), (_, got) in zip(node, python):
            with self.subTest(case=name):
                self.assertEqual(len(want), 1, "the Node emitter published %d messages" % len(want))
                self.assertEqual(len(got), len(want), "publish count: node %d, python %d" % (len(want), len(got)))
                for (wc, wd), (gc, gd) in zip(want, got):
                    self.assertEqual(gc, wc, "channel")
                    if gd != wd:
                        self.fail("payload differs on %s:\nnode   %s\npython %s" % (wc.decode(), hexdump(wd), hexdump(gd)))
        self.assertEqual(len(python), len(node))

    def test_some_captures_look_as_documented(self):
        """Spot checks of the Node side itself (so an empty capture cannot pass)."""
        node = dict(group_by_case(self.capture_node()))
        self.assertEqual(node["two_rooms_list"][0][0], b"socket.io#/#")
        self.assertEqual(node["to_socket_id"][0][0], b"socket.io#/#7zITUT4yBBrBi-YTAAAC#")
        self.assertEqual(node["of_chat_room"][0][0], b"socket.io#/chat#room1#")
        self.assertEqual(node["numeric_room"][0][0], b"socket.io#/#5#")
        self.assertEqual(node["sockets_join"][0],
                         (b"socket.io-request#/#", b'{"type":2,"opts":{"rooms":[],"except":[]},"rooms":["room5"]}'))
        self.assertEqual(node["disconnect_sockets"][0][1],
                         b'{"type":4,"opts":{"rooms":[],"except":[]},"close":false}')
        self.assertIn(b"\xd6\xff\x65\x93\x7d\x25", node["date_whole_seconds"][0][1])


# The hex of redis-adapter.md §2.5, as captured from the real emitter.
GOLDEN_A = """
93 a7 65 6d 69 74 74 65 72 83 a4 74 79 70 65 02 a4 64 61 74 61 92 a8 65 6d 2d 72 6f 6f 6d 31 01
a3 6e 73 70 a1 2f 83 a5 72 6f 6f 6d 73 91 a5 72 6f 6f 6d 31 a5 66 6c 61 67 73 80 a6 65 78 63 65
70 74 90"""
GOLDEN_B = """
93 a7 65 6d 69 74 74 65 72 83 a4 74 79 70 65 02 a4 64 61 74 61 93 a6 65 6d 2d 62 69 6e c4 04 de
ad be ef 81 a6 6e 65 73 74 65 64 c4 02 68 69 a3 6e 73 70 a1 2f 83 a5 72 6f 6f 6d 73 90 a5 66 6c
61 67 73 80 a6 65 78 63 65 70 74 90"""
GOLDEN_D = """
93 a7 65 6d 69 74 74 65 72 83 a4 74 79 70 65 02 a4 64 61 74 61 92 ad 65 6d 2d 63 68 61 74 2d 6d
69 78 65 64 2a a3 6e 73 70 a5 2f 63 68 61 74 83 a5 72 6f 6f 6d 73 91 a5 72 6f 6f 6d 31 a5 66 6c
61 67 73 81 a8 76 6f 6c 61 74 69 6c 65 c3 a6 65 78 63 65 70 74 91 b4 41 77 4e 39 72 69 6f 6f 5f
69 79 53 57 47 65 65 41 41 41 46"""


def unhex(text):
    return bytes.fromhex("".join(text.split()))


class GoldenVectors(unittest.TestCase):
    def setUp(self):
        self.redis = FakeRedis()
        self.emitter = Emitter(self.redis)

    def test_a_to_room1(self):
        self.assertIs(self.emitter.to("room1").emit("em-room1", 1), True)
        self.assertEqual(self.redis.published, [("socket.io#/#room1#", unhex(GOLDEN_A))])
        self.assertEqual(len(unhex(GOLDEN_A)), 67)

    def test_b_binary(self):
        self.emitter.emit("em-bin", b"\xde\xad\xbe\xef", {"nested": b"hi"})
        self.assertEqual(self.redis.published, [("socket.io#/#", unhex(GOLDEN_B))])
        self.assertEqual(len(unhex(GOLDEN_B)), 76)

    def test_b_binary_bytearray_memoryview(self):
        self.emitter.emit("em-bin", bytearray(b"\xde\xad\xbe\xef"), {"nested": memoryview(b"hi")})
        self.assertEqual(self.redis.published, [("socket.io#/#", unhex(GOLDEN_B))])

    def test_d_chat_mixed(self):
        self.emitter.of("/chat").to("room1").except_("AwN9rioo_iySWGeeAAAF").volatile.emit("em-chat-mixed", 42)
        self.assertEqual(self.redis.published, [("socket.io#/chat#room1#", unhex(GOLDEN_D))])
        self.assertEqual(len(unhex(GOLDEN_D)), 107)

    def test_d_any_order_of_modifiers(self):
        self.emitter.of("chat").volatile.except_(["AwN9rioo_iySWGeeAAAF"]).in_(["room1"]).emit("em-chat-mixed", 42)
        self.assertEqual(self.redis.published, [("socket.io#/chat#room1#", unhex(GOLDEN_D))])


class Api(unittest.TestCase):
    def setUp(self):
        self.redis = FakeRedis()
        self.emitter = Emitter(self.redis)

    def test_reserved_event_names_raise(self):
        self.assertEqual(RESERVED_EVENTS, {"connect", "connect_error", "disconnect", "disconnecting",
                                           "newListener", "removeListener"})
        for name in sorted(RESERVED_EVENTS):
            for target in (self.emitter, self.emitter.to("r"), self.emitter.of("/chat").volatile):
                with self.subTest(name=name, target=target), self.assertRaises(ValueError) as cm:
                    target.emit(name, 1)
                self.assertIn("reserved event name", str(cm.exception))
        self.assertEqual(self.redis.published, [])

    def test_server_side_emit_refuses_acks(self):
        with self.assertRaises(ValueError):
            self.emitter.server_side_emit("ping", 1, lambda *a: None)
        with self.assertRaises(ValueError):
            self.emitter.emit("ping", lambda *a: None)
        self.assertEqual(self.redis.published, [])

    def test_operators_are_immutable(self):
        base = self.emitter.to("a")
        more = base.to("b").except_("c").volatile.compress(False)
        self.assertEqual(base.rooms, ["a"])
        self.assertEqual(base.except_rooms, [])
        self.assertEqual(base.flags, {})
        self.assertEqual(more.rooms, ["a", "b"])
        self.assertEqual(more.except_rooms, ["c"])
        self.assertEqual(more.flags, {"volatile": True, "compress": False})
        with self.assertRaises(AttributeError):
            base.foo = 1
        with self.assertRaises(AttributeError):
            self.emitter.key = "x"
        base.emit("x")
        self.assertEqual(self.redis.published[0][0], "socket.io#/#a#")

    def test_of_normalises(self):
        self.assertEqual(self.emitter.of("chat").nsp, "/chat")
        self.assertEqual(self.emitter.of("/chat").nsp, "/chat")
        self.assertEqual(self.emitter.of("").nsp, "/")
        self.assertEqual(self.emitter.nsp, "/")
        self.assertEqual(Emitter(self.redis, "k").of("x").key, "k")

    def test_one_publish_per_call(self):
        self.emitter.to(["r1", "r2", "r3"]).emit("x")
        self.emitter.to("r1").to("r1").emit("x")
        self.assertEqual([c for c, _ in self.redis.published], ["socket.io#/#", "socket.io#/#r1#"])

    def test_room_types(self):
        for bad in (None, b"r", {"r": 1}, [b"r"], True, 1.5):
            with self.subTest(room=bad), self.assertRaises(TypeError):
                self.emitter.to(bad)

    def test_unknown_types_raise_unless_default(self):
        with self.assertRaises(TypeError):
            self.emitter.emit("x", Decimal("1.5"))
        with self.assertRaises(TypeError):
            self.emitter.emit("x", {1, 2})
        Emitter(self.redis, default=str).emit("x", Decimal("1.5"))
        self.assertEqual(self.redis.published[-1][1], encode_msgpack(["emitter", {"type": 2, "data": ["x", "1.5"],
                                                                                  "nsp": "/"},
                                                                      {"rooms": [], "flags": {}, "except": []}]))

    def test_numbers_beyond_64_bits_are_float64(self):
        # notepack.io writes an integral JS number >= 2**64 (1e21, 1e300) as uint64 (the number
        # mod 2**64, a wrong value); the Python emitter sends float64, the right value. The only
        # deliberate byte difference from the Node emitter, so not in CASES.
        self.assertEqual(encode_msgpack(1e300), b"\xcb" + bytes.fromhex("7e37e43c8800759c"))
        self.assertEqual(encode_msgpack(1e21), b"\xcb" + bytes.fromhex("444b1ae4d6e2ef50"))
        self.assertEqual(encode_msgpack(10**21), encode_msgpack(1e21))
        self.assertEqual(encode_msgpack(-(10**21)), b"\xcb" + bytes.fromhex("c44b1ae4d6e2ef50"))
        self.assertEqual(encode_msgpack(2**64 - 1), b"\xcf" + b"\xff" * 8)

    def test_datetime_forms(self):
        self.assertEqual(encode_msgpack(D(2024, 1, 2, 3, 4, 5)), bytes.fromhex("d6ff65937d25"))
        self.assertEqual(encode_msgpack(D(2024, 1, 2, 3, 4, 5, ms=678))[:2], b"\xd7\xff")
        self.assertEqual(encode_msgpack(D(1969, 12, 31, 23, 59, 59))[:3], b"\xc7\x0c\xff")
        self.assertEqual(encode_msgpack(D(3000, 1, 1))[:3], b"\xc7\x0c\xff")

    def test_json_like_json_stringify(self):
        self.assertEqual(encode_json({"a": [1, 2.0, 1.5, None, True, "ü€"]}), '{"a":[1,2,1.5,null,true,"ü€"]}')
        self.assertEqual(encode_json([1e21, 1e-7, 1e16, 0.000001, 2**60, float("nan")]),
                         "[1e+21,1e-7,10000000000000000,0.000001,1152921504606847000,null]")
        self.assertEqual(encode_json(["\ud800", b"\x00\x01"]), '["\\ud800",{"type":"Buffer","data":[0,1]}]')
        self.assertEqual(encode_json(D(2024, 1, 2, 3, 4, 5, us=678901)), '"2024-01-02T03:04:05.678Z"')

    def test_package_exports(self):
        self.assertIs(siobroker.Emitter, Emitter)


if __name__ == "__main__":
    unittest.main()
