// Hostile Redis traffic: broken messages PUBLISHed raw (node-redis, Buffers) on a C node's
// broadcast, request and response channels. The node must stay up, keep its clients (none is
// disconnected, none receives anything from a broken message), log a "dropped" line for each
// malformed message, and still deliver valid local and cross-node broadcasts afterwards.

import assert from 'node:assert/strict';
import notepack from 'notepack.io';
import { itest } from '../lib/harness.mjs';
import {
  WS,
  POLL,
  startRedis,
  startCNode,
  client,
  join,
  call,
  tag,
  flushWith,
  disconnects,
  redisClient,
  countMatches,
  sleep,
  got,
  expectCleanExit,
} from './cluster.mjs';

const KEY = 'socket.io';
const BCAST = `${KEY}#/#`;
const REQUEST = `${KEY}-request#/#`;
const RESPONSE = `${KEY}-response#/#`;

const enc = (v) => Buffer.from(notepack.encode(v));
const opts = { rooms: [], except: [], flags: {} };
const packet = (data, extra = {}) => ({ type: 2, data, nsp: '/', ...extra });
const hex = (s) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Valid broadcast in the emitter's format. */
const valid = (ev, ...args) => enc(['emitter', packet([ev, ...args]), opts]);

/** The malformed messages: [name, channel, payload]. Each must be dropped with a log line. */
function malformed() {
  const good = valid('hostile-truncated', 1, 'two', { three: 3 });
  const deep = Buffer.concat([Buffer.from([0x93, 0xa1, 0x78]), Buffer.alloc(200000, 0x91), Buffer.from([0xc0])]);
  return [
    ['truncated msgpack broadcast', BCAST, good.subarray(0, Math.floor(good.length / 2))],
    ['truncated by one byte', BCAST, good.subarray(0, good.length - 1)],
    ['empty message', BCAST, Buffer.alloc(0)],
    ['huge array header (dd ff ff ff ff) with no data', BCAST, hex('dd ff ff ff ff')],
    ['huge map header inside the array', BCAST, Buffer.concat([hex('93 a7'), Buffer.from('emitter'), hex('df ff ff ff ff')])],
    ['huge str32 header', BCAST, Buffer.concat([hex('93 db ff ff ff ff')])],
    ['huge bin32 header', BCAST, Buffer.concat([hex('93 a7'), Buffer.from('emitter'), hex('c6 ff ff ff f0 00')])],
    ['200000 nested arrays', BCAST, deep],
    ['2-element array [uid, packet]', BCAST, enc(['emitter', packet(['hostile-two'])])],
    ['top level is a map', BCAST, enc({ uid: 'emitter', packet: packet(['hostile-map']), opts })],
    ['top level is an integer', BCAST, hex('01')],
    ['packet is a string', BCAST, enc(['emitter', 'not-a-packet', opts])],
    ['packet.data is a string', BCAST, enc(['emitter', packet('hostile-data'), opts])],
    ['packet.data is empty', BCAST, enc(['emitter', packet([]), opts])],
    ['packet.type is a string', BCAST, enc(['emitter', packet(['hostile-type-str'], { type: '2' }), opts])],
    ['packet.type 5 (BINARY_EVENT)', BCAST, enc(['emitter', packet(['hostile-type5', Buffer.from([1])], { type: 5 }), opts])],
    ['packet.type 0 (CONNECT)', BCAST, enc(['emitter', packet(['hostile-type0'], { type: 0 }), opts])],
    ['event name as bin', BCAST, enc(['emitter', packet([Buffer.from('hostile-bin-name'), 1]), opts])],
    ['event name is an integer', BCAST, enc(['emitter', packet([42, 1]), opts])],
    ['nsp as bin', BCAST, enc(['emitter', packet(['hostile-bin-nsp'], { nsp: Buffer.from('/') }), opts])],
    ['nsp is an integer', BCAST, enc(['emitter', packet(['hostile-int-nsp'], { nsp: 1 }), opts])],
    ['opts.rooms is an integer', BCAST, enc(['emitter', packet(['hostile-rooms']), { rooms: 5, except: [], flags: {} }])],
    ['opts.rooms holds a bin', BCAST, enc(['emitter', packet(['hostile-rooms-bin']), { rooms: [Buffer.from('r')], except: [] }])],
    ['opts.except is a map', BCAST, enc(['emitter', packet(['hostile-except']), { rooms: [], except: { a: 1 } }])],
    ['opts is a string', BCAST, enc(['emitter', packet(['hostile-opts']), 'opts'])],
    ['truncated message on a room channel of an existing room', `${KEY}#/#room1#`, valid('hostile-room', 1).subarray(0, 20)],
    ['JSON garbage on the request channel', REQUEST, Buffer.from('{"type": 5, "requestId": ')],
    ['JSON that is not an object on the request channel', REQUEST, Buffer.from('{]')],
    ['text that is neither JSON nor msgpack on the request channel', REQUEST, Buffer.from('hello world')],
    ['request type 99', REQUEST, Buffer.from('{"uid":"zzzzzz","requestId":"r99xxx","type":99}')],
    ['request type -1', REQUEST, Buffer.from('{"uid":"zzzzzz","requestId":"rm1xxx","type":-1}')],
    ['request type is a string', REQUEST, Buffer.from('{"uid":"zzzzzz","requestId":"rtsxxx","type":"5"}')],
    ['REMOTE_FETCH with opts.rooms an integer', REQUEST, Buffer.from('{"uid":"zzzzzz","requestId":"rfxxxx","type":5,"opts":{"rooms":5,"except":[]}}')],
    ['REMOTE_JOIN with rooms a string', REQUEST, Buffer.from('{"uid":"zzzzzz","type":2,"opts":{"rooms":[],"except":[]},"rooms":"hostile-join"}')],
    ['REMOTE_DISCONNECT with close a string', REQUEST, Buffer.from('{"uid":"zzzzzz","type":4,"opts":{"rooms":[],"except":[]},"close":"yes"}')],
    ['SERVER_SIDE_EMIT with data a string', REQUEST, Buffer.from('{"uid":"zzzzzz","type":6,"data":"hostile-sse"}')],
    ['BROADCAST request with packet type 5 (msgpack)', REQUEST, enc({ uid: 'zzzzzz', requestId: 'rb5xxx', type: 7, packet: packet(['hostile-req5'], { type: 5 }), opts })],
    ['BROADCAST request without requestId (msgpack)', REQUEST, enc({ uid: 'zzzzzz', type: 7, packet: packet(['hostile-req-norid']), opts })],
    ['truncated msgpack request', REQUEST, enc({ uid: 'zzzzzz', requestId: 'rtrunc', type: 7, packet: packet(['hostile-req-trunc']), opts }).subarray(0, 30)],
    ['JSON garbage on the response channel', RESPONSE, Buffer.from('{"requestId":')],
    ['response with a non-string requestId', RESPONSE, Buffer.from('{"requestId":5,"sockets":[]}')],
    ['msgpack response that is an array', RESPONSE, enc(['x', 1])],
  ];
}

