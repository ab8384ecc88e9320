// Resilience: redis-server is SIGKILLed mid-test. Both C nodes must stay up and keep serving
// their local traffic, cross-node operations must fail fast (no hang), no client is
// disconnected, and once redis-server is back on the same port both nodes report "cluster ready"
// again by themselves and cross-node delivery resumes.

import assert from 'node:assert/strict';
import { itest, httpRequest, freePort } from '../lib/harness.mjs';
import {
  WS,
  POLL,
  startRedis,
  startCNode,
  kill9,
  client,
  join,
  call,
  tag,
  disconnects,
  countMatches,
  waitOutput,
  until,
  names,
  sleep,
  redisClient,
  expectCleanExit,
} from './cluster.mjs';

const READY = 'cluster ready';
const NOT_READY = 'cluster not ready';

itest('redis-server killed and restarted: nodes survive, fail fast, then resume by themselves', { timeout: 50000 }, async (h) => {
  const redis = await startRedis(h);
  const [c1, c2] = await Promise.all([
    startCNode(h, redis, { name: 'c1', requestsTimeout: 3000 }),
    startCNode(h, redis, { name: 'c2', requestsTimeout: 3000 }),
  ]);
  const [a, b, c] = await Promise.all([client(h, c1, 'a', WS), client(h, c1, 'b', POLL), client(h, c2, 'c', WS)]);
  await Promise.all([join(a, 'room1'), join(b, 'room1'), join(c, 'room1')]);
  const clients = [a, b, c];
  for (const s of clients) s.on('q', (t, cb) => cb(`${s.label}-ack`));

  // Baseline: cross-node delivery and fetch work.
  let t = tag('before');
  await call(a, 'emit', { rooms: ['room1'], event: 'bc', args: [t] });
  await c.rec.next('bc', 3000, (x) => x[0] === t, 'baseline broadcast from c1 to c on c2');
  assert.deepStrictEqual(names(await call(a, 'fetch', {})), ['a', 'b', 'c']);

  // --- Redis dies ---
  const readyBefore = [c1, c2].map((n) => countMatches(n.stderr, READY));
  await kill9(redis);
  await Promise.all([c1, c2].map((n) => waitOutput(n, NOT_READY, { ms: 5000 })));

  // Both nodes are alive and answer HTTP.
  for (const n of [c1, c2]) {
    assert.ok(n.running, `${n.name} must survive the loss of Redis`);
    const r = await httpRequest(n.port, { path: '/healthz' }, 2000);
    assert.equal(r.status, 200, `${n.name} /healthz`);
  }

  // Local traffic still flows: a broadcast to room1 from a reaches b on the same node.
  t = tag('local');
  const res = await call(a, 'emit', { rooms: ['room1'], event: 'bc', args: [t] });
  assert.deepStrictEqual(res, { count: 2 }, 'the broadcast is queued for the two local members');
  await b.rec.next('bc', 3000, (x) => x[0] === t, 'local broadcast from a to b on c1 while Redis is down');
  await a.rec.next('bc', 3000, (x) => x[0] === t, 'local broadcast to a itself');
  // ... and on the other node too.
  t = tag('local2');
  await call(c, 'emit', { rooms: ['room1'], event: 'bc', args: [t] });
  await c.rec.next('bc', 3000, (x) => x[0] === t, 'local broadcast on c2 while Redis is down');

  // Cross-node operations fail fast instead of hanging until the requests timeout (3 s): the
  // bound leaves a busy machine a second either side.
  let started = Date.now();
  const fetched = await call(a, 'fetch', {}, 5000);
  let elapsed = Date.now() - started;
  assert.ok(fetched && typeof fetched.error === 'string', `fetch while Redis is down must report an error: ${JSON.stringify(fetched)}`);
  assert.ok(elapsed < 2000, `fetch failed after ${elapsed} ms (must fail fast, < 2000 ms)`);

  started = Date.now();
  const rooms = await call(c, 'all-rooms', undefined, 5000);
  elapsed = Date.now() - started;
  assert.ok(rooms && typeof rooms.error === 'string', `allRooms while Redis is down must report an error: ${JSON.stringify(rooms)}`);
  assert.ok(elapsed < 2000, `allRooms failed after ${elapsed} ms`);

  started = Date.now();
  const srv = await call(a, 'server-emit', { event: 'ping-srv', args: [1], ack: true, timeout: 3000 }, 5000);
  elapsed = Date.now() - started;
  assert.ok(typeof srv.error === 'string', `serverSideEmit with ack while Redis is down must report an error: ${JSON.stringify(srv)}`);
  assert.ok(elapsed < 2000, `serverSideEmit with ack failed after ${elapsed} ms`);

  // A broadcast with acks completes with the local replies, without waiting for its timeout.
  started = Date.now();
  const acks = await call(a, 'emit-ack', { rooms: ['room1'], event: 'q', args: [1], timeout: 3000 }, 5000);
  elapsed = Date.now() - started;
  assert.deepStrictEqual([...acks.replies].sort(), ['a-ack', 'b-ack'], `emit-ack while Redis is down: ${JSON.stringify(acks)}`);
  assert.ok(elapsed < 2000, `emit-ack while Redis is down took ${elapsed} ms`);

  // Join/leave keep working locally.
  assert.deepStrictEqual((await call(b, 'sockets-join', { rooms: ['room1'], targets: ['during-outage'] })).ok, true);
  assert.deepStrictEqual(names(await call(b, 'fetch', { rooms: ['during-outage'], local: true })), ['a', 'b']);

  assert.deepStrictEqual(disconnects(clients), [], 'no client is disconnected by the outage');

  // --- Redis comes back on the same port ---
  await sleep(300);
  const redis2 = await startRedis(h, { port: redis.port });
  await Promise.all(
    [c1, c2].map((n, i) => waitOutput(n, READY, { ms: 10000, count: readyBefore[i] + 1 })),
  );

  // Cross-node delivery resumes by itself.
  t = tag('after');
  await call(a, 'emit', { rooms: ['room1'], event: 'bc', args: [t] });
  await c.rec.next('bc', 3000, (x) => x[0] === t, 'broadcast from c1 to c on c2 after Redis came back');
  t = tag('after2');
  await call(c, 'emit', { event: 'bc', args: [t] });
  await Promise.all([a, b].map((s) => s.rec.next('bc', 3000, (x) => x[0] === t, `broadcast from c2 to ${s.label} after Redis came back`)));
  const fetchedAgain = await until(async () => {
    const r = await call(a, 'fetch', {}, 5000);
    return Array.isArray(r) && r.length === 3 ? r : null;
  }, 5000, 'fetch to work across nodes again');
  assert.deepStrictEqual(names(fetchedAgain), ['a', 'b', 'c']);
  const pong = await call(c, 'server-emit', { event: 'ping-srv', args: [1], ack: true, timeout: 3000 }, 5000);
  assert.deepStrictEqual(pong, { replies: ['pong-from-c'] }, 'serverSideEmit with ack after Redis came back');
  assert.deepStrictEqual(disconnects(clients), [], 'no client was disconnected');
  assert.ok(c1.running && c2.running && redis2.running);
  await expectCleanExit(assert, c1, c2);
});

