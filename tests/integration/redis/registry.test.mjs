// The node registry in Redis and /readyz: a clustered daemon publishes its node record (TTL
// heartbeat, listed in K:nodes) and a sid -> node entry per Engine.IO session (written at
// handshake, refreshed, deleted at close); /readyz follows Redis; on SIGTERM the node removes its
// records. Without --redis /readyz is simply ready.

import assert from 'node:assert/strict';
import { itest, httpRequest } from '../lib/harness.mjs';
import { startRedis, startDaemon, kill9, redisClient, until, WS, client, expectCleanExit } from './cluster.mjs';

const readyz = async (port) => (await httpRequest(port, { path: '/readyz' })).status;

async function handshake(port) {
  const res = await httpRequest(port, { path: '/socket.io/?EIO=4&transport=polling' });
  assert.equal(res.status, 200);
  return JSON.parse(res.body.slice(1)).sid;
}

itest('node record and sid entries live in Redis while the node and its sessions do', async (h) => {
  const redis = await startRedis(h);
  const rc = await redisClient(h, redis);
  const node = await startDaemon(h, redis, { args: ['--node-id', 'alpha', '--advertise', '10.1.2.3:8080'] });

  // The record is written as soon as the link is ready, with a TTL heartbeat.
  await until(async () => (await rc.hGet('socket.io:node:alpha', 'id')) === 'alpha', 3000, 'node record');
  const rec = await rc.hGetAll('socket.io:node:alpha');
  assert.equal(rec.address, '10.1.2.3:8080');
  assert.match(rec.version, /^\d+\.\d+\.\d+$/);
  assert.ok(Number(rec.started) > 1.6e12 && Number(rec.heartbeat) >= Number(rec.started));
  const ttl = await rc.pTTL('socket.io:node:alpha');
  assert.ok(ttl > 0 && ttl <= 6000, `node TTL ${ttl}`);
  assert.deepEqual(await rc.sMembers('socket.io:nodes'), ['alpha']);

  // A session's sid maps to the node from its handshake on, with a TTL; it goes when it closes.
  const sid = await handshake(node.port);
  assert.equal(await rc.get(`socket.io:sid:${sid}`), 'alpha');
  const sidTtl = await rc.pTTL(`socket.io:sid:${sid}`);
  assert.ok(sidTtl > 0 && sidTtl <= 15000, `sid TTL ${sidTtl}`);
  const res = await httpRequest(node.port, { method: 'POST', path: `/socket.io/?EIO=4&transport=polling&sid=${sid}`, body: '1' });
  assert.equal(res.status, 200);
  await until(async () => (await rc.get(`socket.io:sid:${sid}`)) === null, 2000, 'sid entry deleted at close');

  // Counts follow the node's sessions and sockets (next heartbeat, 2 s period).
  const s = await client(h, node, 'c1', WS);
  await until(async () => (await rc.hGet('socket.io:node:alpha', 'sockets')) === '1', 5000, 'socket count 1');
  assert.equal(await rc.hGet('socket.io:node:alpha', 'sessions'), '1');
  assert.equal(await rc.get(`socket.io:sid:${s.io.engine.id}`), 'alpha');
  s.disconnect();

  // SIGTERM: the node removes its record and its entries.
  await expectCleanExit(assert, node);
  await until(async () => (await rc.exists('socket.io:node:alpha')) === 0, 3000, 'node record removed');
  assert.deepEqual(await rc.sMembers('socket.io:nodes'), []);
});

itest('sid entries come back by themselves after Redis restarts empty', async (h) => {
  const redis = await startRedis(h);
  const node = await startDaemon(h, redis, { args: ['--node-id', 'beta'] });
  const sid = await handshake(node.port);
  const port = redis.port;
  await kill9(redis);
  await until(async () => (await readyz(node.port)) === 503, 3000, '/readyz 503 without Redis');
  const again = await startRedis(h, { port });
  const rc = await redisClient(h, again);
  await until(async () => (await readyz(node.port)) === 200, 10000, '/readyz 200 once Redis is back');
  await until(async () => (await rc.get(`socket.io:sid:${sid}`)) === 'beta', 3000, 'sid entry rewritten');
  assert.equal(await rc.hGet('socket.io:node:beta', 'id'), 'beta');
});

itest('/readyz: ready without --redis; 503 while a clustered node cannot reach Redis', async (h) => {
  const single = await h.daemon();
  assert.equal(await readyz(single.port), 200);
  assert.equal((await httpRequest(single.port, { path: '/healthz' })).status, 200);

  const redis = await startRedis(h);
  const node = await startDaemon(h, redis);
  assert.equal(await readyz(node.port), 200);
  await kill9(redis);
  await until(async () => (await readyz(node.port)) === 503, 3000, '/readyz 503');
  assert.equal((await httpRequest(node.port, { path: '/healthz' })).status, 200, 'still alive');
});