/** Well-formed messages that must be ignored quietly (Node ignores them too). */
function ignored() {
  return [
    ['response with an unknown requestId', RESPONSE, Buffer.from('{"requestId":"nope00","sockets":[]}')],
    ['BROADCAST_ACK (msgpack) with an unknown requestId', RESPONSE, enc({ type: 9, requestId: 'nope01', packet: 'x' })],
    ['BROADCAST_CLIENT_COUNT with an unknown requestId', RESPONSE, Buffer.from('{"type":8,"requestId":"nope02","clientCount":3}')],
    ['broadcast for another namespace', BCAST, enc(['emitter', packet(['hostile-other-nsp'], { nsp: '/other' }), opts])],
    ['broadcast on the channel of a room nobody has', `${KEY}#/#no-such-room#`, Buffer.from('garbage that is never decoded')],
  ];
}

itest('broken messages on a C node\'s channels are dropped and logged; the node and its clients carry on', { timeout: 50000 }, async (h) => {
  const redis = await startRedis(h);
  const [c1, c2] = await Promise.all([startCNode(h, redis, { name: 'c1' }), startCNode(h, redis, { name: 'c2' })]);
  const [a, b, c] = await Promise.all([client(h, c1, 'a', WS), client(h, c1, 'b', POLL), client(h, c2, 'c', WS)]);
  await Promise.all([join(a, 'room1'), join(b, 'room1'), join(c, 'room1')]);
  const clients = [a, b, c];
  const pub = await redisClient(h, redis);
  // Sentinels as valid raw broadcasts on the same connection as the hostile messages.
  const flush = () => flushWith((t) => pub.publish(BCAST, valid('sentinel', t)), clients);

  const failures = [];
  for (const [name, channel, payload] of malformed()) {
    const before = countMatches(c1.stderr, 'dropped');
    const receivers = await pub.publish(Buffer.from(channel), payload);
    await flush();
    // The log line is written when the message is handled, before the sentinel's delivery.
    const deadline = Date.now() + 1000;
    while (countMatches(c1.stderr, 'dropped') <= before && Date.now() < deadline) await sleep(20);
    const lines = c1.stderr.split('\n').filter((l) => l.includes('dropped'));
    if (!c1.running || !c2.running) {
      failures.push(`${name} (${channel}, ${payload.length} bytes): a node died: c1 ${JSON.stringify(c1.exitStatus)} c2 ${JSON.stringify(c2.exitStatus)}`);
      break;
    }
    if (receivers < 2) failures.push(`${name}: PUBLISH reached ${receivers} subscribers (test setup)`);
    if (lines.length <= before) failures.push(`${name} (${channel}, hex ${payload.subarray(0, 24).toString('hex')}${payload.length > 24 ? '...' : ''}): no "dropped" log line on c1`);
  }
  for (const [name, channel, payload] of ignored()) {
    await pub.publish(Buffer.from(channel), payload);
    await flush();
    if (!c1.running || !c2.running) failures.push(`${name}: a node died`);
  }

  // Nobody received anything but sentinels (nothing from a broken message leaked through).
  for (const s of clients) {
    const other = s.rec.events().filter((e) => e !== 'connect' && e !== 'sentinel');
    if (other.length) failures.push(`${s.label} received ${JSON.stringify(other)} from broken messages`);
  }
  const dis = disconnects(clients);
  if (dis.length) failures.push(`clients disconnected: ${dis.join('; ')}`);
  assert.deepStrictEqual(failures, [], `hostile messages:\n  ${failures.join('\n  ')}\n--- c1 dropped lines ---\n${c1.stderr.split('\n').filter((l) => /dropped|error|warn/i.test(l)).join('\n')}`);

  // The node still works: local exchange on c1, cross-node both ways, a valid raw broadcast.
  assert.ok(c1.running && c2.running, 'both nodes alive');
  let t = tag('local');
  await call(a, 'emit', { rooms: ['room1'], except: [a.id], event: 'bc', args: [t] });
  await b.rec.next('bc', 3000, (x) => x[0] === t, 'b gets a broadcast from a (same node) after the hostile traffic');
  t = tag('cross');
  await call(c, 'emit', { rooms: ['room1'], event: 'bc', args: [t] });
  await Promise.all([a, b].map((s) => s.rec.next('bc', 3000, (x) => x[0] === t, `${s.label} gets a broadcast from c2`)));
  t = tag('cross2');
  await call(b, 'emit', { event: 'bc', args: [t] });
  await c.rec.next('bc', 3000, (x) => x[0] === t, 'c gets a broadcast from c1');
  t = tag('raw');
  await pub.publish(BCAST, valid('bc', t, Buffer.from([9, 8, 7])));
  await flush();
  for (const s of clients) {
    const r = got(s, 'bc', t);
    assert.equal(r.length, 1, `${s.label}: valid raw broadcast after the hostile traffic`);
    assert.deepStrictEqual(Buffer.from(r[0][1]), Buffer.from([9, 8, 7]));
  }
  // Requests still answered across nodes.
  const fetched = await call(c, 'fetch', { rooms: ['room1'] });
  assert.deepStrictEqual(fetched.map((s) => s.data.name).sort(), ['a', 'b', 'c'], 'fetchSockets across nodes after the hostile traffic');
  assert.deepStrictEqual(disconnects(clients), []);
  await expectCleanExit(assert, c1, c2);
});

