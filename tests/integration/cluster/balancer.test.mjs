// Three siobroker nodes, redis-server and HAProxy with deploy/haproxy/haproxy.cfg (plain
// round-robin, no stickiness) in front: the official socket.io-client over polling, polling +
// upgrade and websocket, and python-socketio over polling, work through the balancer as if there
// were one server. Then kill -9 of one node: its clients reconnect through the balancer, the
// clients of the other nodes see no disconnect.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { describe } from 'node:test';
import { itest, sleep, withTimeout } from '../lib/harness.mjs';
import { io } from '../lib/sio.mjs';
import { kill9, redisClient, until } from '../redis/cluster.mjs';
import { ROOT, nodesMentioning, startCluster, startHaproxy } from './lib.mjs';

const PYTHON = process.env.PYTHON || '/usr/bin/python3';
const MODES = {
  polling: { transports: ['polling'], upgrade: false },
  upgrade: { transports: ['polling', 'websocket'], upgrade: true },
  websocket: { transports: ['websocket'], upgrade: false },
};

/** A socket.io-client socket through the balancer; resolves once connected. */
async function client(h, url, name, mode, { reconnection = false } = {}) {
  const s = io(`${url}/`, {
    path: '/socket.io/',
    transports: MODES[mode].transports,
    upgrade: MODES[mode].upgrade,
    rememberUpgrade: false,
    forceNew: true,
    reconnection,
    reconnectionDelay: 200,
    reconnectionDelayMax: 1000,
    timeout: 8000,
    auth: { name },
  });
  h.defer(() => s.disconnect());
  s.label = name;
  s.mode = mode;
  s.hellos = new Map();
  s.binaryOk = true;
  s.disconnects = [];
  s.on('disconnect', (reason) => s.disconnects.push(reason));
  s.on('hello', (data) => {
    s.hellos.set(data.name, (s.hellos.get(data.name) || 0) + 1);
    if (!Buffer.from(data.bin).equals(payload(data.name))) s.binaryOk = false;
  });
  await withTimeout(new Promise((resolve, reject) => {
    s.once('connect', resolve);
    s.once('connect_error', reject);
  }), 10000, `${name} (${mode}) to connect through HAProxy`);
  return s;
}

/** The 64-byte binary each client attaches to its hello (same as py_clients.py). */
function payload(name) {
  return Buffer.from(Array.from({ length: 64 }, (_, i) => (name.length + i) % 256));
}

