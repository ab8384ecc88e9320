// Redis cluster test helpers: a private redis-server per test, C nodes (build/bin/sio-cluster-node,
// tests/fixtures/sio_cluster_node.c), Node peers (tests/fixtures/node_cluster_peer.mjs), the
// siobroker daemon with --redis, socket.io-client clients, raw Redis clients, and exact absence
// checks through sentinels.
//
// Every process is started on a free 127.0.0.1 port, stopped by PID when its test ends (and
// SIGKILLed if the test process exits first); every wait is bounded.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { BIN_DIR, HOST, ServerProcess, freePort, sleep, withTimeout } from '../lib/harness.mjs';
import { connect, connectSibling, ask } from '../lib/sio.mjs';

export { sleep, withTimeout, ask };

const here = path.dirname(fileURLToPath(import.meta.url));
const PEER_SCRIPT = path.resolve(here, '../../fixtures/node_cluster_peer.mjs');
const REDIS_SERVER = process.env.SIO_REDIS_SERVER || 'redis-server';
/** Log level of the C nodes (info shows the adapter's warnings, "dropped" lines included). */
const NODE_LOG_LEVEL = process.env.SIO_TEST_LOG_LEVEL || 'info';

export const WS = { name: 'websocket', transports: ['websocket'] };
export const POLL = { name: 'polling', transports: ['polling'] };

const children = new Set();
process.on('exit', () => {
  for (const p of children) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

function spawnTracked(name, file, args, env = {}) {
  const base = { ...process.env };
  for (const k of Object.keys(base)) if (k.startsWith('SIO_') && k !== 'SIO_BIN_DIR') delete base[k];
  const proc = spawn(file, args, { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  return new ServerProcess(name, args, proc);
}

/** Counts occurrences of needle (string or RegExp with the g flag) in text. */
export function countMatches(text, needle) {
  if (typeof needle === 'string') return text.split(needle).length - 1;
  return (text.match(needle) || []).length;
}

/**
 * Waits (bounded) until stream ('stderr' or 'stdout') of sp holds at least `count` occurrences of
 * needle. Rejects early if the process exits.
 */
export async function waitOutput(sp, needle, { ms = 5000, count = 1, stream = 'stderr' } = {}) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (countMatches(sp[stream], needle) >= count) return;
    if (!sp.running) throw new Error(`${sp.name} exited (${JSON.stringify(sp.exitStatus)}) while waiting for ${count}x '${needle}' on its ${stream}`);
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${count}x '${needle}' on ${sp.name}'s ${stream} (seen ${countMatches(sp[stream], needle)})`);
    }
    await sleep(20);
  }
}

/**
 * Starts a private redis-server on a free port (or on `port`) and waits until it is ready. A given
 * port may be briefly in use: nodes that keep reconnecting to it can get it as the source port of
 * one of their own attempts (a TCP self-connect), which lasts until they drop that connection; so
 * a port in use is retried for a while (a free port is simply picked again).
 */
export async function startRedis(h, { port } = {}) {
  const attempts = port === undefined ? 3 : 20;
  for (let attempt = 1; ; attempt++) {
    const p = port ?? (await freePort());
    const args = ['--port', String(p), '--bind', HOST, '--save', '', '--appendonly', 'no', '--loglevel', 'notice'];
    const sp = spawnTracked('redis-server', REDIS_SERVER, args);
    sp.port = p;
    h.servers.push(sp);
    try {
      await waitOutput(sp, 'Ready to accept connections', { ms: 15000, stream: 'stdout' });
      sp.url = `redis://${HOST}:${p}`;
      return sp;
    } catch (err) {
      h.servers.splice(h.servers.indexOf(sp), 1);
      await sp.stop();
      if (attempt >= attempts || !/in use/i.test(sp.stdout + sp.stderr)) throw new Error(`${err.message}\n${sp.diagnostics()}`);
      if (port !== undefined) await sleep(250);
    }
  }
}

/** SIGKILLs a process by PID and waits (bounded) for it to be gone. */
export async function kill9(sp) {
  sp.kill('SIGKILL');
  await withTimeout(sp.exited, 5000, `${sp.name} to die after SIGKILL`);
}

// Bounds: a Node server (imports of socket.io and the adapter) may need seconds to start on a busy
// machine; these waits cost nothing when it is quick.
async function startListening(h, name, file, argsFor, { env, readyNeedle = 'cluster ready', readyMs = 15000 } = {}) {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const args = argsFor(port);
    const sp = spawnTracked(name, file, args, env);
    sp.port = port;
    h.servers.push(sp);
    try {
      await sp.waitListening(port, 15000);
      if (readyNeedle) await waitOutput(sp, readyNeedle, { ms: readyMs });
      return Object.assign(sp, { url: `http://${HOST}:${port}`, path: '/socket.io/' });
    } catch (err) {
      if (attempt >= 3 || sp.running || !/in use/i.test(sp.stderr)) throw err;
      h.servers.splice(h.servers.indexOf(sp), 1);
    }
  }
}

