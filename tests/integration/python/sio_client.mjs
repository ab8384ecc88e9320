// A socket.io-client 4.8 for test_django_e2e.py: connects to a siobroker node, joins a room
// through the rooms policy (emitWithAck("join", room)), prints one JSON line per step on stdout,
// and exits after the first event named EVENT (or after TIMEOUT_MS, with code 2).
//
//   node tests/integration/python/sio_client.mjs URL ROOM EVENT [TIMEOUT_MS]
//
// stdout lines: {"step":"connected","id":...} {"step":"joined","ack":...} {"step":"event","args":[...]}

import { io } from "socket.io-client";

const [url, room, eventName, timeoutArg] = process.argv.slice(2);
if (!url || !room || !eventName) {
  console.error("usage: sio_client.mjs URL ROOM EVENT [TIMEOUT_MS]");
  process.exit(64);
}
const say = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const socket = io(url, { transports: ["websocket"], reconnection: false, timeout: 5000 });

const timer = setTimeout(() => {
  say({ step: "timeout" });
  socket.close();
  process.exit(2);
}, Number(timeoutArg || 20000));

socket.on("connect_error", (err) => say({ step: "connect_error", message: String(err && err.message) }));
socket.on("disconnect", (reason) => say({ step: "disconnect", reason }));
socket.on(eventName, (...args) => {
  say({ step: "event", args: args.map((a) => (Buffer.isBuffer(a) ? { binary: a.toString("hex") } : a)) });
  clearTimeout(timer);
  socket.close();
  process.exit(0);
});
socket.on("connect", async () => {
  say({ step: "connected", id: socket.id });
  try {
    const ack = await socket.timeout(5000).emitWithAck("join", room);
    say({ step: "joined", ack });
  } catch (err) {
    say({ step: "join_error", message: String(err && err.message) });
  }
});
