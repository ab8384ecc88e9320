// Connection state recovery across a cluster (issue 18, docs/recovery.md): three siobroker nodes
// with --recovery-window behind the repository's non-sticky HAProxy, a fourth node P that only
// publishes, a Node socket.io peer with the Redis adapter, the Node emitter and the Python emitter,
// all on one redis-server. Five publishers emit numbered events "n" to their own room the whole
// time: P (a client of P's rooms policy relays them), the Python emitter with recovery on (both
// logged: recoverable), the Node peer, the Node emitter and the Python emitter without recovery
// (not logged: the documented fallback). socket.io-client 4.8 receivers, websocket and polling,
// reach the nodes through their own TCP cutter. Four breaks, in turn:
//   1. the client's TCP connection is cut (half-open: the server does not notice) and it comes
//      back to the same node;
//   2. it is cut and comes back through the balancer to another node;
//   3. rolling deploy: each node in turn is stopped with SIGTERM and started again;
//   4. the node of most receivers is killed with kill -9 (and started again).
// At the end each receiver of a logged publisher has every number once, in order, and all its
// reconnects were recoveries; each receiver of the others reconnected as a new session every time
// (recovered false) and never missed a number without reconnecting. Recovery times are printed.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { describe } from 'node:test';
import { createClient } from 'redis';
import { Emitter } from '@socket.io/redis-emitter';
import { BIN_DIR, itest } from '../lib/harness.mjs';
import { io } from '../lib/sio.mjs';
import { kill9, startDaemon, startNodePeer } from '../redis/cluster.mjs';
import { ROOT, ownerOf, startCluster, startHaproxy } from '../cluster/lib.mjs';
import {
  Cutter,
  completeProblems,
  fallbackProblems,
  receiver,
  reconnectTimes,
  restartDaemon,
  settled,
  sleep,
  startHaproxyNoEmptyRetry,
  summary,
  until,
  waitHaproxyRoutes,
  withTimeout,
} from './lib.mjs';

const PYTHON = process.env.PYTHON || '/usr/bin/python3';
const WINDOW = 30000;
const TICK = 25; // ms between two numbers of each publisher
const NODE_ARGS = ['--recovery-window', String(WINDOW), '--ping-interval', '2000', '--ping-timeout', '3000'];
const LOGGED = ['sb', 'py'];
const FALLBACK = ['np', 'ne', 'pp'];

