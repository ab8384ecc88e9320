// @socket.io/redis-emitter 5.x (node-redis 4) against two C nodes: every kind of emit and the
// socketsJoin / socketsLeave / disconnectSockets / serverSideEmit requests reach exactly the
// right clients (non-receipt is checked with a sentinel emitted after the event by the same
// emitter, bounded). Then the siobroker daemon (rooms policy) in a two-node cluster.

import assert from 'node:assert/strict';
import { Emitter } from '@socket.io/redis-emitter';
import { itest } from '../lib/harness.mjs';
import {
  WS,
  POLL,
  startRedis,
  startCNode,
  startDaemon,
  client,
  sibling,
  join,
  call,
  got,
  tag,
  flushWith,
  expectExactlyOnce,
  disconnects,
  redisClient,
  until,
  names,
  sleep,
  ask,
  expectCleanExit,
} from './cluster.mjs';

const KEY = 'emitter-test';

itest('redis-emitter 5.x reaches exactly the right clients of two C nodes', { timeout: 45000 }, async (h) => {
  const redis = await startRedis(h);
  const [c1, c2] = await Promise.all([startCNode(h, redis, { name: 'c1', key: KEY }), startCNode(h, redis, { name: 'c2', key: KEY })]);
  // "/": a, b on c1; c, d on c2. Rooms: red = a, c; blue = b, c, d.
  const [a, b, c, d] = await Promise.all([client(h, c1, 'a', WS), client(h, c1, 'b', POLL), client(h, c2, 'c', POLL), client(h, c2, 'd', WS)]);
  await Promise.all([join(a, 'red'), join(b, 'blue'), join(c, 'red', 'blue'), join(d, 'blue')]);
  // "/chat": siblings of a (c1) and d (c2), and p (c2, polling) in the /chat room "red".
  const [a2, d2, p] = await Promise.all([sibling(a, '/chat'), sibling(d, '/chat'), client(h, c2, 'p', POLL, '/chat')]);
  await join(p, 'red');
  const root = [a, b, c, d];
  const chat = [a2, d2, p];
  const everyone = [...root, ...chat];

  const pub = await redisClient(h, redis);
  const emitter = new Emitter(pub, { key: KEY });
  // Sentinels through the same Redis connection as the events: they arrive after them.
  const flush = (sockets = everyone) =>
    flushWith(async (t) => {
      emitter.emit('sentinel', t);
      emitter.of('/chat').emit('sentinel', t);
    }, sockets);

  const cases = [
    { what: 'emit to all', run: (t) => emitter.emit('ev', t), want: ['a', 'b', 'c', 'd'] },
    { what: 'to(red)', run: (t) => emitter.to('red').emit('ev', t), want: ['a', 'c'] },
    { what: 'to(red).except(blue)', run: (t) => emitter.to('red').except('blue').emit('ev', t), want: ['a'] },
    { what: 'except(red)', run: (t) => emitter.except('red').emit('ev', t), want: ['b', 'd'] },
    { what: 'to(socket id of c)', run: (t) => emitter.to(c.id).emit('ev', t), want: ['c'] },
    { what: 'to(socket id of a).except(red)', run: (t) => emitter.to(a.id).except('red').emit('ev', t), want: [] },
    { what: 'to([red, blue]) (each once)', run: (t) => emitter.to(['red', 'blue']).emit('ev', t), want: ['a', 'b', 'c', 'd'] },
    { what: 'except(socket id of d)', run: (t) => emitter.except(d.id).emit('ev', t), want: ['a', 'b', 'c'] },
    { what: 'to(no such room)', run: (t) => emitter.to('nobody-here').emit('ev', t), want: [] },
    { what: 'compress(false) to all', run: (t) => emitter.compress(false).emit('ev', t), want: ['a', 'b', 'c', 'd'] },
    { what: 'of(/chat).emit', run: (t) => emitter.of('/chat').emit('ev', t), want: ['a/chat', 'd/chat', 'p'] },
    { what: 'of(chat).to(red)', run: (t) => emitter.of('chat').to('red').emit('ev', t), want: ['p'] },
    { what: 'of(/chat).except(socket id of p)', run: (t) => emitter.of('/chat').except(p.id).emit('ev', t), want: ['a/chat', 'd/chat'] },
  ];
  for (const k of cases) {
    const t = tag('em');
    k.run(t);
    await flush();
    expectExactlyOnce(assert, everyone, 'ev', t, k.want, `emitter ${k.what}`);
  }

  // Binary, nested, to a room.
  const t = tag('bin');
  const b1 = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
  const b2 = Buffer.from('hi');
  emitter.to('blue').emit('bin', t, b1, { nested: b2, arr: [b2, 7] });
  await flush();
  expectExactlyOnce(assert, everyone, 'bin', t, ['b', 'c', 'd'], 'emitter binary to blue');
  for (const s of [b, c, d]) {
    const [args] = got(s, 'bin', t);
    assert.deepStrictEqual(Buffer.from(args[1]), b1, `${s.label}: binary argument`);
    assert.deepStrictEqual(Buffer.from(args[2].nested), b2, `${s.label}: nested binary`);
    assert.deepStrictEqual(Buffer.from(args[2].arr[0]), b2, `${s.label}: binary in an array`);
    assert.equal(args[2].arr[1], 7);
  }

  // Volatile: only members, and the idle websocket member gets it.
  const tv = tag('vol');
  emitter.volatile.to('red').emit('vol', tv);
  await flush();
  const volGot = everyone.filter((s) => got(s, 'vol', tv).length).map((s) => s.label);
  for (const l of volGot) assert.ok(['a', 'c'].includes(l), `volatile to red reached ${l}`);
  assert.ok(volGot.includes('a'), `volatile to red: the idle websocket member a must get it (got ${volGot})`);

  // Mixed: of(/chat).to(red).except(...).volatile, as captured (d) in the protocol notes.
  const tm = tag('mixed');
  emitter.of('/chat').to('red').except(a2.id).volatile.emit('ev', tm, 42);
  await flush();
  assert.deepStrictEqual(everyone.filter((s) => got(s, 'ev', tm).length > 1).map((s) => s.label), [], 'mixed: delivered twice');
  for (const s of everyone) if (s !== p) assert.equal(got(s, 'ev', tm).length, 0, `mixed emit reached ${s.label}`);

  // socketsJoin: blue members (on both nodes) join ej.
  emitter.in('blue').socketsJoin('ej');
  await until(async () => names(await call(a, 'fetch', { rooms: ['ej'] })).join() === 'b,c,d', 3000, 'b, c, d in ej after emitter socketsJoin');
  let tj = tag('ej');
  emitter.to('ej').emit('ev', tj);
  await flush();
  expectExactlyOnce(assert, everyone, 'ev', tj, ['b', 'c', 'd'], 'to(ej) after socketsJoin');
  assert.deepStrictEqual(names(await call(d, 'fetch', { rooms: ['ej'] })), ['b', 'c', 'd'], 'fetch(ej) from c2');

  // socketsLeave: red members leave ej (c).
  emitter.in('red').socketsLeave('ej');
  await until(async () => names(await call(a, 'fetch', { rooms: ['ej'] })).join() === 'b,d', 3000, 'b, d in ej after emitter socketsLeave');
  tj = tag('ej');
  emitter.to('ej').emit('ev', tj);
  await flush();
  expectExactlyOnce(assert, everyone, 'ev', tj, ['b', 'd'], 'to(ej) after socketsLeave');
  // Namespaces are separate: a socketsJoin on /chat does not touch "/".
  emitter.of('/chat').socketsJoin('chat-only');
  await until(async () => names(await call(p, 'fetch', { rooms: ['chat-only'] })).length === 3, 3000, '/chat sockets in chat-only');
  assert.deepStrictEqual(names(await call(a, 'fetch', { rooms: ['chat-only'] })), [], '"/" sockets did not join chat-only');

  // serverSideEmit from the emitter: both C nodes' handlers run (uid "emitter" is nobody's).
  const ts = tag('srv');
  emitter.serverSideEmit('hello-srv', ts, { n: 1 });
  for (const s of [a, c]) {
    await until(async () => (await call(s, 'server-events')).some((x) => x.event === 'hello-srv' && x.args[0] === ts), 3000, `hello-srv on ${s.srv.name}`);
    assert.deepStrictEqual((await call(s, 'server-events')).filter((x) => x.args[0] === ts), [{ event: 'hello-srv', args: [ts, { n: 1 }], withAck: false }]);
  }

  // disconnectSockets() (close false): b and d leave "/", d's /chat sibling stays connected.
  assert.deepStrictEqual(disconnects(everyone), []);
  emitter.in('ej').disconnectSockets();
  for (const s of [b, d]) assert.equal((await s.rec.next('disconnect', 3000))[0], 'io server disconnect', `${s.label} after disconnectSockets()`);
  await flush([a, c, ...chat]);
  await sleep(200);
  assert.deepStrictEqual(disconnects([a, c, ...chat]), [], 'only the members of ej were disconnected');
  assert.equal(d2.connected, true, 'close false kept the session of d (its /chat socket)');
  assert.equal((await call(d2, 'join', 'x')).ok, true);

  // disconnectSockets(true): the whole session of a closes (its /chat sibling too).
  emitter.in(a.id).disconnectSockets(true);
  assert.equal((await a.rec.next('disconnect', 3000))[0], 'io server disconnect', 'a after disconnectSockets(true)');
  assert.equal((await a2.rec.next('disconnect', 3000))[0], 'io server disconnect', 'a/chat after disconnectSockets(true)');
  await flush([c, d2, p]);
  assert.deepStrictEqual(disconnects([c, d2, p]), [], 'nobody else was disconnected');
  assert.deepStrictEqual(names(await call(c, 'fetch', {})), ['c'], 'only c is left on "/"');
  assert.ok(c1.running && c2.running, 'both nodes alive');
  await expectCleanExit(assert, c1, c2);
});

