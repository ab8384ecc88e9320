// The app bridge in a cluster: three siobroker nodes on one redis-server behind HAProxy
// round-robin (deploy/haproxy/haproxy.cfg, no stickiness), one Django (gunicorn) for all of them.
// Broadcasts from handlers reach sockets on every node, rooms joined on one node are targeted
// from another, the Django emitter reaches them from a view, and polling clients whose requests
// land on any node keep their order and data.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { httpRequest, itest } from '../lib/harness.mjs';
import { startHaproxy } from '../cluster/lib.mjs';
import { startDaemon, startRedis } from '../redis/cluster.mjs';
import { APP_SECRET, ask, askAll, connect, makeDatabase, next, runPython, startDjango } from './lib.mjs';

describe('app bridge: three nodes, Redis, HAProxy round-robin, one Django', () => {
  itest('rooms and broadcasts across nodes, the emitter from a view, polling through the balancer', { timeout: 120000 }, async (h) => {
    const redis = await startRedis(h);
    const db = makeDatabase(h);
    const django = await startDjango(h, { db, redisUrl: redis.url, workers: 3 });
    const nodes = [];
    for (const id of ['A', 'B', 'C']) {
      nodes.push(
        await startDaemon(h, redis, {
          name: `siobroker-${id}`,
          args: ['--node-id', id, '--namespace', '/app:app', '--namespace', '/:rooms', '--app-url', `${django.url}/socket.io-app/`],
          env: { SIO_APP_SECRET: APP_SECRET },
        }),
      );
    }
    const lb = await startHaproxy(h, nodes);
    const [A, B, C] = nodes;
    const a = await connect(h, A.url, { auth: { name: 'a' } });
    const b = await connect(h, B.url, { auth: { name: 'b' }, transports: ['polling'] });
    const c = await connect(h, C.url, { auth: { name: 'c' } });
    // Through the balancer: polling requests land on any node (forwarded to the owner).
    const p = await connect(h, lb.url, { auth: { name: 'p' }, transports: ['polling'] });
    const w = await connect(h, lb.url, { auth: { name: 'w' }, transports: ['polling', 'websocket'] });

    // A handler's broadcast (through the Redis adapter) reaches the lobby on every node.
    const heard = [b, c, p, w].map((s) => next(s, 'said'));
    assert.deepEqual(await ask(a, 'say', 'to all'), { status: 'ok' });
    for (const got of await Promise.all(heard)) assert.deepEqual(got[0], { from: 'a', text: 'to all' });

    // A room joined on node B is targeted from node C; the sender is skipped.
    assert.deepEqual(await askAll(b, 'join', 'r-b'), []);
    assert.deepEqual(await askAll(p, 'join', 'r-b'), []);
    const toB = next(b, 'room_msg');
    const toP = next(p, 'room_msg');
    c.emit('to_room', 'r-b', { k: 1 });
    assert.deepEqual((await toB)[0], { k: 1 });
    assert.deepEqual((await toP)[0], { k: 1 });

    // Outside a handler, socket.server.emit goes through the Redis emitter.
    const outside = [a, b, c, p, w].map((s) => next(s, 'outside'));
    const res = await httpRequest(django.port, { path: '/emit/?text=hello&room=lobby' }, 10000);
    assert.equal(res.status, 200);
    for (const got of await Promise.all(outside)) assert.deepEqual(got[0], { text: 'hello' });

    // Order and data through the balancer: 200 events over polling, each POST on any node.
    for (let i = 0; i < 200; i++) p.emit('seq', i);
    const state = await p.timeout(30000).emitWithAck('state');
    assert.equal(state.last, 199);
    assert.equal(state.errors, 0);
    const bin = await askAll(w, 'echo', Buffer.from('bytes'));
    assert.equal(Buffer.from(bin[0]).toString(), 'bytes');

    // python-socketio through the balancer (one client on WebSocket, one on polling).
    const py = await runPython('py_client.py', [lb.url]);
    assert.equal(py.code, 0, py.out);
    assert.match(py.out, /^ok$/m);

    // A disconnect on node A is heard on the other nodes.
    const left = next(c, 'left');
    a.disconnect();
    assert.deepEqual((await left)[0], { name: 'a', reason: 'client namespace disconnect' });
  });
});
