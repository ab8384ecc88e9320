// Cluster test helpers: N siobroker daemons on one private redis-server, HAProxy with the
// repository's deploy/haproxy/haproxy.cfg in front of three of them, node log inspection, and
// the HMAC signature of forwarded requests (to forge and check them).
//
// Every process is started on a free 127.0.0.1 port and stopped by PID when its test ends.

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOST, ServerProcess, freePort, httpRequest, sleep } from '../lib/harness.mjs';
import { CLUSTER_SECRET, startDaemon, startRedis, waitOutput } from '../redis/cluster.mjs';

export { CLUSTER_SECRET, startRedis, startDaemon, waitOutput };

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '../../..');
const HAPROXY = process.env.SIO_HAPROXY || 'haproxy';

/**
 * Starts redis-server and `n` daemons named A, B, C... (node ids too) that share CLUSTER_SECRET.
 * `args` are extra daemon flags. Returns {redis, nodes}.
 */
export async function startCluster(h, n, { args = [], logLevel = 'debug' } = {}) {
  const redis = await startRedis(h);
  const nodes = [];
  for (let i = 0; i < n; i++) {
    const id = String.fromCharCode(65 + i);
    nodes.push(await startDaemon(h, redis, { name: `siobroker-${id}`, logLevel, args: ['--node-id', id, ...args] }));
  }
  for (const [i, node] of nodes.entries()) node.id = String.fromCharCode(65 + i);
  return { redis, nodes };
}

/**
 * Starts HAProxy with deploy/haproxy/haproxy.cfg (or `cfg`: a variant of it) (round-robin, no
 * stickiness) in front of three nodes and waits until every node passes its /readyz health check.
 * Returns the process with .port and .url.
 */
export async function startHaproxy(h, nodes, { cfg = path.join(ROOT, 'deploy/haproxy/haproxy.cfg') } = {}) {
  if (nodes.length !== 3) throw new Error('deploy/haproxy/haproxy.cfg names three nodes');
  const port = await freePort();
  const env = { ...process.env, SIO_HAPROXY_BIND: `${HOST}:${port}` };
  nodes.forEach((n, i) => (env[`SIO_NODE${i + 1}`] = `${HOST}:${n.port}`));
  const args = ['-db', '-f', cfg];
  const proc = spawn(HAPROXY, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  process.on('exit', () => {
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  const sp = new ServerProcess('haproxy', args, proc);
  h.servers.push(sp);
  // Servers start UP; wait until a full round of the rotation answers.
  for (let ok = 0, tries = 0; ok < 6; tries++) {
    if (!sp.running || tries > 200) throw new Error(`haproxy on ${port} does not answer /readyz\n${sp.diagnostics()}`);
    const res = await httpRequest(port, { path: '/readyz' }).catch(() => ({ status: 0 }));
    ok = res.status === 200 ? ok + 1 : 0;
    if (res.status !== 200) await sleep(50);
  }
  return Object.assign(sp, { port, url: `http://${HOST}:${port}` });
}

/** HMAC-SHA256 hex of "METHOD\nPATH\nQUERY\nTS" under secret (QUERY: decoded args joined by &). */
export function sign(secret, method, p, query, ts) {
  return crypto.createHmac('sha256', secret).update(`${method}\n${p}\n${query}\n${ts}`).digest('hex');
}

/** Headers of a forwarded request signed with secret (default: the test cluster's). */
export function forwardHeaders(method, p, query, { secret = CLUSTER_SECRET, ts = Date.now(), from = 'test' } = {}) {
  return { 'x-siobroker-from': from, 'x-siobroker-ts': String(ts), 'x-siobroker-sig': sign(secret, method, p, query, ts) };
}

/** The node id (A, B, ...) whose log shows sid was created there, or undefined. */
export function ownerOf(nodes, sid) {
  const n = nodes.find((x) => x.stderr.includes(`sid=${sid} created`) || x.stderr.includes(`sid=${sid} open`));
  return n && n.id;
}

/** Number of nodes whose log mentions sid. */
export function nodesMentioning(nodes, sid) {
  return nodes.filter((x) => x.stderr.includes(sid)).length;
}
