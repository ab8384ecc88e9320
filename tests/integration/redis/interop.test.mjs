// Interop: two C nodes (sio-cluster-node) and one Node peer (socket.io 4.8 + @socket.io/redis-adapter
// 8.3) on one private redis-server. Clients on each server (websocket and polling) in rooms; the
// server API of the cluster (broadcasts, broadcasts with acks, fetchSockets, socketsJoin/Leave,
// disconnectSockets, serverSideEmit, allRooms) is driven from the Node peer onto our nodes' sockets
// and from a C node onto the Node peer's sockets, and every answer is checked.

import assert from 'node:assert/strict';
import { itest } from '../lib/harness.mjs';
import {
  WS,
  POLL,
  startRedis,
  startCNode,
  startNodePeer,
  client,
  sibling,
  join,
  call,
  got,
  tag,
  flushFrom,
  expectExactlyOnce,
  disconnects,
  until,
  names,
  sleep,
  diffPaths,
  expectCleanExit,
} from './cluster.mjs';

const REQUESTS_TIMEOUT = 1500;

/**
 * redis + c1, c2 (C) + n1 (Node); clients a,b on c1, c,d on c2, e,f on n1 (each pair: one
 * websocket, one polling). Rooms: red = a,c,e; blue = b,d; green = a,d,f.
 */
async function cluster(h) {
  const redis = await startRedis(h);
  const [c1, c2, n1] = await Promise.all([
    startCNode(h, redis, { name: 'c1', requestsTimeout: REQUESTS_TIMEOUT }),
    startCNode(h, redis, { name: 'c2', requestsTimeout: REQUESTS_TIMEOUT }),
    startNodePeer(h, redis, { name: 'n1', requestsTimeout: REQUESTS_TIMEOUT }),
  ]);
  const [a, b, c, d, e, f] = await Promise.all([
    client(h, c1, 'a', WS),
    client(h, c1, 'b', POLL),
    client(h, c2, 'c', POLL),
    client(h, c2, 'd', WS),
    client(h, n1, 'e', WS),
    client(h, n1, 'f', POLL),
  ]);
  await Promise.all([join(a, 'red', 'green'), join(b, 'blue'), join(c, 'red'), join(d, 'blue', 'green'), join(e, 'red'), join(f, 'green')]);
  const all = [a, b, c, d, e, f];
  return { redis, c1, c2, n1, a, b, c, d, e, f, all };
}

/** Arguments covering the msgpack forms: every integer width, floats, unicode, 16+ elements. */
function fidelityArgs() {
  // Integral numbers >= 2^64 are left out: notepack 3.0.1 (the Node side) writes them as uint64
  // modulo 2^64 (1e300 goes out as cf 00 00 00 00 00 00 00 00), whatever the receiver.
  // Numbers outside int64 have their own test (BIG_NUMBERS).
  const ints = [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 40, 2 ** 53 - 1, 2 ** 63 - 1024, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31) - 1, -(2 ** 40), -(2 ** 63) + 1024];
  return [
    { ints, floats: [2.5, -0.125, 3.14159, -2.5e-300, 5e-324, 123456.789], bools: [true, false], nul: null, empty: {}, emptyArr: [] },
    ['', 'ü€😀', 'a'.repeat(31), 'b'.repeat(32), 'c'.repeat(300), 'd'.repeat(70000)],
    Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i % 2 ? `v${i}` : i])),
    Buffer.alloc(300000, 7),
    ...Array.from({ length: 17 }, (_, i) => i * 3),
  ];
}

