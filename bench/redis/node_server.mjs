// node_server: the Node twin of `siobroker --namespace /:rooms --redis URL`, for the cross-node
// benchmark (bench/redis/run.sh). A socket.io 4.8 server with @socket.io/redis-adapter 8.x
// (node-redis 4 clients) on 127.0.0.1:PORT whose namespace "/" follows siobroker's rooms policy:
// - "join" / "leave" with a room name, acked {ok:true} or {ok:false,error};
// - any other event is relayed with io.to(rooms).except(socket.id).emit(...) to the rooms the
//   sender joined, and acked {ok:true,delivered:N} (N = sockets reached on this node).
//
// Usage: node node_server.mjs --port P --redis redis://127.0.0.1:R
// stderr: "listening on 127.0.0.1:P", then "cluster ready" once Redis has confirmed the adapter's
// subscriptions. SIGTERM / SIGINT: closes everything and exits 0.

import http from 'node:http';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';

const RESERVED = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);
const MAX_ROOM_NAME = 128;
const MAX_ROOMS = 64;

function parseArgs(argv) {
  const o = { port: NaN, redis: undefined };
  for (let i = 2; i < argv.length; i++) {
    const v = argv[++i];
    if (argv[i - 1] === '--port') o.port = Number(v);
    else if (argv[i - 1] === '--redis') o.redis = v;
    else {
      console.error(`node_server: unknown argument ${argv[i - 1]}`);
      process.exit(2);
    }
  }
  if (!o.redis || !Number.isInteger(o.port)) {
    console.error('node_server: --port N and --redis URL are required');
    process.exit(2);
  }
  return o;
}

const opts = parseArgs(process.argv);
const log = (msg) => process.stderr.write(`node_server: ${msg}\n`);

const pubClient = createClient({ url: opts.redis });
const subClient = pubClient.duplicate();
pubClient.on('error', (e) => log(`redis pub error: ${e.message}`));
subClient.on('error', (e) => log(`redis sub error: ${e.message}`));
await Promise.all([pubClient.connect(), subClient.connect()]);

const httpServer = http.createServer((req, res) => {
  res.writeHead(404).end();
});
const io = new Server(httpServer, { adapter: createAdapter(pubClient, subClient), serveClient: false });
const nsp = io.of('/');

function roomArg(socket, room, cb) {
  const fail = (error) => typeof cb === 'function' && cb({ ok: false, error });
  if (typeof room !== 'string' || room === '') return fail('a room name (non-empty string) is required'), null;
  if (Buffer.byteLength(room) > MAX_ROOM_NAME) return fail('room name too long'), null;
  if (room !== socket.id && nsp.sockets.has(room)) return fail('reserved room name'), null;
  return room;
}

nsp.on('connection', (socket) => {
  socket.on('join', (room, cb) => {
    if (roomArg(socket, room, cb) === null) return;
    if (!socket.rooms.has(room) && socket.rooms.size - 1 >= MAX_ROOMS) {
      if (typeof cb === 'function') cb({ ok: false, error: 'too many rooms' });
      return;
    }
    socket.join(room);
    if (typeof cb === 'function') cb({ ok: true });
  });
  socket.on('leave', (room, cb) => {
    if (roomArg(socket, room, cb) === null) return;
    if (!socket.rooms.has(room) || room === socket.id) {
      if (typeof cb === 'function') cb({ ok: false, error: 'not a member of that room' });
      return;
    }
    socket.leave(room);
    if (typeof cb === 'function') cb({ ok: true });
  });
  socket.onAny((event, ...args) => {
    if (event === 'join' || event === 'leave') return;
    const cb = typeof args[args.length - 1] === 'function' ? args.pop() : null;
    if (RESERVED.has(event)) {
      if (cb) cb({ ok: false, error: 'reserved event name' });
      return;
    }
    const rooms = [...socket.rooms].filter((r) => r !== socket.id);
    let delivered = 0;
    if (rooms.length) {
      // Local sockets reached (each once), as siobroker's ack reports.
      const seen = new Set();
      for (const r of rooms) for (const id of nsp.adapter.rooms.get(r) ?? []) if (id !== socket.id) seen.add(id);
      delivered = seen.size;
      io.to(rooms).except(socket.id).emit(event, ...args);
    }
    if (cb) cb({ ok: true, delivered });
  });
});

httpServer.on('error', (e) => {
  log(`cannot listen: ${e.message}`);
  process.exit(2);
});
httpServer.listen(opts.port, '127.0.0.1', async () => {
  log(`listening on 127.0.0.1:${httpServer.address().port}`);
  // The adapter's (P)SUBSCRIBEs were sent, unawaited, when the namespace was created; Redis answers
  // one connection's commands in order, so once a later SUBSCRIBE is confirmed, theirs are too.
  const probe = `node-server-probe-${process.pid}`;
  await subClient.subscribe(probe, () => {});
  await subClient.unsubscribe(probe);
  log('cluster ready');
});

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(0), 2000).unref();
  io.close();
  await Promise.allSettled([pubClient.disconnect(), subClient.disconnect()]);
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
