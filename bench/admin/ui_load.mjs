// ui_load: what an admin UI receives. Connects socket.io-client to URL's /admin namespace as the
// admin UI does (WebSocket, auth from --user/--password), and for --seconds counts the Engine.IO
// bytes received each second and per event type; prints one JSON document.
//
// usage: node bench/admin/ui_load.mjs --url http://127.0.0.1:8080 [--user U --password P]
//                                     [--seconds 30]
// A benchmark tool, not a test (bench/README.md, "The admin UI at 10k sockets").

import { io } from 'socket.io-client';

const o = { url: 'http://127.0.0.1:8080', user: undefined, password: undefined, seconds: 30 };
for (let i = 2; i < process.argv.length; i += 2) {
  const [k, v] = [process.argv[i], process.argv[i + 1]];
  if (k === '--url') o.url = v;
  else if (k === '--user') o.user = v;
  else if (k === '--password') o.password = v;
  else if (k === '--seconds') o.seconds = Number(v);
  else {
    console.error(`ui_load: unknown argument ${k}`);
    process.exit(2);
  }
}

const auth = o.user ? { username: o.user, password: o.password } : {};
const socket = io(`${o.url}/admin`, { transports: ['websocket'], auth, reconnection: false });
const start = Date.now();
const perSecond = new Array(Math.ceil(o.seconds)).fill(0);
const byType = {};
let total = 0;
let allSockets = null;
let sockets = 0; // what a UI's store would hold: connected minus disconnected (+ all_sockets)

socket.io.on('open', () => {
  socket.io.engine.on('packet', (p) => {
    if (p.type !== 'message' || typeof p.data !== 'string') return;
    const len = Buffer.byteLength(p.data);
    const sec = Math.floor((Date.now() - start) / 1000);
    if (sec < perSecond.length) perSecond[sec] += len;
    total += len;
    const m = /^2\/admin,\["([^"]+)"/.exec(p.data);
    const type = m ? m[1] : 'other';
    byType[type] = byType[type] || { count: 0, bytes: 0 };
    byType[type].count++;
    byType[type].bytes += len;
  });
});
socket.on('all_sockets', (list) => {
  allSockets = { count: list.length, at_ms: Date.now() - start };
  sockets += list.length;
});
socket.on('socket_connected', () => sockets++);
socket.on('socket_disconnected', () => sockets--);
socket.on('connect_error', (e) => {
  console.error(`ui_load: connect_error ${e.message}`);
  process.exit(1);
});

setTimeout(() => {
  if (byType.all_sockets) allSockets = { ...allSockets, bytes: byType.all_sockets.bytes };
  console.log(
    JSON.stringify(
      {
        url: o.url,
        seconds: o.seconds,
        bytes_total: total,
        bytes_per_s_avg: Math.round(total / o.seconds),
        bytes_per_s_max: Math.max(...perSecond),
        per_second: perSecond,
        all_sockets: allSockets,
        sockets_held: sockets,
        by_type: byType,
      },
      null,
      1,
    ),
  );
  process.exit(0);
}, o.seconds * 1000);