/** Starts a C cluster node (sio-cluster-node) on redis and waits for "cluster ready" (unless
 * waitReady is false: then only for its listening line). */
export function startCNode(h, redis, { key, requestsTimeout, name = 'sio-cluster-node', extraArgs = [], waitReady = true } = {}) {
  return startListening(
    h,
    name,
    path.join(BIN_DIR, 'sio-cluster-node'),
    (port) => {
      const a = ['--port', String(port), '--redis', redis.url, '--log-level', NODE_LOG_LEVEL];
      if (key) a.push('--key', key);
      if (requestsTimeout) a.push('--requests-timeout', String(requestsTimeout));
      return a.concat(extraArgs);
    },
    { readyNeedle: waitReady ? 'cluster ready' : null },
  ).then((sp) => Object.assign(sp, { kind: 'c' }));
}

/** Starts a Node peer (node_cluster_peer.mjs) on redis and waits for "cluster ready". */
export function startNodePeer(h, redis, { key, requestsTimeout, specificResponseChannel = false, name = 'node_cluster_peer' } = {}) {
  return startListening(h, name, process.execPath, (port) => {
    const a = [PEER_SCRIPT, '--port', String(port), '--redis', redis.url];
    if (key) a.push('--key', key);
    if (requestsTimeout) a.push('--requests-timeout', String(requestsTimeout));
    if (specificResponseChannel) a.push('--specific-response-channel');
    return a;
  }).then((sp) => Object.assign(sp, { kind: 'node' }));
}

/** The cluster secret the test daemons share (startDaemon passes it through the environment). */
export const CLUSTER_SECRET = 'test-cluster-secret-0123456789';

/** Starts the siobroker daemon with --redis and waits for its "cluster ready" line. The daemon
 * gets CLUSTER_SECRET as SIO_CLUSTER_SECRET unless `secret` says otherwise (null: none, and then
 * --insecure-cluster unless `args` decide). `advertise` is passed as --advertise HOST:PORT. */
export function startDaemon(h, redis, { key, args = [], secret = CLUSTER_SECRET, name = 'siobroker', logLevel = 'info', env = {} } = {}) {
  return startListening(
    h,
    name,
    path.join(BIN_DIR, 'siobroker'),
    (port) => {
      const a = ['--listen', `${HOST}:${port}`, '--redis', redis.url, '--log-level', logLevel];
      if (key) a.push('--redis-key', key);
      if (secret === null && !args.includes('--insecure-cluster')) a.push('--insecure-cluster');
      return a.concat(args);
    },
    { env: secret ? { SIO_CLUSTER_SECRET: secret, ...env } : env },
  );
}

/** A socket.io-client socket on srv (nsp, mode) with auth {name}; `.rec` records what it gets. */
export async function client(h, srv, name, mode = WS, nsp = '/') {
  const s = await connect(h, srv, mode, nsp, { auth: { name } });
  s.label = name;
  s.srv = srv;
  return s;
}

/** A second namespace on the same Engine.IO session as s. */
export async function sibling(s, nsp) {
  const t = await connectSibling(s, nsp, { auth: { name: `${s.label}${nsp}` } });
  t.label = `${s.label}${nsp}`;
  t.srv = s.srv;
  return t;
}

/** Joins rooms (acked) through the fixture's "join" event. */
export async function join(s, ...rooms) {
  for (const r of rooms) {
    const res = await ask(s, 3000, 'join', r);
    if (!res || !res.ok) throw new Error(`join ${r} on ${s.label}: ${JSON.stringify(res)}`);
  }
}

/** Calls a fixture event with one payload and returns its ack (bounded). */
export function call(s, event, payload, ms = 4000) {
  return payload === undefined ? ask(s, ms, event) : ask(s, ms, event, payload);
}

/** Received argument lists of `event` whose first argument is tag. */
export function got(s, event, tag) {
  return s.rec.all(event).filter((a) => a[0] === tag);
}

/** Unique tags. */
let seq = 0;
export const tag = (p = 't') => `${p}-${process.pid}-${++seq}-${Math.random().toString(36).slice(2, 7)}`;