/** Binary values (Buffer, ArrayBuffer, typed arrays) as {bin: hex} for comparisons. */
function norm(v) {
  if (Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return { bin: Buffer.from(v).toString('hex') };
  if (Array.isArray(v)) return v.map(norm);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  return v;
}

/** Numbers JavaScript writes as integer digits outside int64 (JSON.stringify(2 ** 63) is
 * "9223372036854776000"); JSON.parse, and so Node's socket.io, takes them as doubles. Only
 * [-2^63, 2^64): notepack 3.0.1 wraps integral numbers beyond that (1e20, -(2^63) - 4096). */
const BIG_NUMBERS = [2 ** 63, 1.5e19, 2 ** 64 - 2048, -(2 ** 63)];

itest('broadcasts from each kind of server reach exactly the right clients on all three', { timeout: 45000 }, async (h) => {
  const { c1, c2, a, b, c, d, e, f, all } = await cluster(h);
  // Issuers: a (C node c1), e (the Node peer), d (C node c2).
  for (const issuer of [a, e, d]) {
    const who = `from ${issuer.label} on ${issuer.srv.name}`;
    const cases = [
      { what: 'to all', sel: {}, want: ['a', 'b', 'c', 'd', 'e', 'f'] },
      { what: 'to red', sel: { rooms: ['red'] }, want: ['a', 'c', 'e'] },
      { what: 'except red', sel: { except: ['red'] }, want: ['b', 'd', 'f'] },
      { what: 'except the socket id of d', sel: { except: [d.id] }, want: ['a', 'b', 'c', 'e', 'f'] },
      { what: 'to the socket id of c (polling, on c2)', sel: { rooms: [c.id] }, want: ['c'] },
      { what: 'to the socket id of f (polling, on the Node peer)', sel: { rooms: [f.id] }, want: ['f'] },
      { what: 'to red and green (each once)', sel: { rooms: ['red', 'green'] }, want: ['a', 'c', 'd', 'e', 'f'] },
      { what: 'to red except green', sel: { rooms: ['red'], except: ['green'] }, want: ['c', 'e'] },
      { what: 'to green and blue except red', sel: { rooms: ['green', 'blue'], except: ['red'] }, want: ['b', 'd', 'f'] },
    ];
    for (const k of cases) {
      const t = tag('bc');
      await call(issuer, 'emit', { ...k.sel, event: 'bc', args: [t, k.what] });
      await flushFrom(issuer, all);
      expectExactlyOnce(assert, all, 'bc', t, k.want, `${k.what} ${who}`);
    }

    // Binary arguments nested anywhere survive every hop (client -> server -> Redis -> server).
    const t = tag('bin');
    const b1 = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
    const b2 = Buffer.from('hi');
    const b3 = Buffer.from([0, 255, 1, 254]);
    await call(issuer, 'emit', { rooms: ['blue'], event: 'bin', args: [t, b1, { nested: { deep: b2 }, list: [1, b3, 'x'] }] });
    await flushFrom(issuer, all);
    expectExactlyOnce(assert, all, 'bin', t, ['b', 'd'], `binary to blue ${who}`);
    for (const s of [b, d]) {
      const [args] = got(s, 'bin', t);
      assert.deepStrictEqual(Buffer.from(args[1]), b1, `${s.label}: top-level binary ${who}`);
      assert.deepStrictEqual(Buffer.from(args[2].nested.deep), b2, `${s.label}: nested binary ${who}`);
      assert.equal(args[2].list[0], 1);
      assert.deepStrictEqual(Buffer.from(args[2].list[1]), b3, `${s.label}: binary in an array ${who}`);
      assert.equal(args[2].list[2], 'x');
    }

    // Every kind of value, 16+ elements (array16/map16), long strings (str16/str32) and a big
    // binary (bin32) arrive exactly as sent, whichever server encoded them for Redis.
    const tf = tag('fid');
    await call(issuer, 'emit', { event: 'fid', args: [tf, ...fidelityArgs()] }, 8000);
    await flushFrom(issuer, all, 8000);
    expectExactlyOnce(assert, all, 'fid', tf, ['a', 'b', 'c', 'd', 'e', 'f'], `value fidelity ${who}`);
    for (const s of all) {
      const diff = diffPaths(norm(got(s, 'fid', tf)[0].slice(1)), norm(fidelityArgs()));
      assert.deepStrictEqual(diff, [], `${s.label} (on ${s.srv.name}): values ${who} differ:\n  ${diff.join('\n  ')}`);
    }

    // Volatile: never reaches a non-member; websocket members that are idle get it.
    const tv = tag('vol');
    await call(issuer, 'emit', { rooms: ['green'], volatile: true, event: 'vol', args: [tv] });
    await flushFrom(issuer, all);
    const volGot = all.filter((s) => got(s, 'vol', tv).length > 0).map((s) => s.label);
    for (const l of volGot) assert.ok(['a', 'd', 'f'].includes(l), `volatile ${who} reached non-member ${l}`);
    for (const s of all) assert.ok(got(s, 'vol', tv).length <= 1, `volatile ${who} delivered twice to ${s.label}`);
    assert.ok(volGot.includes('a') && volGot.includes('d'), `volatile ${who}: idle websocket members a and d must get it (got ${volGot})`);
  }
  assert.deepStrictEqual(disconnects(all), []);
  await expectCleanExit(assert, c1, c2);
});

itest('fetchSockets, allRooms and socketsJoin/Leave across C nodes and the Node peer', { timeout: 45000 }, async (h) => {
  const { c1, c2, a, b, c, d, e, f, all } = await cluster(h);
  const ids = Object.fromEntries(all.map((s) => [s.label, s.id]));

  // --- fetchSockets issued by the Node peer over our nodes' sockets ---
  let res = await call(e, 'fetch', { rooms: ['red'] });
  assert.ok(Array.isArray(res), `Node fetch red: ${JSON.stringify(res)}`);
  assert.deepStrictEqual(names(res), ['a', 'c', 'e'], 'Node peer fetchSockets(red)');
  for (const s of res) {
    assert.equal(s.id, ids[s.data.name], `id of ${s.data.name}`);
    assert.equal(s.rooms[0], s.id, `rooms of ${s.data.name} start with its id: ${JSON.stringify(s.rooms)}`);
    assert.ok(s.rooms.includes('red'), `rooms of ${s.data.name}: ${JSON.stringify(s.rooms)}`);
    assert.equal(s.handshake.auth.name, s.data.name, `handshake.auth of ${s.data.name}`);
    assert.equal(typeof s.handshake.issued, 'number');
    assert.equal(s.handshake.address, '127.0.0.1');
  }
  const fromA = res.find((s) => s.data.name === 'a');
  assert.deepStrictEqual([...fromA.rooms].sort(), [ids.a, 'green', 'red'].sort(), 'rooms of a as our node reports them');
  res = await call(e, 'fetch', {});
  assert.deepStrictEqual(names(res), ['a', 'b', 'c', 'd', 'e', 'f'], 'Node peer fetchSockets() of everyone');
  res = await call(e, 'fetch', { rooms: ['green'], except: ['red'] });
  assert.deepStrictEqual(names(res), ['d', 'f'], 'Node peer fetchSockets(green except red)');
  res = await call(e, 'fetch', { rooms: [c.id] });
  assert.deepStrictEqual(names(res), ['c'], 'Node peer fetchSockets(socket id of c)');

  // --- fetchSockets issued by a C node over the Node peer's sockets ---
  res = await call(a, 'fetch', { rooms: ['green'] });
  assert.ok(Array.isArray(res), `C fetch green: ${JSON.stringify(res)}`);
  assert.deepStrictEqual(names(res), ['a', 'd', 'f'], 'C node fetchSockets(green)');
  const fromF = res.find((s) => s.data.name === 'f');
  assert.equal(fromF.id, ids.f);
  assert.deepStrictEqual([...fromF.rooms].sort(), [ids.f, 'green'].sort());
  assert.equal(fromF.handshake.auth.name, 'f');
  res = await call(a, 'fetch', {});
  assert.deepStrictEqual(names(res), ['a', 'b', 'c', 'd', 'e', 'f'], 'C node fetchSockets() of everyone');
  res = await call(d, 'fetch', { rooms: ['red'], except: [a.id] });
  assert.deepStrictEqual(names(res), ['c', 'e'], 'C node c2 fetchSockets(red except a)');

  // --- allRooms from both kinds: every room, socket-id rooms included ---
  const wantRooms = ['red', 'blue', 'green', ...Object.values(ids)].sort();
  res = await call(e, 'all-rooms');
  assert.deepStrictEqual([...res].sort(), wantRooms, 'Node peer adapter.allRooms()');
  res = await call(a, 'all-rooms');
  assert.ok(Array.isArray(res), `C all-rooms: ${JSON.stringify(res)}`);
  assert.deepStrictEqual([...res].sort(), wantRooms, 'C node allRooms');

  // --- socketsJoin / socketsLeave issued by the Node peer on our nodes' sockets ---
  await call(e, 'sockets-join', { rooms: ['blue'], targets: ['nj'] });
  await until(async () => names(await call(a, 'fetch', { rooms: ['nj'] })).join() === 'b,d', 3000, 'b and d to be in nj (Node socketsJoin)');
  let t = tag('nj');
  await call(e, 'emit', { rooms: ['nj'], event: 'bc', args: [t] });
  await flushFrom(e, all);
  expectExactlyOnce(assert, all, 'bc', t, ['b', 'd'], 'broadcast to nj after the Node peer socketsJoin');
  await call(e, 'sockets-leave', { rooms: [d.id], targets: ['nj'] });
  await until(async () => names(await call(a, 'fetch', { rooms: ['nj'] })).join() === 'b', 3000, 'only b left in nj (Node socketsLeave of d)');

  // --- socketsJoin / socketsLeave issued by a C node on the Node peer's (and its own) sockets ---
  await call(a, 'sockets-join', { rooms: ['green'], except: ['red'], targets: ['cj', 'cj2'] });
  await until(async () => names(await call(e, 'fetch', { rooms: ['cj'] })).join() === 'd,f', 3000, 'd and f to be in cj (C socketsJoin)');
  res = await call(e, 'fetch', { rooms: [f.id] });
  assert.deepStrictEqual([...res[0].rooms].sort(), [ids.f, 'cj', 'cj2', 'green'].sort(), 'rooms of f after the C socketsJoin');
  await call(b, 'sockets-join', { rooms: ['blue'], targets: ['cj'] }); // b local to c1, d on c2
  await until(async () => names(await call(e, 'fetch', { rooms: ['cj'] })).join() === 'b,d,f', 3000, 'b to be in cj too');
  t = tag('cj');
  await call(a, 'emit', { rooms: ['cj'], event: 'bc', args: [t] });
  await flushFrom(a, all);
  expectExactlyOnce(assert, all, 'bc', t, ['b', 'd', 'f'], 'broadcast to cj after the C socketsJoin');
  await call(a, 'sockets-leave', { rooms: ['cj'], targets: ['cj'] });
  await until(async () => names(await call(e, 'fetch', { rooms: ['cj'] })).length === 0, 3000, 'cj to be empty (C socketsLeave)');
  res = await call(e, 'fetch', { rooms: ['cj2'] });
  assert.deepStrictEqual(names(res), ['d', 'f'], 'leaving cj kept cj2');
  assert.deepStrictEqual(disconnects(all), []);
  await expectCleanExit(assert, c1, c2);
});

itest('serverSideEmit with and without ack between C nodes and the Node peer', { timeout: 30000 }, async (h) => {
  const { c1, c2, a, c, e } = await cluster(h);
  const eventsOf = async (s, t) => (await call(s, 'server-events')).filter((x) => x.args[0] === t);

  // From the Node peer, no ack: both C nodes' handlers run, with the arguments intact.
  let t = tag('hello');
  let res = await call(e, 'server-emit', { event: 'hello-srv', args: [t, 1, { x: [2, 'y'] }, null] });
  assert.deepStrictEqual(res, { ok: true });
  for (const s of [a, c]) {
    await until(async () => (await eventsOf(s, t)).length === 1, 3000, `hello-srv from the Node peer on ${s.srv.name}`);
    assert.deepStrictEqual(await eventsOf(s, t), [{ event: 'hello-srv', args: [t, 1, { x: [2, 'y'] }, null], withAck: false }]);
  }
  assert.deepStrictEqual(await eventsOf(e, t), [], 'the Node peer does not hear its own serverSideEmit');

  // From the Node peer, with ack: one reply per C node.
  res = await call(e, 'server-emit', { event: 'ping-srv', args: [tag('p')], ack: true });
  assert.deepStrictEqual(res, { replies: ['pong-from-c', 'pong-from-c'] }, 'Node serverSideEmit ping-srv with ack');
  res = await call(e, 'server-emit', { event: 'echo-srv', args: [{ k: 'v', n: [1, 2.5, true] }], ack: true });
  assert.deepStrictEqual(res, { replies: [{ k: 'v', n: [1, 2.5, true] }, { k: 'v', n: [1, 2.5, true] }] }, 'Node serverSideEmit echo-srv');

  // From a C node, no ack: the other C node and the Node peer run their handlers, not the sender.
  t = tag('hello');
  res = await call(a, 'server-emit', { event: 'hello-srv', args: [t, 'two'] });
  assert.deepStrictEqual(res, { ok: true });
  for (const s of [c, e]) {
    await until(async () => (await eventsOf(s, t)).length === 1, 3000, `hello-srv from c1 on ${s.srv.name}`);
    assert.deepStrictEqual(await eventsOf(s, t), [{ event: 'hello-srv', args: [t, 'two'], withAck: false }]);
  }
  await sleep(200);
  assert.deepStrictEqual(await eventsOf(a, t), [], 'a C node does not hear its own serverSideEmit');

  // From a C node, with ack: one reply from c2 and one from the Node peer.
  let started = Date.now();
  res = await call(a, 'server-emit', { event: 'ping-srv', args: [tag('p')], ack: true, timeout: 3000 });
  assert.ok(Array.isArray(res.replies) && !res.error, `C serverSideEmit ping-srv: ${JSON.stringify(res)}`);
  assert.deepStrictEqual([...res.replies].sort(), ['pong-from-c', 'pong-from-node'], 'C serverSideEmit ping-srv with ack');
  assert.ok(Date.now() - started < REQUESTS_TIMEOUT, 'the answers complete the request before any timeout');
  res = await call(c, 'server-emit', { event: 'echo-srv', args: [[1, { z: 'w' }]], ack: true, timeout: 3000 });
  assert.deepStrictEqual(res, { replies: [[1, { z: 'w' }], [1, { z: 'w' }]] }, 'C serverSideEmit echo-srv');

  // Nobody answers: both kinds report an error (after the requests timeout) with partial replies.
  started = Date.now();
  res = await call(a, 'server-emit', { event: 'silent-srv', args: [1], ack: true, timeout: 1000 }, 6000);
  assert.ok(res.error, `C serverSideEmit with no answer must fail: ${JSON.stringify(res)}`);
  assert.deepStrictEqual(res.replies, []);
  assert.ok(Date.now() - started < 4000, `C serverSideEmit timeout took ${Date.now() - started} ms`);
  res = await call(e, 'server-emit', { event: 'silent-srv', args: [1], ack: true }, 6000);
  assert.match(res.error ?? '', /timeout reached/, `Node serverSideEmit with no answer: ${JSON.stringify(res)}`);
  assert.deepStrictEqual(res.replies, []);
  // The silent events still reached the handlers, with the ack flag.
  assert.equal((await call(c, 'server-events')).filter((x) => x.event === 'silent-srv' && x.withAck).length, 2);
  await expectCleanExit(assert, c1, c2);
});

itest('broadcast with acks: replies from clients on all three servers, expected count, timeout', { timeout: 30000 }, async (h) => {
  const { c1, c2, a, b, c, d, e, f, all } = await cluster(h);
  for (const s of all) {
    s.on('q', (t, cb) => cb(`${s.label}-ack`));
    s.on('q-slow', (t, cb) => {
      if (s.label !== 'f') cb(`${s.label}-ack`); // f never answers
    });
    s.on('qbin', (t, cb) => cb(Buffer.from([s.label.charCodeAt(0), 0, 255])));
  }
  const sorted = (r) => [...r].sort();

  // From a C node, to everyone.
  let started = Date.now();
  let res = await call(a, 'emit-ack', { event: 'q', args: [tag()], timeout: 4000 }, 6000);
  assert.deepStrictEqual(sorted(res.replies), ['a-ack', 'b-ack', 'c-ack', 'd-ack', 'e-ack', 'f-ack'], `C emit-ack to all: ${JSON.stringify(res)}`);
  assert.equal(res.expected, 6, 'C emit-ack expected count');
  assert.equal(res.timedOut, false);
  assert.ok(Date.now() - started < 3000, `C emit-ack took ${Date.now() - started} ms although every client answered`);

  // From a C node, to a room spanning the three servers.
  res = await call(d, 'emit-ack', { rooms: ['red'], event: 'q', args: [tag()], timeout: 4000 }, 6000);
  assert.deepStrictEqual(res, { replies: res.replies, expected: 3, timedOut: false });
  assert.deepStrictEqual(sorted(res.replies), ['a-ack', 'c-ack', 'e-ack'], 'C emit-ack to red');

  // From a C node, to a socket that lives only on the Node peer, and to a room nobody is in.
  started = Date.now();
  res = await call(a, 'emit-ack', { rooms: [f.id], event: 'q', args: [tag()], timeout: 4000 }, 6000);
  assert.deepStrictEqual(res, { replies: ['f-ack'], expected: 1, timedOut: false }, 'C emit-ack to the socket id of f (Node peer)');
  assert.ok(Date.now() - started < 3000, `C emit-ack to f took ${Date.now() - started} ms`);
  started = Date.now();
  res = await call(a, 'emit-ack', { rooms: ['nobody-here'], event: 'q', args: [tag()], timeout: 4000 }, 6000);
  assert.deepStrictEqual(res, { replies: [], expected: 0, timedOut: false }, 'C emit-ack to an empty room');
  assert.ok(Date.now() - started < 3000, `C emit-ack to an empty room took ${Date.now() - started} ms (every node reports 0 at once)`);

  // From the Node peer, acked by clients of our nodes.
  res = await call(e, 'emit-ack', { event: 'q', args: [tag()], timeout: 4000 }, 6000);
  assert.deepStrictEqual(sorted(res.replies), ['a-ack', 'b-ack', 'c-ack', 'd-ack', 'e-ack', 'f-ack'], `Node emit-ack to all: ${JSON.stringify(res)}`);
  assert.equal(res.timedOut, false);
  res = await call(e, 'emit-ack', { rooms: ['green'], except: [a.id], event: 'q', args: [tag()], timeout: 4000 }, 6000);
  assert.deepStrictEqual(sorted(res.replies), ['d-ack', 'f-ack'], 'Node emit-ack to green except a');

  // Binary ack values travel back as binary (BROADCAST_ACK is msgpack).
  res = await call(e, 'emit-ack', { rooms: ['blue'], event: 'qbin', args: [tag()], timeout: 4000 }, 6000);
  assert.deepStrictEqual(res.replies.map((x) => Buffer.from(x).toString('hex')).sort(), ['6200ff', '6400ff'], 'binary acks from b and d via the Node peer');
  res = await call(b, 'emit-ack', { rooms: ['green'], event: 'qbin', args: [tag()], timeout: 4000 }, 6000);
  assert.deepStrictEqual(res.replies.map((x) => Buffer.from(x).toString('hex')).sort(), ['6100ff', '6400ff', '6600ff'], 'binary acks to a C node');

  // One client never answers: the broadcast times out with the partial replies.
  started = Date.now();
  res = await call(c, 'emit-ack', { event: 'q-slow', args: [tag()], timeout: 1000 }, 6000);
  const elapsed = Date.now() - started;
  assert.equal(res.timedOut, true, `C emit-ack with a silent client: ${JSON.stringify(res)}`);
  assert.equal(res.expected, 6);
  assert.deepStrictEqual(sorted(res.replies), ['a-ack', 'b-ack', 'c-ack', 'd-ack', 'e-ack']);
  assert.ok(elapsed >= 900 && elapsed < 3000, `C emit-ack timeout after ${elapsed} ms (timeout 1000)`);
  res = await call(e, 'emit-ack', { event: 'q-slow', args: [tag()], timeout: 1000 }, 6000);
  assert.equal(res.timedOut, true, `Node emit-ack with a silent client: ${JSON.stringify(res)}`);
  assert.deepStrictEqual(sorted(res.replies), ['a-ack', 'b-ack', 'c-ack', 'd-ack', 'e-ack']);

  // Nothing was delivered twice: 'q' went to all (twice), to red, to f and to green except a.
  const qCounts = Object.fromEntries(all.map((s) => [s.label, s.rec.count('q')]));
  assert.deepStrictEqual(qCounts, { a: 3, b: 2, c: 3, d: 3, e: 3, f: 4 }, "'q' receipts per client");
  assert.deepStrictEqual(disconnects(all), []);
  await expectCleanExit(assert, c1, c2);
});

itest('disconnectSockets(close false/true) across C nodes and the Node peer', { timeout: 30000 }, async (h) => {
  const redis = await startRedis(h);
  const [c1, c2, n1] = await Promise.all([
    startCNode(h, redis, { name: 'c1' }),
    startCNode(h, redis, { name: 'c2' }),
    startNodePeer(h, redis, { name: 'n1' }),
  ]);
  // x (on c1) and y (on the Node peer) issue; the others are targets, each with a /chat sibling
  // on the same Engine.IO session: close false leaves the sibling connected, close true
  // disconnects it too.
  const [x, y, a, c, e, f, g, k] = await Promise.all([
    client(h, c1, 'x', WS),
    client(h, n1, 'y', WS),
    client(h, c1, 'a', WS),
    client(h, c2, 'c', POLL),
    client(h, n1, 'e', WS),
    client(h, n1, 'f', POLL),
    client(h, c2, 'g', WS),
    client(h, n1, 'k', POLL),
  ]);
  const [a2, c2s, e2, f2] = await Promise.all([sibling(a, '/chat'), sibling(c, '/chat'), sibling(e, '/chat'), sibling(f, '/chat')]);
  await Promise.all([join(g, 'kick'), join(k, 'kick')]);
  const discOf = (s, ms = 3000) => s.rec.next('disconnect', ms).then((args) => args[0]);

  // Node peer -> socket of a C node, close false: "/" goes, the session and /chat stay.
  await call(y, 'disconnect-sockets', { rooms: [a.id], close: false });
  assert.equal(await discOf(a), 'io server disconnect', 'a (C node) after disconnectSockets(false) from the Node peer');
  // Node peer -> socket of the other C node, close true: the whole session closes.
  await call(y, 'disconnect-sockets', { rooms: [c.id], close: true });
  assert.equal(await discOf(c), 'io server disconnect', 'c (C node) after disconnectSockets(true) from the Node peer');
  // close true disconnects every namespace of the session (as Node's client._disconnect()).
  assert.equal(await discOf(c2s), 'io server disconnect', 'c/chat: the whole session of c was disconnected');
  // C node -> sockets of the Node peer.
  await call(x, 'disconnect-sockets', { rooms: [e.id], close: false });
  assert.equal(await discOf(e), 'io server disconnect', 'e (Node peer) after disconnectSockets(false) from a C node');
  await call(x, 'disconnect-sockets', { rooms: [f.id], close: true });
  assert.equal(await discOf(f), 'io server disconnect', 'f (Node peer) after disconnectSockets(true) from a C node');
  assert.equal(await discOf(f2), 'io server disconnect', 'f/chat: the whole session of f was disconnected');
  // C node -> a room with members on the other C node and the Node peer.
  await call(x, 'disconnect-sockets', { rooms: ['kick'] });
  assert.equal(await discOf(g), 'io server disconnect', 'g (C node c2, room kick)');
  assert.equal(await discOf(k), 'io server disconnect', 'k (Node peer, room kick)');

  // close false kept the sessions: the /chat siblings of a and e still work.
  await sleep(300);
  for (const s of [a2, e2]) {
    assert.equal(s.connected, true, `${s.label} still connected`);
    assert.equal(s.rec.count('disconnect'), 0, `${s.label}: ${JSON.stringify(s.rec.all('disconnect'))}`);
    const r = await call(s, 'join', 'still-here');
    assert.equal(r.ok, true);
  }
  // Issuers were never touched; the remaining cluster still answers.
  assert.deepStrictEqual(disconnects([x, y]), []);
  assert.deepStrictEqual(names(await call(y, 'fetch', {})), ['x', 'y'], 'only the issuers remain on "/"');
  assert.deepStrictEqual(names(await call(x, 'fetch', {})), ['x', 'y']);
  await expectCleanExit(assert, c1, c2);
});

itest('C serverSideEmit with ack honours its timeout_ms (sio_server.h), not only the requests timeout', { timeout: 20000 }, async (h) => {
  // sio_nsp_server_side_emit: "With cb, waits up to timeout_ms for one reply per other node".
  // The cluster's requests timeout is 1500 ms; the call asks for 400 ms.
  const { c1, c2, a } = await cluster(h);
  const started = Date.now();
  const res = await call(a, 'server-emit', { event: 'silent-srv', args: [1], ack: true, timeout: 400 }, 6000);
  const elapsed = Date.now() - started;
  assert.ok(res.error, `no node answers silent-srv, so the call must fail: ${JSON.stringify(res)}`);
  // Waiting for the requests timeout would take 1500 ms or more; 400 ms plus a busy machine's
  // delays stays under 1400.
  assert.ok(elapsed < 1400, `serverSideEmit(timeout_ms=400) reported after ${elapsed} ms (requests timeout ${REQUESTS_TIMEOUT} ms)`);
  // A timeout longer than the requests timeout is honoured too: answers that arrive in time count.
  const ok = await call(a, 'server-emit', { event: 'ping-srv', args: [1], ack: true, timeout: 3000 }, 6000);
  assert.deepStrictEqual([...ok.replies].sort(), ['pong-from-c', 'pong-from-node']);
  await expectCleanExit(assert, c1, c2);
});

itest('a Node peer with publishOnSpecificResponseChannel answers C requests on K-response#NSP#UID#', { timeout: 30000 }, async (h) => {
  const redis = await startRedis(h);
  const [c1, c2, n1] = await Promise.all([
    startCNode(h, redis, { name: 'c1', requestsTimeout: REQUESTS_TIMEOUT }),
    startCNode(h, redis, { name: 'c2', requestsTimeout: REQUESTS_TIMEOUT }),
    startNodePeer(h, redis, { name: 'n1', requestsTimeout: REQUESTS_TIMEOUT, specificResponseChannel: true }),
  ]);
  const [a, c, e] = await Promise.all([client(h, c1, 'a', WS), client(h, c2, 'c', POLL), client(h, n1, 'e', POLL)]);
  await Promise.all([join(a, 'red'), join(c, 'red'), join(e, 'red')]);
  for (const s of [a, c, e]) s.on('q', (t, cb) => cb(`${s.label}-ack`));
  const started = Date.now();
  assert.deepStrictEqual(names(await call(a, 'fetch', { rooms: ['red'] })), ['a', 'c', 'e'], 'C fetchSockets');
  assert.deepStrictEqual([...(await call(a, 'all-rooms'))].sort(), ['red', a.id, c.id, e.id].sort(), 'C allRooms');
  const acks = await call(c, 'emit-ack', { rooms: ['red'], event: 'q', args: [1], timeout: 3000 }, 5000);
  assert.deepStrictEqual({ ...acks, replies: [...acks.replies].sort() }, { replies: ['a-ack', 'c-ack', 'e-ack'], expected: 3, timedOut: false }, 'C emit-ack');
  const pong = await call(a, 'server-emit', { event: 'ping-srv', args: [1], ack: true, timeout: 3000 }, 5000);
  assert.deepStrictEqual([...pong.replies].sort(), ['pong-from-c', 'pong-from-node'], 'C serverSideEmit with ack');
  assert.ok(Date.now() - started < REQUESTS_TIMEOUT * 2, `answers came by the per-node response channel, not by timeouts (${Date.now() - started} ms)`);
  // And the Node peer's own requests still get every answer.
  assert.deepStrictEqual(names(await call(e, 'fetch', {})), ['a', 'c', 'e'], 'Node fetchSockets');
  await expectCleanExit(assert, c1, c2);
});

itest('numbers outside int64 (as JavaScript writes them) travel through the cluster both ways', { timeout: 20000 }, async (h) => {
  const { c1, c2, a, e, all } = await cluster(h);
  // From a client of the Node peer: notepack writes them as uint64/int64/float64 and the C
  // nodes hand them to their clients unchanged.
  let t = tag('big');
  await call(e, 'emit', { event: 'big', args: [t, ...BIG_NUMBERS] });
  await flushFrom(e, all);
  for (const s of all) {
    const r = got(s, 'big', t);
    assert.equal(r.length, 1, `${s.label}: big numbers from the Node peer`);
    assert.deepStrictEqual(diffPaths(r[0].slice(1), BIG_NUMBERS), [], `${s.label} (on ${s.srv.name}): big numbers from the Node peer`);
  }
  // From a client of a C node: the C server must accept the JSON number (Node's does) and not
  // close the session with "parse error".
  t = tag('big');
  let res;
  try {
    res = await call(a, 'emit', { event: 'big', args: [t, ...BIG_NUMBERS] }, 2000);
  } catch (err) {
    res = { failed: err.message.split('\n')[0] };
  }
  assert.ok(a.connected && !res.failed, `the C node refused ${JSON.stringify(BIG_NUMBERS)} from its client: ${JSON.stringify(res)}, disconnect ${JSON.stringify(a.rec.all('disconnect'))}`);
  await flushFrom(a, all);
  for (const s of all) {
    const r = got(s, 'big', t);
    assert.equal(r.length, 1, `${s.label}: big numbers from a C node's client`);
    assert.deepStrictEqual(diffPaths(r[0].slice(1), BIG_NUMBERS), [], `${s.label} (on ${s.srv.name}): big numbers from a C node's client`);
  }
  await expectCleanExit(assert, c1, c2);
});
