// The reference side of test_emitter_bytes.py: performs a list of calls with the real Node
// emitter (@socket.io/redis-emitter 5.1.0 + node-redis 4) and exits once Redis has taken every
// PUBLISH. Before each case it publishes the case name on the channel "__case__", so that the
// Python test can group what a PSUBSCRIBE '*' subscriber saw. test_emitter_bytes.py performs the
// same cases, in the same order and under the same names, with siobroker.Emitter.
//
//   node tests/integration/python/node_emitter.mjs redis://127.0.0.1:PORT [--list]
//
// Run from anywhere: ESM resolution finds the repository's node_modules from this file's place.

import { createClient } from "redis";
import { Emitter } from "@socket.io/redis-emitter";

const pattern = (n) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7) & 255));
const range = (n) => Array.from({ length: n }, (_, i) => i);
const bigMap = (n) => Object.fromEntries(range(n).map((i) => ["k" + i, i]));
const D = (iso) => new Date(iso);

const INTS = [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 40, 2 ** 53,
  -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 40), -(2 ** 53)];
const FLOATS = [1.5, -0.25, Math.PI, 1.7976931348623157e-300, -1e-300, 5e-324, 2.0, -0, 0.1 + 0.2, 2 ** 63, 2 ** 64 - 2 ** 12, -(2 ** 63),
  NaN, Infinity, -Infinity];

