#!/usr/bin/env node
// capture: records what @socket.io/redis-emitter 5.x and @socket.io/redis-adapter 8.x PUBLISH on a
// live Redis, as vector lines (channel, hex payload) for broadcast_captured.txt and
// request_captured.txt.
//
// Usage (from the repository root, after `npm install`):
//   redis-server --port 6411 --bind 127.0.0.1 --save '' &   # then stop it by its PID
//   REDIS_PORT=6411 node tests/vectors/redis/capture.js
//
// A PSUBSCRIBE '*' client (buffer mode) sees every PUBLISH; the emitter and a socket.io server with
// the adapter (no clients connected) each send a fixed list of operations. Writes
// broadcast_captured.txt and request_captured.txt into DIR (default: this directory):
//   REDIS_PORT=6411 node tests/vectors/redis/capture.js [DIR]
'use strict';
const fs = require('fs');
const path = require('path');
const { notepack, hex, str, expected, jsonish } = require('./vecjs');
const root = path.join(__dirname, '../../..', 'node_modules');
const { createClient } = require(path.join(root, 'redis'));
const { Emitter } = require(path.join(root, '@socket.io/redis-emitter'));
const { createAdapter } = require(path.join(root, '@socket.io/redis-adapter'));
const { Server } = require(path.join(root, 'socket.io'));

// The expected decoded broadcast, in the JSON form of broadcast_valid.txt.
function broadcastExpected(buf) {
  const [uid, packet, opts] = notepack.decode(buf);
  const flags = opts.flags || {};
  const list = (x) => '[' + [...new Set(x || [])].map(str).join(',') + ']';
  return `{"uid":${typeof uid === 'string' ? JSON.stringify(uid) : 'null'},` +
    `"nsp":${JSON.stringify(packet.nsp === undefined ? '/' : packet.nsp)},` +
    `"data":${expected(packet.data)},"rooms":${list(opts.rooms)},"except":${list(opts.except)},` +
    `"volatile":${!!flags.volatile},"compress":${'compress' in flags ? !!flags.compress : null}}`;
}

// OUT of broadcast_valid.txt: the key order the sender used, and what rd_broadcast_encode gives
// in that order when it differs from the input.
function broadcastOut(buf) {
  const [uid, packet, opts] = notepack.decode(buf);
  const emitter = Object.keys(opts).join(',') === 'rooms,flags,except';
  const flags = {};
  if (opts.flags && opts.flags.volatile) flags.volatile = true;
  if (opts.flags && 'compress' in opts.flags) flags.compress = !!opts.flags.compress;
  const rooms = [...new Set(opts.rooms || [])], except = [...new Set(opts.except || [])];
  const o = emitter ? { rooms, flags, except } : { rooms, except, flags };
  const p = { type: 2, data: jsonish(packet.data), nsp: packet.nsp === undefined ? '/' : packet.nsp };
  const again = hex(notepack.encode([typeof uid === 'string' ? uid : null, p, o]));
  const order = emitter ? 'emitter' : 'adapter';
  return again === hex(buf) ? order : order + ':' + again;
}