/** Runs py_clients.py: COUNT python-socketio clients; returns a line-driven controller. */
function pythonClients(h, url, count, prefix, expected) {
  const proc = spawn(PYTHON, [path.join(ROOT, 'tests/integration/cluster/py_clients.py'), url, String(count), prefix, String(expected)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const events = [];
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  readline.createInterface({ input: proc.stdout }).on('line', (l) => {
    try {
      events.push(JSON.parse(l));
    } catch {
      events.push({ event: 'garbage', line: l });
    }
  });
  const exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
  h.defer(() => proc.kill('SIGKILL'));
  const wait = (fn, ms, what) =>
    until(() => {
      const err = events.find((e) => e.event === 'error');
      if (err) throw new Error(`python clients: ${err.error}\n${stderr}`);
      return fn(events);
    }, ms, what);
  return { proc, events, exited, wait, send: (l) => proc.stdin.write(`${l}\n`), stderr: () => stderr };
}

describe('three nodes behind HAProxy round-robin', () => {
  itest('50 clients (socket.io-client: polling, upgrade, websocket; python-socketio: polling) work as with one server', { timeout: 120000 }, async (h) => {
    const { redis, nodes } = await startCluster(h, 3);
    const lb = await startHaproxy(h, nodes);
    const N = { polling: 15, upgrade: 15, websocket: 10, python: 10 };
    const total = N.polling + N.upgrade + N.websocket + N.python;

    const sockets = [];
    for (const mode of ['polling', 'upgrade', 'websocket'])
      for (let i = 0; i < N[mode]; i++) sockets.push(await client(h, lb.url, `${mode}${i}`, mode));
    for (const s of sockets) assert.deepEqual(await s.emitWithAck('join', 'all'), { ok: true });
    // Half of them also join a second room: a socket's event reaches the union of its rooms once.
    for (const s of sockets.filter((_, i) => i % 2 === 0)) assert.deepEqual(await s.emitWithAck('join', 'half'), { ok: true });
    const py = pythonClients(h, lb.url, N.python, 'python', total - 1);
    await py.wait((ev) => ev.filter((e) => e.event === 'joined').length === N.python, 30000, 'python clients to join');

    // Everybody says hello (with an ack and a binary attachment) to everybody else.
    py.send('go');
    const acks = await Promise.all(sockets.map((s) => s.timeout(10000).emitWithAck('hello', { name: s.label, bin: payload(s.label) })));
    for (const a of acks) assert.equal(a.ok, true);
    await until(() => sockets.every((s) => s.hellos.size === total - 1), 20000, 'every hello at every socket.io-client').catch((e) => {
      if (process.env.SIO_TEST_DUMP) for (const n of [...nodes, lb]) fs.writeFileSync(`${process.env.SIO_TEST_DUMP}/${n.name}.log`, n.stderr + n.stdout);
      const short = sockets.filter((s) => s.hellos.size !== total - 1).map((s) => `${s.label}(${s.io.engine.id}): ${s.hellos.size} [${[...s.hellos.keys()].sort().join(',')}]`);
      throw new Error(`${e.message}\n${short.slice(0, 3).join('\n')}\npython: ${JSON.stringify(py.events.filter((x) => x.event !== 'joined'))}\n${py.stderr()}`);
    });
    await py.wait((ev) => ev.filter((e) => e.event === 'result').length === N.python, 30000, 'python results');
    const names = [...sockets.map((s) => s.label), ...py.events.filter((e) => e.event === 'joined').map((e) => e.name)].sort();
    for (const s of sockets) {
      assert.deepEqual([...s.hellos.keys()].sort(), names.filter((n) => n !== s.label), `${s.label} heard everybody else`);
      assert.ok([...s.hellos.values()].every((c) => c === 1), `${s.label} heard each hello once`);
      assert.ok(s.binaryOk, `${s.label} got every binary attachment intact`);
    }
    for (const r of py.events.filter((e) => e.event === 'result')) {
      assert.deepEqual(r.from, names.filter((n) => n !== r.name), `${r.name} heard everybody else`);
      assert.deepEqual(r.dups, []);
      assert.equal(r.binary_ok, true);
      assert.equal(r.ack.ok, true);
    }

    // Each polling session's requests really were spread over several nodes (the nodes log every
    // request at debug: the owner its packets, a forwarder "sid=... GET forwarded to ...").
    const pollingSids = [...sockets.filter((s) => s.mode === 'polling').map((s) => s.io.engine.id), ...py.events.filter((e) => e.event === 'joined').map((e) => e.sid)];
    for (const sid of pollingSids) assert.ok(nodesMentioning(nodes, sid) >= 2, `session ${sid} was served by one node only`);
    const forwarded = nodes.map((n) => (n.stderr.match(/ forwarded to /g) || []).length);
    assert.ok(forwarded.every((c) => c > 0), `every node forwarded requests: ${forwarded}`);
    // Upgrades through the balancer: the WebSocket lands on any node; when not on the owner, it is
    // relayed. All upgraded, and some were relayed.
    for (const s of sockets.filter((x) => x.mode === 'upgrade')) assert.equal(s.io.engine.transport.name, 'websocket');
    assert.ok(nodes.some((n) => / WebSocket relayed to /.test(n.stderr)), 'some upgrades were relayed');

    // Clean disconnects: every session ends on its owner, the registry counts go back to 0.
    py.send('bye');
    await py.wait((ev) => ev.some((e) => e.event === 'bye'), 10000, 'python clients to disconnect');
    assert.equal(await withTimeout(py.exited, 10000, 'python clients to exit'), 0);
    for (const s of sockets) s.disconnect();
    const r = await redisClient(h, redis);
    await until(async () => {
      let sum = 0;
      for (const n of nodes) sum += Number(await r.hGet(`socket.io:node:${n.id}`, 'sessions'));
      return sum === 0;
    }, 10000, 'every session to be closed (registry counts)', 200);
    for (const s of sockets) assert.deepEqual(s.disconnects, ['io client disconnect']);
  });

  itest('kill -9 of one node: its clients reconnect through the balancer; the others see no disconnect', { timeout: 120000 }, async (h) => {
    const { redis, nodes } = await startCluster(h, 3, { logLevel: 'info' });
    const lb = await startHaproxy(h, nodes);
    const sockets = [];
    for (let i = 0; i < 12; i++) sockets.push(await client(h, lb.url, `poll${i}`, 'polling', { reconnection: true }));
    for (let i = 0; i < 9; i++) sockets.push(await client(h, lb.url, `ws${i}`, 'websocket', { reconnection: true }));
    for (const s of sockets) assert.deepEqual(await s.emitWithAck('join', 'all'), { ok: true });
    const r = await redisClient(h, redis);
    for (const s of sockets) s.owner = await r.get(`socket.io:sid:${s.io.engine.id}`);
    const counts = Object.fromEntries(nodes.map((n) => [n.id, sockets.filter((s) => s.owner === n.id).length]));
    const victimId = Object.entries(counts).sort((a, b) => b[1] - a[1])[0][0];
    const victim = nodes.find((n) => n.id === victimId);
    const theirs = sockets.filter((s) => s.owner === victimId);
    const others = sockets.filter((s) => s.owner !== victimId);
    assert.ok(theirs.length > 0 && others.length > 0, `owners: ${JSON.stringify(counts)}`);

    await kill9(victim);
    // Its clients notice, reconnect (to the live nodes, through HAProxy) and work again.
    await until(() => theirs.every((s) => s.disconnects.length > 0 && s.connected), 30000, 'the dead node\'s clients to reconnect', 100);
    for (const s of theirs) assert.deepEqual(await s.timeout(5000).emitWithAck('join', 'again'), { ok: true });
    for (const s of theirs) assert.notEqual(await r.get(`socket.io:sid:${s.io.engine.id}`), victimId);
    // The others: no disconnect while the balancer found out (two failed checks, 2 s apart).
    await sleep(5000);
    for (const s of others) assert.deepEqual(s.disconnects, [], `${s.label} (owner ${s.owner}) was disconnected`);
    for (const s of others) assert.deepEqual(await s.timeout(5000).emitWithAck('join', 'again'), { ok: true });
    // Everybody in room "all" still hears everybody.
    const hello = others[0];
    const heard = Promise.all(sockets.filter((s) => s !== hello).map((s) => withTimeout(new Promise((res) => s.once('bye', res)), 5000, `${s.label} to hear the broadcast`)));
    hello.emit('bye', { from: hello.label });
    await heard;
  });
});