/**
 * Sends a sentinel to every socket of a namespace through `emitFn(tag)` and waits until each of
 * `sockets` got it. Emit the sentinel from the same origin as the event under test: one origin's
 * messages keep their order through Redis and through each client session, so once the sentinel
 * arrived everything emitted before it has arrived too, and absence checks are exact.
 */
export async function flushWith(emitFn, sockets, ms = 4000) {
  const t = tag('sentinel');
  await emitFn(t);
  await Promise.all(
    sockets.map((s) =>
      s.rec.next('sentinel', ms, (a) => a[0] === t, `sentinel ${t} on ${s.label} (received: ${JSON.stringify(s.rec.events().slice(-20))})`),
    ),
  );
}

/** flushWith through a fixture server's "emit" (to every socket of the origin's namespace). */
export function flushFrom(origin, sockets, ms) {
  return flushWith((t) => call(origin, 'emit', { event: 'sentinel', args: [t] }), sockets, ms);
}

/** A node-redis client on redis (disconnected at test end). */
export async function redisClient(h, redis) {
  const c = createClient({ url: redis.url, socket: { reconnectStrategy: false } });
  c.on('error', () => {});
  await withTimeout(c.connect(), 5000, 'redis client to connect');
  h.defer(() => c.disconnect().catch(() => {}));
  return c;
}

/** The names of the sockets that received event with first argument t, sorted. */
export function receivers(sockets, event, t) {
  return sockets.filter((s) => got(s, event, t).length > 0).map((s) => s.label).sort();
}

/** Asserts that the sockets named in `expected` each got event/t exactly once and others never. */
export function expectExactlyOnce(assert, sockets, event, t, expected, what) {
  const counts = Object.fromEntries(sockets.map((s) => [s.label, got(s, event, t).length]));
  const want = Object.fromEntries(sockets.map((s) => [s.label, expected.includes(s.label) ? 1 : 0]));
  assert.deepStrictEqual(counts, want, `${what}: receipts per client`);
}

/** True when none of the sockets recorded a 'disconnect'. */
export function disconnects(sockets) {
  return sockets.filter((s) => s.rec.count('disconnect') > 0).map((s) => `${s.label}: ${JSON.stringify(s.rec.all('disconnect'))}`);
}

/** Bounded poll of fn until it returns a truthy value. */
export async function until(fn, ms, what, interval = 50) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await sleep(interval);
  }
}

/** Sorted ids (or data.name) of a fetch answer. */
export const names = (sockets) => sockets.map((s) => s.data && s.data.name).sort();

/**
 * Differences between two JSON-like values as "path: actual X, expected Y" lines (values cut to
 * 80 characters), for readable failures on big payloads. Empty when equal.
 */
export function diffPaths(actual, expected, p = '$', out = []) {
  const show = (v) => {
    const t = v === undefined ? 'undefined' : JSON.stringify(v);
    return t.length > 80 ? `${t.slice(0, 80)}... (${t.length} chars)` : t;
  };
  if (out.length >= 20) return out;
  const bothObj = actual && expected && typeof actual === 'object' && typeof expected === 'object';
  if (bothObj && Array.isArray(actual) === Array.isArray(expected)) {
    const keys = new Set([...Object.keys(actual), ...Object.keys(expected)]);
    for (const k of keys) diffPaths(actual[k], expected[k], Array.isArray(expected) ? `${p}[${k}]` : `${p}.${k}`, out);
  } else if (!Object.is(actual, expected)) {
    out.push(`${p}: actual ${show(actual)}, expected ${show(expected)}`);
  }
  return out;
}

/**
 * Stops each process with SIGTERM (bounded) and asserts a clean exit: code 0 and no sanitizer or
 * event-loop report on stderr (README: SIGTERM shuts a node down cleanly, exit 0).
 */
export async function expectCleanExit(assert, ...procs) {
  const problems = [];
  await Promise.all(
    procs.map(async (p) => {
      const st = await p.stop(5000);
      const m = /AddressSanitizer|LeakSanitizer|runtime error:|event loop did not close|Assertion .* failed/.exec(p.stderr);
      if (!st || st.code !== 0 || m) {
        problems.push(`${p.name} (pid ${p.pid}) exit ${JSON.stringify(st)}${m ? `:\n${p.stderr.slice(Math.max(0, m.index - 200), m.index + 3000)}` : ''}`);
      }
    }),
  );
  assert.deepStrictEqual(problems, [], `unclean exit after SIGTERM:\n${problems.join('\n')}`);
}