const url = `redis://127.0.0.1:${process.env.REDIS_PORT || 6379}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const sniff = createClient({ url });
  await sniff.connect();
  const got = [];
  await sniff.pSubscribe('*', (msg, channel) => got.push([channel.toString(), msg]), true);

  const epub = createClient({ url });
  await epub.connect();
  const e = new Emitter(epub);
  const labels = [];
  const step = async (f) => {
    labels.push(f.toString().replace(/^\(\) => /, ''));
    f();
    await sleep(30);
  };
  // emitter (E-series)
  await step(() => e.emit('em-all', 'hello'));
  await step(() => e.to('room1').emit('em-room1', 1));
  await step(() => e.to('room1').except('room2').emit('em-room1-not2', 'x'));
  await step(() => e.except('room2').emit('em-not2'));
  await step(() => e.to(['room1', 'room2']).emit('em-two', true));
  await step(() => e.emit('em-bin', Buffer.from('deadbeef', 'hex'), { nested: Buffer.from('hi') }));
  await step(() => e.volatile.emit('em-volatile'));
  await step(() => e.compress(false).emit('em-nocompress'));
  await step(() => e.volatile.compress(true).emit('em-both', null));
  await step(() => e.of('/chat').to('room1').except('AwN9rioo_iySWGeeAAAF').volatile.emit('em-chat-mixed', 42));
  await step(() => e.of('chat').emit('em-chat'));
  await step(() => e.emit('em-e9', 1, -1, 128, 300, 70000, 2 ** 40, -33, 1.5, null, true, false, 'ü€', '', [], {},
    new Date('2024-01-02T03:04:05.000Z'), new Date('2024-01-02T03:04:05.678Z')));
  await step(() => e.emit('em-many', ...Array.from({ length: 20 }, (_, i) => i)));
  await step(() => e.emit('em-bigmap', Object.fromEntries(Array.from({ length: 17 }, (_, i) => ['key' + i, 'v' + i]))));
  await step(() => e.to('room with space#and-hash').emit('em-odd-room'));
  await step(() => e.socketsJoin('room5'));
  await step(() => e.in('room1').socketsLeave('room5'));
  await step(() => e.in('room-none').disconnectSockets());
  await step(() => e.serverSideEmit('hello-srv', { a: 1 }, 'x'));

  // adapter (A-series): a server with no clients still publishes
  const apub = createClient({ url });
  const asub = apub.duplicate();
  await Promise.all([apub.connect(), asub.connect()]);
  const io = new Server({ adapter: createAdapter(apub, asub) });
  await sleep(100);
  await step(() => io.emit('ad-all', 'hello'));
  await step(() => io.to('room1').emit('ad-room1', 1));
  await step(() => io.except('room2').emit('ad-not2'));
  await step(() => io.to('room1').to('room2').except('room3').emit('ad-two'));
  await step(() => io.volatile.compress(false).emit('ad-flags'));
  await step(() => io.emit('ad-bin', Buffer.from([1, 2, 3])));
  await step(() => io.of('/chat').to('room1').emit('ad-chat', { x: [1.25] }));
  await step(() => io.timeout(2000).emit('ad-ack', 42, () => {}));
  await step(() => io.serverSideEmit('hello-srv', 1, 'two'));
  await step(() => io.socketsJoin('room3'));
  await step(() => io.in('room1').socketsLeave('room3'));
  await step(() => io.in('room9').disconnectSockets(true));
  await sleep(200);

  if (got.length !== labels.length) throw new Error(`${got.length} messages for ${labels.length} steps`);
  const bcast = [], req = [];
  got.forEach(([ch, msg], i) => {
    const label = labels[i].replace(/\s+/g, ' ');
    const chan = ch.replace(/ /g, '\\s');
    if (ch.includes('-request#')) {
      const input = msg[0] === 0x7b ? 'json:' + msg.toString().replace(/ /g, '\\s') : 'hex:' + hex(msg);
      const tree = msg[0] === 0x7b ? JSON.parse(msg.toString()) : notepack.decode(msg);
      req.push(`req ${input} ${expected(tree)} = # ${label}`);
    } else {
      bcast.push(`${chan} ${hex(msg)} ${broadcastExpected(msg)} ${broadcastOut(msg)} # ${label}`);
    }
  });
  const head = (name, what) => `# ${name}: ${what} captured from a live Redis by capture.js (do not edit).
#
# Captured with @socket.io/redis-emitter 5.1.0 (uid "emitter") and @socket.io/redis-adapter 8.3.0
# (a socket.io 4.8 server without clients); the comment is the call that published the line.
# Format: see ${name.startsWith('broadcast') ? 'broadcast_valid.txt' : 'request_valid.txt'}.
`;
  const dir = process.argv[2] || __dirname;
  fs.writeFileSync(path.join(dir, 'broadcast_captured.txt'),
    head('broadcast_captured.txt', 'broadcasts') + '\n' + bcast.join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'request_captured.txt'),
    head('request_captured.txt', 'requests') + '\n' + req.join('\n') + '\n');
  await Promise.all([sniff.quit(), epub.quit(), apub.quit(), asub.quit()]);
  process.exit(0); // the server has no engine to close (it never listened)
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