itest('siobroker (rooms policy) relays across two nodes through Redis', { timeout: 30000 }, async (h) => {
  const redis = await startRedis(h);
  const [n1, n2] = await Promise.all([startDaemon(h, redis), startDaemon(h, redis)]);
  const [u, v, w] = await Promise.all([client(h, n1, 'u', WS), client(h, n2, 'v', POLL), client(h, n2, 'w', WS)]);
  assert.deepStrictEqual(await call(u, 'join', 'lobby'), { ok: true });
  assert.deepStrictEqual(await call(v, 'join', 'lobby'), { ok: true });
  assert.deepStrictEqual(await call(w, 'join', 'elsewhere'), { ok: true });

  // u (node 1) -> lobby: v (node 2) gets it; u (sender) and w (not in lobby) do not.
  const t1 = tag('chat');
  const ack1 = await call(u, 'chat', { t: t1, text: 'hi from node 1' });
  assert.deepStrictEqual(ack1, { ok: true, delivered: 0 }, 'delivered counts the sockets of this node only');
  const [msg] = await v.rec.next('chat', 3000, (a) => a[0].t === t1);
  assert.deepStrictEqual(msg, { t: t1, text: 'hi from node 1' });

  // v (node 2) -> lobby with binary: u gets it on node 1.
  const t2 = tag('chat');
  await ask(v, 3000, 'chat', { t: t2 }, Buffer.from([1, 2, 3]));
  const args = await u.rec.next('chat', 3000, (a) => a[0].t === t2);
  assert.deepStrictEqual(Buffer.from(args[1]), Buffer.from([1, 2, 3]), 'binary relayed across nodes');

  // Sentinels from the same senders: everything they relayed before has arrived.
  const s1 = tag('s');
  await call(u, 'sentinel', s1);
  await v.rec.next('sentinel', 3000, (a) => a[0] === s1);
  const s2 = tag('s');
  await call(v, 'sentinel', s2);
  await u.rec.next('sentinel', 3000, (a) => a[0] === s2);
  await sleep(200);
  assert.equal(u.rec.all('chat').filter((a) => a[0].t === t1).length, 0, 'the sender does not get its own message back');
  assert.equal(v.rec.all('chat').filter((a) => a[0].t === t2).length, 0, 'the sender does not get its own message back');
  assert.equal(w.rec.count('chat') + w.rec.count('sentinel'), 0, `w (not in lobby) got ${JSON.stringify(w.rec.events())}`);
  assert.equal(v.rec.all('chat').filter((a) => a[0].t === t1).length, 1, 'exactly once');
  assert.deepStrictEqual(disconnects([u, v, w]), []);

  // After leaving, v no longer gets lobby messages from node 1.
  assert.deepStrictEqual(await call(v, 'leave', 'lobby'), { ok: true });
  const t3 = tag('chat');
  await call(u, 'chat', { t: t3 });
  const s3 = tag('s');
  await call(w, 'join', 'lobby');
  await call(u, 'sentinel', s3);
  await w.rec.next('sentinel', 3000, (a) => a[0] === s3);
  await sleep(200);
  assert.equal(v.rec.all('chat').filter((a) => a[0].t === t3).length, 0, 'v left lobby');
  await expectCleanExit(assert, n1, n2);
});