const RESERVED = ['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener'];

itest('well-formed broadcasts of reserved event names from Redis never reach clients', { timeout: 40000 }, async (h) => {
  // README: "Reserved event names (connect, connect_error, disconnect, disconnecting, newListener,
  // removeListener) are never emitted." socket.io-client treats an EVENT packet with such a name
  // as a parse error and drops the connection, so a node must not forward one from Redis.
  const redis = await startRedis(h);
  const c1 = await startCNode(h, redis, { name: 'c1' });
  const pub = await redisClient(h, redis);
  const cases = [
    ...RESERVED.map((ev) => [`broadcast of "${ev}"`, BCAST, valid(ev, 'fake')]),
    ['broadcast of "disconnect" on a room channel', `${KEY}#/#room1#`, enc(['emitter', packet(['disconnect', 'fake']), { ...opts, rooms: ['room1'] }])],
    ['BROADCAST request (acks) of "disconnect"', REQUEST, enc({ uid: 'zzzzzz', requestId: 'rresv1', type: 7, packet: packet(['disconnect', 'fake']), opts: { ...opts, flags: { timeout: 1000 } } })],
  ];
  const failures = [];
  for (const [name, channel, payload] of cases) {
    // Fresh clients for each case: a broken one must not hide the next case.
    const [a, b] = await Promise.all([client(h, c1, 'a', WS), client(h, c1, 'b', POLL)]);
    await Promise.all([join(a, 'room1'), join(b, 'room1')]);
    await pub.publish(Buffer.from(channel), payload);
    const t = tag('sentinel');
    await pub.publish(BCAST, valid('sentinel', t));
    // The sentinel, or a disconnect, whichever comes first (bounded).
    await Promise.all(
      [a, b].map((s) =>
        Promise.race([s.rec.next('sentinel', 2000, (x) => x[0] === t), s.rec.next('disconnect', 2000)]).catch(() => {}),
      ),
    );
    await sleep(100);
    for (const s of [a, b]) {
      const evs = s.rec.events().filter((e) => e !== 'connect' || s.rec.count('connect') > 1);
      const bad = evs.filter((e) => e !== 'sentinel');
      if (bad.length || !s.connected) {
        failures.push(`${name}: ${s.label} (${s === a ? 'websocket' : 'polling'}) received ${JSON.stringify(s.rec.log.map((e) => [e.event, ...e.args.map(String)]))}, connected=${s.connected}`);
      }
      s.disconnect();
    }
    if (!c1.running) {
      failures.push(`${name}: c1 died`);
      break;
    }
  }
  assert.deepStrictEqual(failures, [], `reserved event names from Redis reached clients:\n  ${failures.join('\n  ')}`);
  await expectCleanExit(assert, c1);
});
