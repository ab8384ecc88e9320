// server: the Node reference for bench/compare.sh — socket.io 4.8 on 127.0.0.1:PORT serving
// namespace "/" (and --namespace NSP, repeatable) with siobroker's rooms policy:
// - "join" / "leave" with a room name, acked {ok:true} or {ok:false,error};
// - any other event is relayed with nsp.to(rooms).except(socket.id).emit(...) to the rooms the
//   sender joined, and acked {ok:true,delivered:N} (N = sockets reached on this node).
// With --redis URL it uses @socket.io/redis-adapter (the cluster scenario).
//
// Usage: node server.mjs --port P [--redis redis://127.0.0.1:R] [--namespace /chat]
// stderr: "listening on 127.0.0.1:P" (then "cluster ready" with --redis). SIGTERM: exits 0.

import http from 'node:http';
import { Server } from 'socket.io';

const RESERVED = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);
const MAX_ROOM_NAME = 128;
const MAX_ROOMS = 64;

const opts = { port: NaN, redis: undefined, namespaces: ['/'] };
for (let i = 2; i < process.argv.length; i += 2) {
  const [k, v] = [process.argv[i], process.argv[i + 1]];
  if (k === '--port') opts.port = Number(v);
  else if (k === '--redis') opts.redis = v;
  else if (k === '--namespace') opts.namespaces.push(v.split(':')[0]);
  else {
    console.error(`server.mjs: unknown argument ${k}`);
    process.exit(2);
  }
}
if (!Number.isInteger(opts.port)) {
  console.error('server.mjs: --port N is required');
  process.exit(2);
}
const log = (msg) => process.stderr.write(`node server: ${msg}\n`);

let adapter, redisClients = [];
if (opts.redis) {
  const { createAdapter } = await import('@socket.io/redis-adapter');
  const { createClient } = await import('redis');
  const pub = createClient({ url: opts.redis });
  const sub = pub.duplicate();
  pub.on('error', (e) => log(`redis error: ${e.message}`));
  sub.on('error', (e) => log(`redis error: ${e.message}`));
  await Promise.all([pub.connect(), sub.connect()]);
  adapter = createAdapter(pub, sub);
  redisClients = [pub, sub];
}

const httpServer = http.createServer((req, res) => {
  if (req.url === '/healthz') res.writeHead(200).end('ok');
  else res.writeHead(404).end();
});
const io = new Server(httpServer, { serveClient: false, ...(adapter ? { adapter } : {}) });

function rooms(nsp) {
  const roomArg = (socket, room, cb) => {
    const fail = (error) => typeof cb === 'function' && cb({ ok: false, error });
    if (typeof room !== 'string' || room === '') return fail('a room name (non-empty string) is required'), null;
    if (Buffer.byteLength(room) > MAX_ROOM_NAME) return fail('room name too long'), null;
    if (room !== socket.id && nsp.sockets.has(room)) return fail('reserved room name'), null;
    return room;
  };
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
      const targets = [...socket.rooms].filter((r) => r !== socket.id);
      let delivered = 0;
      if (targets.length) {
        const seen = new Set();
        for (const r of targets) for (const id of nsp.adapter.rooms.get(r) ?? []) if (id !== socket.id) seen.add(id);
        delivered = seen.size;
        nsp.to(targets).except(socket.id).emit(event, ...args);
      }
      if (cb) cb({ ok: true, delivered });
    });
  });
}
for (const name of new Set(opts.namespaces)) rooms(io.of(name));

httpServer.on('error', (e) => {
  log(`cannot listen: ${e.message}`);
  process.exit(2);
});
httpServer.listen(opts.port, '127.0.0.1', async () => {
  log(`listening on 127.0.0.1:${httpServer.address().port}`);
  if (redisClients.length) {
    const probe = `node-server-probe-${process.pid}`;
    await redisClients[1].subscribe(probe, () => {});
    await redisClients[1].unsubscribe(probe);
    log('cluster ready');
  }
});

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(0), 2000).unref();
  io.close();
  await Promise.allSettled(redisClients.map((c) => c.disconnect()));
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
