// Connection state recovery test helpers (docs/recovery.md): a TCP "cutter" between a client and
// its server that can cut the client's connection (optionally leaving the server's side open, a
// half-open connection the server has not noticed), receivers that record numbered events and
// their (re)connections, sequence checks, and restarting a daemon on its port.
//
// Every process and socket is stopped or closed when its test ends; every wait is bounded.

import { spawn } from 'node:child_process';
import net from 'node:net';
import { HOST, ServerProcess, sleep, withTimeout } from '../lib/harness.mjs';
import { io } from '../lib/sio.mjs';
import { CLUSTER_SECRET, waitOutput } from '../redis/cluster.mjs';

export { sleep, withTimeout };

/**
 * A TCP proxy on 127.0.0.1 in front of one client: every connection it accepts goes to the
 * current upstream port. cut() destroys the client's side of every connection (the client sees
 * its connection close) and refuses new ones for outageMs (so that a polling client, which may
 * have no request open at that moment, fails its next one); with halfOpen the server's side stays
 * open and silent until the test ends, so the server keeps the old session until its ping timeout.
 */
export class Cutter {
  constructor(h, upstream) {
    this.upstream = upstream;
    this.pairs = new Set();
    this.zombies = new Set();
    this.outageUntil = 0;
    this.server = net.createServer((c) => this._accept(c));
    h.defer(() => this.close());
  }

  async listen() {
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, HOST, resolve);
    });
    this.port = this.server.address().port;
    this.url = `http://${HOST}:${this.port}`;
    return this;
  }

  _accept(c) {
    if (Date.now() < this.outageUntil) {
      c.destroy();
      return;
    }
    const u = net.connect(this.upstream, HOST);
    const pair = { c, u };
    this.pairs.add(pair);
    c.pipe(u);
    u.pipe(c);
    const end = () => {
      c.destroy();
      u.destroy();
      this.pairs.delete(pair);
    };
    c.on('error', end);
    u.on('error', end);
    c.on('close', () => {
      if (!pair.halfOpen) end();
    });
    u.on('close', end);
  }

  /** Drops what the server sends from now on (the client's data still goes through), as a
   * connection whose way back is broken; cut() ends it. */
  mute() {
    for (const pair of this.pairs) {
      pair.u.unpipe(pair.c);
      pair.u.on('data', () => {});
    }
  }

  /** Cuts every connection of the client; returns how many. */
  cut({ halfOpen = false, outageMs = 300 } = {}) {
    this.outageUntil = Date.now() + outageMs;
    const n = this.pairs.size;
    for (const pair of [...this.pairs]) {
      this.pairs.delete(pair);
      if (halfOpen) {
        pair.halfOpen = true;
        pair.c.unpipe(pair.u);
        pair.u.unpipe(pair.c);
        pair.u.on('data', () => {}); // read and drop what the server still sends
        this.zombies.add(pair.u);
      } else {
        pair.u.destroy();
      }
      pair.c.destroy();
    }
    return n;
  }

  close() {
    for (const pair of this.pairs) {
      pair.c.destroy();
      pair.u.destroy();
    }
    for (const u of this.zombies) u.destroy();
    this.server.close();
  }
}

/**
 * A socket.io-client 4.8 socket (reconnecting, as in a browser) that joins `room` through the
 * rooms policy on every connect that is not a recovery, and records every "n" event with its
 * connection index, and every connect (with `recovered`) and disconnect with its time.
 */
export function receiver(h, url, { name, room, transports = ['websocket'] }) {
  const s = io(`${url}/`, {
    path: '/socket.io/',
    transports,
    upgrade: false,
    forceNew: true,
    reconnectionDelay: 100,
    reconnectionDelayMax: 400,
    randomizationFactor: 0.5,
    timeout: 8000,
  });
  h.defer(() => s.disconnect());
  const r = { s, name, room, transports, nums: [], conns: [], discs: [], joined: 0, errors: [] };
  s.on('n', (k, ...rest) => r.nums.push({ k, conn: r.conns.length, offset: rest[rest.length - 1] }));
  s.on('connect', () => {
    r.conns.push({ at: Date.now(), recovered: s.recovered, id: s.id, engine: s.io.engine && s.io.engine.id });
    if (!s.recovered) {
      s.timeout(5000).emit('join', room, (err, res) => {
        if (err || !res || !res.ok) r.errors.push(`join ${room}: ${err ? err.message : JSON.stringify(res)}`);
        else r.joined++;
      });
    }
  });
  s.on('disconnect', (reason) => r.discs.push({ at: Date.now(), reason }));
  s.on('connect_error', (e) => (r.connectErrors = (r.connectErrors || 0) + 1));
  return r;
}