// [name, (emitter) => void]; keep in step with CASES in test_emitter_bytes.py.
export const CASES = [
  ["emit_all", (e) => e.emit("em-all", "hello")],
  ["golden_a_to_room", (e) => e.to("room1").emit("em-room1", 1)],
  ["golden_b_binary", (e) => e.emit("em-bin", Buffer.from([0xde, 0xad, 0xbe, 0xef]), { nested: Buffer.from("hi") })],
  ["golden_d_chat_mixed", (e) => e.of("/chat").to("room1").except("AwN9rioo_iySWGeeAAAF").volatile.emit("em-chat-mixed", 42)],
  ["to_room_except", (e) => e.to("room1").except("room2").emit("em-room1-not2", "x")],
  ["except_only", (e) => e.except("room2").emit("em-not2")],
  ["two_rooms_list", (e) => e.to(["room1", "room2"]).emit("em-two", 2)],
  ["two_rooms_chained", (e) => e.to("room1").in("room2").emit("em-two")],
  ["rooms_accumulate_dedupe", (e) => e.to("a").in(["b", "a"]).to("c").except(["x", "y"]).except("x").emit("acc", 1)],
  ["same_room_twice_is_one", (e) => e.to("solo").to(["solo"]).emit("solo", 1)],
  ["to_socket_id", (e) => e.to("7zITUT4yBBrBi-YTAAAC").emit("private", "hi")],
  ["volatile", (e) => e.volatile.emit("em-volatile", 1)],
  ["compress_false", (e) => e.compress(false).emit("em-nocompress", 1)],
  ["compress_true_volatile", (e) => e.compress(true).volatile.emit("f", 1)],
  ["volatile_compress_false_room", (e) => e.to("r").volatile.compress(false).emit("f", 1)],
  ["compress_reset_keeps_position", (e) => e.compress(true).volatile.compress(false).emit("f")],
  ["of_slash_chat", (e) => e.of("/chat").emit("em-chat", 1)],
  ["of_chat_room", (e) => e.of("chat").to("room1").emit("em-chat-room1", 1)],
  ["of_empty_is_root", (e) => e.of("").emit("root")],
  ["key_prefix", (e, c) => new Emitter(c, { key: "myapp" }).to("r").emit("k", 1)],
  ["key_prefix_request", (e, c) => new Emitter(c, { key: "myapp" }).of("/admin").socketsJoin("r")],
  ["numeric_room", (e) => e.to(5).emit("num-room")],
  ["unicode_room_and_event", (e) => e.to("sală-€").emit("événement", "ü")],
  ["binary_sizes", (e) => e.emit("bins", Buffer.alloc(0), pattern(255), pattern(256), pattern(65535))],
  ["binary_bin32", (e) => e.emit("bin32", pattern(65536))],
  ["binary_uint8array_arraybuffer", (e) => {
    const b = pattern(40);
    e.emit("views", new Uint8Array(b), new Uint8Array(b).buffer.slice(0, 10), [Buffer.from("x")]);
  }],
  ["ints", (e) => e.emit("ints", ...INTS)],
  ["ints_in_map", (e) => e.emit("ints", { a: 2 ** 40, b: -33, c: 300, d: 70000 })],
  ["floats", (e) => e.emit("floats", ...FLOATS)],
  ["nil_bools", (e) => e.emit("nb", null, true, false, { a: null, b: true, c: false })],
  ["strings", (e) => e.emit("strs", "ü€", "", "a".repeat(31), "a".repeat(32), "b".repeat(255),
    "c".repeat(256), "😀", "ü€".repeat(20), "\u0000\n\t\"\\", "\u2028")],
  ["strings_big", (e) => e.emit("strs", "d".repeat(65535), "e".repeat(65536), "€".repeat(30000))],
  ["empty_containers", (e) => e.emit("empty", [], {}, [[]], { a: {} }, { a: [] })],
  ["array16", (e) => e.emit("arr", range(15), range(16), range(20), range(65535))],
  ["array32", (e) => e.emit("arr32", range(65536))],
  ["map16", (e) => e.emit("map", bigMap(15), bigMap(16), bigMap(20))],
  ["map32", (e) => e.emit("map32", bigMap(65536))],
  ["many_args", (e) => e.emit("many", ...range(20))],
  ["nested", (e) => e.emit("nested", [1, [2, [3, { x: [4, Buffer.from([5])] }]]], { "a b": { "c-d": [null] } })],
  ["mapping_keys_like_js", (e) => e.emit("keys", { 1: "a", null: "b", "2.5": "c" }, { true: "d", false: "e" })],
  ["date_whole_seconds", (e) => e.emit("date", D("2024-01-02T03:04:05Z"))],
  ["date_millis", (e) => e.emit("date", D("2024-01-02T03:04:05.678Z"), D("2024-01-02T03:04:05.001Z"))],
  ["date_epoch_and_limits", (e) => e.emit("date", D("1970-01-01T00:00:00Z"), D("2106-02-07T06:28:15Z"),
    D("2106-02-07T06:28:16Z"), D("2514-05-30T01:53:03.999Z"), D("2514-05-30T01:53:04Z"), D("3000-01-01T00:00:00Z"))],
  ["date_before_1970", (e) => e.emit("date", D("1969-12-31T23:59:59.999Z"), D("1900-01-01T00:00:00Z"),
    D("0001-01-01T00:00:00Z"), D("9999-12-31T23:59:59.999Z"))],
  ["date_nested_offset", (e) => e.to("r").emit("date", { at: D("2024-06-01T10:00:00.5Z"), list: [D("2024-06-01T08:00:00Z")] })],
  ["sockets_join", (e) => e.socketsJoin("room5")],
  ["sockets_join_list_no_dedupe", (e) => e.socketsJoin(["a", "b", "a"])],
  ["sockets_join_selected", (e) => e.in(["r1", "r2"]).except("r3").socketsJoin("x")],
  ["sockets_join_unicode", (e) => e.to("sală-€").socketsJoin(["ü€", "😀"])],
  ["sockets_leave", (e) => e.in("room1").socketsLeave("room5")],
  ["sockets_leave_all", (e) => e.socketsLeave(["room5", "room6"])],
  ["disconnect_sockets", (e) => e.disconnectSockets()],
  ["disconnect_sockets_close", (e) => e.in("room-none").disconnectSockets(true)],
  ["disconnect_sockets_chat_except", (e) => e.of("/chat").except("y").disconnectSockets(false)],
  ["server_side_emit", (e) => e.serverSideEmit("hello-srv", { a: 1 }, "x")],
  ["server_side_emit_no_args", (e) => e.serverSideEmit("ping")],
  ["server_side_emit_chat", (e) => e.of("chat").serverSideEmit("hello-chat", [1, 2])],
  ["server_side_emit_values", (e) => e.serverSideEmit("ü€", "\u0001\n\t\"\\/\u007f", "\u2028\u2029", 1.5, 2.0, -0,
    1e21, 1e-7, 1e-6, 123456789.125, 2 ** 60, -(2 ** 60), NaN, Infinity, null, true, false, [], {},
    Buffer.from([1, 2, 255]), D("2024-01-02T03:04:05Z"), D("2024-01-02T03:04:05.678Z"), { k: { z: [1, "b"] } })],
];

async function main() {
  const url = process.argv[2];
  if (process.argv.includes("--list")) {
    console.log(CASES.map(([name]) => name).join("\n"));
    return;
  }
  if (!url) throw new Error("usage: node_emitter.mjs redis://HOST:PORT [--list]");
  const client = createClient({ url });
  client.on("error", (err) => console.error("redis error:", err));
  await client.connect();
  const emitter = new Emitter(client);
  for (const [name, fn] of CASES) {
    client.publish("__case__", name);
    fn(emitter, client);
  }
  await client.ping(); // every PUBLISH before it has been answered
  await client.quit();
  console.log(`node emitter: ${CASES.length} cases published`);
}

const timer = setTimeout(() => {
  console.error("node_emitter.mjs: timed out");
  process.exit(2);
}, 30000);
main().then(
  () => clearTimeout(timer),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
