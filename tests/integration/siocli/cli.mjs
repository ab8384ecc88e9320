// siocli test helpers: runs bin/siocli to completion (bounded) against a cluster's Redis, and
// starts the mixed cluster the siocli tests share: two siobroker daemons (alpha, beta) and one
// Node socket.io server with @socket.io/redis-adapter, on a private redis-server.

import assert from 'node:assert/strict';
import { runBinary, spawnBinary, withTimeout } from '../lib/harness.mjs';
import { startRedis, startDaemon, startNodePeer, client, join, waitOutput, WS, POLL } from '../redis/cluster.mjs';

export { WS, POLL };

/** Runs siocli with `args` against redis (plus --timeout, 3000 ms unless given) and returns
 * {code, stdout, stderr}. */
export async function siocli(redis, args, { timeoutMs = 10000, timeout = '3000' } = {}) {
  const all = ['--redis', redis.url, ...(timeout ? ['--timeout', timeout] : []), ...args];
  const r = await runBinary('siocli', all, { timeoutMs });
  return { code: r.code, signal: r.signal, stdout: r.stdout, stderr: r.stderr, args: all };
}

/** Runs siocli --json and returns the parsed document; asserts the exit code (default 0). */
export async function siocliJson(redis, args, { code = 0, ...opts } = {}) {
  const r = await siocli(redis, ['--json', ...args], opts);
  assert.equal(r.code, code, `siocli ${r.args.join(' ')}: exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  try {
    return JSON.parse(r.stdout);
  } catch (e) {
    throw new Error(`siocli ${r.args.join(' ')}: stdout is not one JSON document (${e.message}):\n${r.stdout}`);
  }
}

/** Splits a siocli table into rows of cells: the header line first. Cells are separated by two or
 * more spaces (cells never hold two spaces in these tests). */
export function table(stdout) {
  return stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split(/ {2,}/));
}

/** Starts siocli monitor (extra args) and waits (bounded) until it is subscribed. */
export async function startMonitor(h, redis, args = []) {
  const sp = spawnBinary('siocli', ['--redis', redis.url, 'monitor', ...args]);
  h.servers.push(sp);
  await waitOutput(sp, 'siocli: monitoring', { ms: 10000 });
  return sp;
}

/** Waits (bounded) until sp's stdout holds `count` lines. */
export async function waitLines(sp, count, ms = 5000) {
  await withTimeout(
    (async () => {
      for (;;) {
        if (sp.stdout.split('\n').filter((l) => l).length >= count) return;
        if (!sp.running) throw new Error(`${sp.name} exited: ${sp.stderr}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    })(),
    ms,
    `${count} lines on siocli monitor's stdout (got: ${sp.stdout})`,
  );
}

/**
 * The mixed cluster: daemons alpha and beta, Node server "peer", and clients
 *   a1 (alpha, websocket) in red, blue      a2 (alpha, polling) in red
 *   b1 (beta, websocket) in blue            n1 (peer, websocket) in red
 */
export async function startCluster(h) {
  const redis = await startRedis(h);
  const [alpha, beta, peer] = await Promise.all([
    startDaemon(h, redis, { name: 'alpha', args: ['--node-id', 'alpha'] }),
    startDaemon(h, redis, { name: 'beta', args: ['--node-id', 'beta'] }),
    startNodePeer(h, redis, { name: 'peer' }),
  ]);
  const [a1, a2, b1, n1] = await Promise.all([client(h, alpha, 'a1', WS), client(h, alpha, 'a2', POLL), client(h, beta, 'b1', WS), client(h, peer, 'n1', WS)]);
  await Promise.all([join(a1, 'red', 'blue'), join(a2, 'red'), join(b1, 'blue'), join(n1, 'red')]);
  return { redis, alpha, beta, peer, a1, a2, b1, n1, clients: [a1, a2, b1, n1] };
}