/** Starts py_publisher.py; resolves once it is ready. */
async function pythonPublisher(h, redisUrl) {
  const proc = spawn(PYTHON, [path.join(ROOT, 'tests/integration/recovery/py_publisher.py'), redisUrl, String(TICK), String(WINDOW)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const p = { proc, last: 0, stderr: '', done: null };
  proc.stderr.on('data', (d) => (p.stderr += d));
  p.exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
  h.defer(() => proc.kill('SIGKILL'));
  const lines = readline.createInterface({ input: proc.stdout });
  const ready = new Promise((resolve) =>
    lines.on('line', (l) => {
      if (l === 'ready') resolve();
      else if (l.startsWith('last ')) p.done = Number(l.slice(5));
      else p.last = Number(l);
    }),
  );
  await withTimeout(Promise.race([ready, p.exited.then((c) => Promise.reject(new Error(`py_publisher exited ${c}: ${p.stderr}`)))]), 10000, 'py_publisher to start');
  return p;
}

describe('connection state recovery in a cluster', () => {
  itest('every publisher, four kinds of break', { timeout: 200000 }, async (h) => {
    const { redis, nodes } = await startCluster(h, 3, { args: NODE_ARGS, logLevel: 'info' });
    const lb = process.env.SIO_TEST_HAPROXY_DEFAULT ? await startHaproxy(h, nodes) : await startHaproxyNoEmptyRetry(h, nodes, startHaproxy);
    const pnode = await startDaemon(h, redis, { name: 'siobroker-P', args: ['--node-id', 'P', ...NODE_ARGS] });
    const peer = await startNodePeer(h, redis);

    // Publishers.
    const sbPub = io(`${pnode.url}/`, { path: '/socket.io/', transports: ['websocket'], forceNew: true });
    h.defer(() => sbPub.disconnect());
    await withTimeout(new Promise((r) => sbPub.once('connect', r)), 5000, 'the publisher to connect to P');
    assert.deepEqual(await sbPub.timeout(3000).emitWithAck('join', 'sb'), { ok: true });
    const peerPub = io(`${peer.url}/`, { path: '/socket.io/', transports: ['websocket'], forceNew: true });
    h.defer(() => peerPub.disconnect());
    await withTimeout(new Promise((r) => peerPub.once('connect', r)), 5000, 'the publisher to connect to the Node peer');
    const emitterRedis = createClient({ url: redis.url });
    emitterRedis.on('error', () => {});
    await emitterRedis.connect();
    h.defer(() => emitterRedis.disconnect().catch(() => {}));
    const emitter = new Emitter(emitterRedis);

    // Receivers: each group in both transports, each behind its own cutter, first on node A.
    const rs = [];
    for (const room of [...LOGGED, ...FALLBACK]) {
      for (const transports of [['websocket'], ['polling']]) {
        const cutter = await new Cutter(h, nodes[0].port).listen();
        const r = receiver(h, cutter.url, { name: `${room}-${transports[0]}`, room, transports });
        r.cutter = cutter;
        r.logged = LOGGED.includes(room);
        rs.push(r);
      }
    }
    await settled(rs);

    // The publishers run until the end.
    let n = 0;
    const timer = setInterval(() => {
      n++;
      sbPub.emit('n', n);
      peerPub.emit('emit', { rooms: ['np'], event: 'n', args: [n] });
      emitter.to('ne').emit('n', n);
    }, TICK);
    h.defer(() => clearInterval(timer));
    const py = await pythonPublisher(h, redis.url);
    await until(() => rs.every((r) => r.nums.length >= 5), 10000, 'every receiver to get numbers');

    const times = {};
    const nodeOf = (r) => ownerOf(nodes.concat(h.servers.filter((s) => s.name.startsWith('siobroker-'))), r.s.io.engine.id);

    // 1. Cut (half-open), back to the same node.
    let since = Date.now();
    for (const r of rs) r.cutter.cut({ halfOpen: true });
    await sleep(300);
    await settled(rs);
    for (const r of rs) assert.equal(nodeOf(r), 'A', `${r.name} back on A`);
    times['1 cut, same node'] = reconnectTimes(rs.filter((r) => r.logged), since);
    await sleep(500);

    // 2. Cut, back through the balancer to another node (cut again until it lands elsewhere).
    since = Date.now();
    for (const r of rs) r.cutter.upstream = lb.port;
    for (const r of rs) {
      for (let attempt = 1; nodeOf(r) === 'A'; attempt++) {
        assert.ok(attempt <= 8, `${r.name} came back to A ${attempt - 1} times through round-robin`);
        const before = r.conns.length;
        r.cutter.cut();
        await until(() => r.conns.length > before && r.s.connected, 15000, `${r.name} to reconnect`);
        await settled([r]);
      }
    }
    times['2 cut, another node'] = reconnectTimes(rs.filter((r) => r.logged), since);
    await sleep(500);

    // 3. Rolling deploy.
    since = Date.now();
    for (let i = 0; i < 3; i++) {
      const node = nodes[i];
      const st = await node.stop(5000);
      assert.equal(st && st.code, 0, `${node.name} stops cleanly on SIGTERM`);
      await sleep(300);
      await settled(rs);
      nodes[i] = await restartDaemon(h, node, BIN_DIR);
      await waitHaproxyRoutes(lb, `node${i + 1}`);
    }
    await settled(rs);
    times['3 rolling deploy (SIGTERM)'] = reconnectTimes(rs.filter((r) => r.logged), since);
    await sleep(500);

    // 4. kill -9 of the node holding most receivers, then it starts again.
    since = Date.now();
    const counts = {};
    for (const r of rs) counts[nodeOf(r)] = (counts[nodeOf(r)] || 0) + 1;
    const victimId = Object.entries(counts).sort((a, b) => b[1] - a[1])[0][0];
    const vi = nodes.findIndex((x) => x.id === victimId);
    assert.ok(vi >= 0, `victim ${victimId} among ${JSON.stringify(counts)}`);
    const onVictim = rs.filter((r) => nodeOf(r) === victimId).length;
    await kill9(nodes[vi]);
    await sleep(300);
    await settled(rs, 20000);
    times[`4 kill -9 (${onVictim} receivers)`] = reconnectTimes(rs.filter((r) => r.logged), since);
    nodes[vi] = await restartDaemon(h, nodes[vi], BIN_DIR);
    await waitHaproxyRoutes(lb, `node${vi + 1}`);

    // Stop the publishers; every receiver gets the last numbers.
    clearInterval(timer);
    py.proc.kill('SIGTERM');
    await withTimeout(py.exited, 5000, 'py_publisher to stop');
    assert.ok(py.done > 0, `py_publisher's last number (${py.stderr})`);
    const last = { sb: n, np: n, ne: n, py: py.done, pp: py.done };
    await until(() => rs.every((r) => r.nums.length && r.nums[r.nums.length - 1].k === last[r.room]), 15000, `last numbers: ${rs.map((r) => `${r.name} ${r.nums.length ? r.nums[r.nums.length - 1].k : '-'}/${last[r.room]}`).join(', ')}`).catch(() => {});

    const lines = Object.entries(times).map(([k, v]) => `  ${k}: ${summary(v)}`);
    const restores = h.servers
      .filter((sp) => sp.name.startsWith('siobroker'))
      .flatMap((sp) => [...sp.stderr.matchAll(/recovered in (\d+) ms: (\d+) missed/g)].map((m) => ({ ms: Number(m[1]), missed: Number(m[2]) })));
    lines.push(`  on the nodes, CONNECT to CONNECT reply: ${summary(restores)}, ${restores.reduce((a, r) => a + r.missed, 0)} packets replayed`);
    const per = rs.map((r) => `${r.name} ${r.nums.length} numbers, ${r.conns.length - 1} reconnects (${r.conns.filter((c) => c.recovered).length} recovered)`);
    console.log(`recovery times (client disconnect -> recovered connect):\n${lines.join('\n')}\nreceivers: ${per.join('; ')}`);
    const problems = [];
    for (const r of rs) {
      problems.push(...r.errors.map((e) => `${r.name}: ${e}`));
      problems.push(...(r.logged ? completeProblems(r, last[r.room]) : fallbackProblems(r, last[r.room])));
    }
    assert.deepEqual(problems, [], problems.join('\n'));
    for (const r of rs) assert.ok(r.conns.length >= 4, `${r.name} reconnected in every case (${r.conns.length} connects)`);
  });
});