/** Waits (bounded) until fn() is true. */
export async function until(fn, ms, what, interval = 20) {
  const deadline = Date.now() + ms;
  while (!fn()) {
    if (Date.now() >= deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(interval);
  }
}

/** Waits until every receiver is connected and has joined its room since its last non-recovered connect. */
export async function settled(rs, ms = 15000) {
  await until(
    () => rs.every((r) => r.s.connected && r.conns.length > 0 && (r.conns[r.conns.length - 1].recovered || r.joined >= r.conns.filter((c) => !c.recovered).length)),
    ms,
    `receivers connected and joined: ${rs.filter((r) => !r.s.connected).map((r) => r.name).join(', ')}`,
  );
}

/** Problems of a receiver whose publisher logs its packets: not every number from 1 to last once, in order. */
export function completeProblems(r, last) {
  const ks = r.nums.map((x) => x.k);
  const out = [];
  for (let i = 0; i < ks.length; i++) {
    if (ks[i] !== i + 1) {
      out.push(`${r.name}: number #${i} is ${ks[i]}, expected ${i + 1} (around: ${JSON.stringify(ks.slice(Math.max(0, i - 3), i + 4))})`);
      break;
    }
  }
  if (ks.length !== last) out.push(`${r.name}: got ${ks.length} numbers, expected ${last}`);
  const notRecovered = r.conns.slice(1).filter((c) => !c.recovered).length;
  if (notRecovered) out.push(`${r.name}: ${notRecovered} of ${r.conns.length - 1} reconnects were not recovered`);
  if (r.nums.some((x) => typeof x.offset !== 'string')) out.push(`${r.name}: a number came without an offset`);
  return out;
}

/**
 * Problems of a receiver whose publisher cannot give offsets (the documented fallback): every
 * reconnect is a normal one (recovered false), numbers only increase, and within one connection
 * they are contiguous (a gap only where the client knows it reconnected), ending with last.
 */
export function fallbackProblems(r, last) {
  const out = [];
  const recovered = r.conns.slice(1).filter((c) => c.recovered).length;
  if (recovered) out.push(`${r.name}: ${recovered} reconnects were "recovered" although its publisher gives no offsets`);
  for (let i = 1; i < r.nums.length; i++) {
    const a = r.nums[i - 1], b = r.nums[i];
    if (b.k <= a.k) out.push(`${r.name}: ${b.k} after ${a.k}`);
    else if (b.conn === a.conn && b.k !== a.k + 1) out.push(`${r.name}: silent gap ${a.k} -> ${b.k} within one connection`);
  }
  if (!r.nums.length || r.nums[r.nums.length - 1].k !== last) out.push(`${r.name}: last number ${r.nums.length ? r.nums[r.nums.length - 1].k : 'none'}, expected ${last}`);
  return out.slice(0, 5);
}

/** Reconnection times (disconnect -> connect) of the receivers since `since`, in ms. */
export function reconnectTimes(rs, since) {
  const out = [];
  for (const r of rs) {
    for (const d of r.discs) {
      if (d.at < since) continue;
      const c = r.conns.find((x) => x.at >= d.at);
      if (c) out.push({ name: r.name, ms: c.at - d.at, recovered: c.recovered });
    }
  }
  return out;
}

/** "n=N min/median/max ms" of a list of times. */
export function summary(times) {
  if (!times.length) return 'n=0';
  const v = times.map((t) => t.ms).sort((a, b) => a - b);
  return `n=${v.length} min ${v[0]} median ${v[v.length >> 1]} max ${v[v.length - 1]} ms`;
}

/**
 * Starts the daemon `node` (a ServerProcess started by startDaemon, stopped or killed) again with
 * the same arguments, hence the same port and node id, and waits for its "cluster ready".
 */
export async function restartDaemon(h, node, binDir) {
  for (let attempt = 1; ; attempt++) {
    const env = { ...process.env, SIO_CLUSTER_SECRET: CLUSTER_SECRET };
    for (const k of Object.keys(env)) if (k.startsWith('SIO_') && k !== 'SIO_CLUSTER_SECRET' && k !== 'SIO_BIN_DIR') delete env[k];
    const proc = spawn(`${binDir}/siobroker`, node.args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const sp = new ServerProcess(node.name, node.args, proc);
    h.servers.push(sp);
    try {
      await sp.waitListening(node.port, 5000);
      await waitOutput(sp, 'cluster ready', { ms: 8000 });
      return Object.assign(sp, { port: node.port, url: node.url, path: node.path, id: node.id });
    } catch (err) {
      // The port may still be in TIME_WAIT-free use for a moment: retry a few times.
      if (attempt >= 5 || sp.running || !/in use/i.test(sp.stderr)) throw err;
      await sleep(200);
    }
  }
}

/** Counts HAProxy's "Server siobroker/SERVER is STATE" lines so far. */
export function haproxyStates(lb, server, state) {
  return ((lb.stderr + lb.stdout).match(new RegExp(`siobroker/${server} is ${state}`, 'g')) || []).length;
}

/**
 * Waits until HAProxy routes to `server` again after a restart: its health checks (every 2 s,
 * fall 2, rise 2) mark a node DOWN only if it stayed away long enough, so this waits one check
 * interval for a DOWN to show, then, if the node is marked DOWN, for it to be UP again.
 */
export async function waitHaproxyRoutes(lb, server, ms = 15000) {
  await sleep(2500);
  await until(() => haproxyStates(lb, server, 'UP') >= haproxyStates(lb, server, 'DOWN'), ms, `HAProxy to see ${server} UP`, 50);
}

/**
 * HAProxy with deploy/haproxy/haproxy.cfg in front of three nodes, as cluster/lib.mjs's
 * startHaproxy, but with `retry-on conn-failure` only: a GET that a node died before relaying
 * is not retried behind the client's back (the client sees the error and reconnects, which
 * recovery makes lossless), see docs/recovery.md.
 */
export async function startHaproxyNoEmptyRetry(h, nodes, startHaproxy) {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const pathm = await import('node:path');
  const { ROOT } = await import('../cluster/lib.mjs');
  const text = fs.readFileSync(pathm.join(ROOT, 'deploy/haproxy/haproxy.cfg'), 'utf8');
  const changed = text.replace(/retry-on conn-failure empty-response/, 'retry-on conn-failure');
  if (changed === text) throw new Error('deploy/haproxy/haproxy.cfg: retry-on line not found');
  const dir = fs.mkdtempSync(pathm.join(os.tmpdir(), 'sio-recovery-haproxy-'));
  const file = pathm.join(dir, 'haproxy.cfg');
  fs.writeFileSync(file, changed);
  h.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
  return startHaproxy(h, nodes, { cfg: file });
}