itest('a node started before redis-server serves local traffic, then joins the cluster when Redis appears', { timeout: 40000 }, async (h) => {
  // Reserve a port for Redis, start the C nodes pointing at it with nothing listening there.
  const redisPort = await freePort();
  const fakeRedis = { url: `redis://127.0.0.1:${redisPort}`, port: redisPort };
  const [c1, c2] = await Promise.all([
    startCNode(h, fakeRedis, { name: 'c1', requestsTimeout: 3000, waitReady: false }),
    startCNode(h, fakeRedis, { name: 'c2', requestsTimeout: 3000, waitReady: false }),
  ]);
  const [a, b, c] = await Promise.all([client(h, c1, 'a', WS), client(h, c1, 'b', POLL), client(h, c2, 'c', POLL)]);
  await Promise.all([join(a, 'room1'), join(b, 'room1'), join(c, 'room1')]);
  assert.equal(countMatches(c1.stderr, READY), 0, 'no "cluster ready" without Redis');
  // Local traffic works; cross-node requests fail fast.
  let t = tag('local');
  await call(a, 'emit', { rooms: ['room1'], event: 'bc', args: [t] });
  await b.rec.next('bc', 3000, (x) => x[0] === t, 'local broadcast without Redis');
  const started = Date.now();
  const fetched = await call(a, 'fetch', {}, 5000);
  assert.ok(typeof fetched.error === 'string' && Date.now() - started < 2000, `fetch without Redis: ${JSON.stringify(fetched)} after ${Date.now() - started} ms`);

  // Redis appears: both nodes get ready by themselves and the cluster works.
  await sleep(500);
  await startRedis(h, { port: redisPort });
  await Promise.all([c1, c2].map((n) => waitOutput(n, READY, { ms: 10000 })));
  t = tag('cross');
  await call(a, 'emit', { rooms: ['room1'], event: 'bc', args: [t] });
  await c.rec.next('bc', 3000, (x) => x[0] === t, 'cross-node broadcast once Redis is up');
  assert.deepStrictEqual(names(await call(c, 'fetch', {}, 5000)), ['a', 'b', 'c']);
  assert.deepStrictEqual(disconnects([a, b, c]), []);
  await expectCleanExit(assert, c1, c2);
});

itest('requests in flight when redis-server dies complete (no hang, no crash)', { timeout: 30000 }, async (h) => {
  const redis = await startRedis(h);
  const [c1, c2] = await Promise.all([
    startCNode(h, redis, { name: 'c1', requestsTimeout: 2000 }),
    startCNode(h, redis, { name: 'c2', requestsTimeout: 2000 }),
  ]);
  const [a, b, c] = await Promise.all([client(h, c1, 'a', WS), client(h, c1, 'b', POLL), client(h, c2, 'c', WS)]);
  await Promise.all([join(a, 'room1'), join(b, 'room1'), join(c, 'room1')]);
  a.on('q', (t, cb) => cb('a-ack'));
  b.on('q', (t, cb) => cb('b-ack'));
  c.on('q', () => {}); // never answers: the broadcast stays open until its timeout
  // A plain subscriber on the request channel counts as one more node that never answers, so
  // fetchSockets / allRooms / serverSideEmit stay pending until the requests timeout.
  const squatter = await redisClient(h, redis);
  await squatter.subscribe('socket.io-request#/#', () => {});

  const started = Date.now();
  const inflight = [
    call(a, 'fetch', {}, 8000),
    call(a, 'all-rooms', undefined, 8000),
    call(c, 'server-emit', { event: 'ping-srv', args: [1], ack: true, timeout: 2000 }, 8000),
    call(a, 'emit-ack', { rooms: ['room1'], event: 'q', args: [1], timeout: 2500 }, 8000),
  ];
  await sleep(300);
  await kill9(redis);
  const [fetched, rooms, srv, acks] = await Promise.all(inflight);
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 4500, `requests in flight completed after ${elapsed} ms`);
  assert.ok(typeof fetched.error === 'string', `fetch in flight: ${JSON.stringify(fetched)}`);
  assert.ok(typeof rooms.error === 'string', `allRooms in flight: ${JSON.stringify(rooms)}`);
  assert.ok(typeof srv.error === 'string', `serverSideEmit in flight: ${JSON.stringify(srv)}`);
  assert.equal(acks.timedOut, true, `emit-ack in flight: ${JSON.stringify(acks)}`);
  assert.deepStrictEqual([...acks.replies].sort(), ['a-ack', 'b-ack'], 'the local acks are kept');
  assert.ok(c1.running && c2.running, 'both nodes alive');
  // Still serving locally.
  const t = tag('after');
  await call(a, 'emit', { rooms: ['room1'], event: 'bc', args: [t] });
  await b.rec.next('bc', 3000, (x) => x[0] === t);
  assert.deepStrictEqual(disconnects([a, b, c]), []);
  // Shut down while Redis is still away (the link is retrying).
  await expectCleanExit(assert, c1, c2);
});
