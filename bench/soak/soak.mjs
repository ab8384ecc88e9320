#!/usr/bin/env node
// soak: one siobroker node with --redis under slow consumers, fast clients and a publisher, with a
// Redis stall in the middle; reports the node's peak RSS against its documented bound
// (docs/limits.md) and the fast clients' delivery rate. A benchmark, not a test: not in ctest.
//
// usage: node bench/soak/soak.mjs [--slow N] [--fast N] [--rate R] [--size BYTES] [--duration S]
//                                 [--stall-at S] [--stall-for S] [--max-session-queue BYTES]
//                                 [--max-memory BYTES] [--redis-max-output BYTES] [--json]
//   --slow N          WebSocket clients in room "all" that stop reading once joined (2000)
//   --fast N          WebSocket clients in room "all" that read everything (20)
//   --rate R          events/s the publisher emits to room "all" (1000)
//   --size BYTES      padding per event (1000)
//   --duration S      seconds of publishing (60)
//   --stall-at S      SIGSTOP redis-server this many seconds in (20; 0: no stall)
//   --stall-for S     ... and SIGCONT it after this long (10)
//   --max-session-queue, --max-memory, --redis-max-output: passed to siobroker (16M, 256M, 16M)
//   --json            print one JSON document instead of the table
// Environment: SIO_BIN_DIR (default build/bin), REDIS_SERVER (default redis-server).
// Every process is started on a free 127.0.0.1 port and stopped by PID; Ctrl-C cleans up.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = process.env.SIO_BIN_DIR || path.resolve(here, '../../build/bin');
const REDIS_SERVER = process.env.REDIS_SERVER || 'redis-server';
const HOST = '127.0.0.1';

const opt = {
  slow: 2000,
  fast: 20,
  rate: 1000,
  size: 1000,
  duration: 60,
  'stall-at': 20,
  'stall-for': 10,
  'max-session-queue': '16M',
  'max-memory': '256M',
  'redis-max-output': '16M',
  json: false,
};
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--json') opt.json = true;
  else if (a === '-h' || a === '--help') {
    process.stdout.write(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 19).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
    process.exit(0);
  } else if (a.startsWith('--') && a.slice(2) in opt && i + 1 < process.argv.length) {
    const k = a.slice(2);
    opt[k] = typeof opt[k] === 'number' ? Number(process.argv[++i]) : process.argv[++i];
    if (typeof opt[k] === 'number' && !Number.isFinite(opt[k])) throw new Error(`${a} needs a number`);
  } else {
    console.error(`soak: unknown argument ${a} (--help)`);
    process.exit(2);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = new Set();
function stopAll() {
  for (const c of children) {
    try {
      process.kill(c.pid, 'SIGCONT');
      process.kill(c.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}
process.on('exit', stopAll);
process.on('SIGINT', () => process.exit(130));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, HOST, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Spawns a process, captures its output (capped), resolves once `ready` appears in it. */
async function start(file, args, ready, ms = 10000) {
  const p = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(p);
  p.on('exit', () => children.delete(p));
  p.out = '';
  const onData = (d) => {
    if (p.out.length < 64 * 1024 * 1024) p.out += d;
  };
  p.stdout.setEncoding('utf8').on('data', onData);
  p.stderr.setEncoding('utf8').on('data', onData);
  const deadline = Date.now() + ms;
  while (!p.out.includes(ready)) {
    if (p.exitCode !== null || Date.now() > deadline) throw new Error(`${file} did not start:\n${p.out.slice(-2000)}`);
    await sleep(20);
  }
  return p;
}

function rss(pid) {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

function parseSize(s) {
  const m = /^(\d+)([KMGT]?)(i?B)?$/i.exec(String(s));
  if (!m) throw new Error(`bad size ${s}`);
  return Number(m[1]) * 1024 ** ' KMGT'.indexOf((m[2] || ' ').toUpperCase());
}

/** A Socket.IO client on a raw WebSocket that joins room "all". */
function client(port, { onEvent } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${HOST}:${port}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: false });
    const c = { ws, closed: false };
    const timer = setTimeout(() => reject(new Error('client did not join in 20 s')), 20000);
    ws.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    ws.on('close', () => {
      c.closed = true;
    });
    ws.on('message', (data, binary) => {
      if (binary) return;
      const s = data.toString();
      if (s === '2') ws.send('3');
      else if (s[0] === '0') ws.send('40');
      else if (s.startsWith('40{')) ws.send('421["join","all"]');
      else if (s === '431[{"ok":true}]') {
        clearTimeout(timer);
        resolve(c);
      } else if (onEvent && s.startsWith('42["e"')) onEvent(s);
    });
  });
}

/** Opens n clients, at most 100 connecting at a time. */
async function clients(port, n, opts) {
  const out = [];
  for (let i = 0; i < n; i += 100) out.push(...(await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => client(port, opts)))));
  return out;
}

const count = (text, needle) => text.split(needle).length - 1;

async function main() {
  const redisPort = await freePort();
  const redis = await start(REDIS_SERVER, ['--port', String(redisPort), '--bind', HOST, '--save', '', '--appendonly', 'no'], 'Ready to accept connections');
  const port = await freePort();
  // info: "cluster ready" is an info line (per-connection lines are few and rate-limited).
  const node = await start(
    path.join(BIN, 'siobroker'),
    ['--listen', `${HOST}:${port}`, '--redis', `redis://${HOST}:${redisPort}`, '--insecure-cluster', '--log-level', 'info',
      '--max-session-queue', opt['max-session-queue'], '--max-memory', opt['max-memory'], '--redis-max-output', opt['redis-max-output']],
    'cluster ready',
  );
  const idle = rss(node.pid);
  console.error(`soak: siobroker pid ${node.pid} on port ${port}, redis-server pid ${redis.pid}`);

  const fastStats = [];
  const fast = await clients(port, opt.fast, {
    onEvent: (s) => {
      fastStats.count = (fastStats.count || 0) + 1;
    },
  });
  const slow = await clients(port, opt.slow);
  for (const c of slow) c.ws._socket.pause();
  const pub = await client(port);
  await sleep(1000);
  const base = rss(node.pid);

  // Publish at the rate, sample RSS and the fast clients' deliveries every second.
  const pad = 'x'.repeat(opt.size);
  let seq = 0;
  const perTick = opt.rate / 100;
  let carry = 0;
  const t0 = Date.now();
  const pubTimer = setInterval(() => {
    carry += perTick;
    for (; carry >= 1; carry--) pub.ws.send(`42["e",{"s":${seq++},"p":"${pad}"}]`);
  }, 10);
  let peak = base;
  const series = [];
  let lastCount = 0;
  let stalled = false;
  const stallAt = opt['stall-at'] * 1000, stallFor = opt['stall-for'] * 1000;
  for (let s = 1; s <= opt.duration; s++) {
    const until = t0 + s * 1000;
    while (Date.now() < until) {
      peak = Math.max(peak, rss(node.pid));
      if (stallAt && !stalled && Date.now() - t0 >= stallAt && Date.now() - t0 < stallAt + stallFor) {
        process.kill(redis.pid, 'SIGSTOP');
        stalled = true;
      }
      if (stalled && Date.now() - t0 >= stallAt + stallFor) {
        process.kill(redis.pid, 'SIGCONT');
        stalled = false;
      }
      await sleep(100);
    }
    const c = fastStats.count || 0;
    const live = fast.filter((f) => !f.closed).length;
    series.push({ s, rss: rss(node.pid), deliveries: c - lastCount, expected: Math.round(opt.rate * live), stall: stallAt && s * 1000 > stallAt && s * 1000 <= stallAt + stallFor });
    lastCount = c;
  }
  clearInterval(pubTimer);
  if (stalled) process.kill(redis.pid, 'SIGCONT');
  await sleep(3000);
  const received = fastStats.count || 0;
  const log = node.out;
  const steady = series.filter((x) => !x.stall && x.s > 2);
  const during = series.filter((x) => x.stall);
  const rate = (xs) => (xs.length ? Math.round(xs.reduce((a, x) => a + x.deliveries, 0) / xs.length) : 0);
  const ratio = (xs) => {
    const e = xs.reduce((a, x) => a + x.expected, 0);
    return e ? xs.reduce((a, x) => a + x.deliveries, 0) / e : 0;
  };
  const bound = parseSize(opt['max-memory']) + parseSize(opt['redis-max-output']) + 1024 * 1024;
  const result = {
    options: opt,
    events: seq,
    rss: { idle, connected: base, peak, growth: peak - base },
    documentedBound: { queues: parseSize(opt['max-memory']), redisOutput: parseSize(opt['redis-max-output']) + 1024 * 1024, total: bound, perSlowWebSocketTransport: 256 * 1024 },
    fast: { clients: opt.fast, received, lost: seq * opt.fast - received, stillConnected: fast.filter((f) => !f.closed).length, deliveriesPerSecond: rate(steady), duringStall: rate(during), deliveredRatio: ratio(steady), deliveredRatioDuringStall: ratio(during), offeredPerSecond: opt.rate * opt.fast },
    log: {
      slowConsumerWarnings: count(log, 'slow consumer: holds'),
      sessionsClosedSlow: count(log, 'closed: slow consumer'),
      budgetShedLines: count(log, 'memory budget: sessions held'),
      sessionsShedSuppressed: count(log, 'suppressed'),
      redisStalled: count(log, 'stalled: no answer to PING'),
      redisRecovered: count(log, 'answers again after'),
      bytes: log.length,
      redisLines: log.split('\n').filter((l) => /adapter  redis|cluster (not )?ready/.test(l)),
    },
    series,
  };
  for (const c of [...fast, ...slow, pub]) c.ws.terminate();
  process.kill(node.pid, 'SIGTERM');
  await sleep(500);
  if (opt.json) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  const mib = (b) => (b / 1024 / 1024).toFixed(1);
  console.log(`soak: ${opt.slow} slow + ${opt.fast} fast WebSocket clients, ${opt.rate} events/s of ${opt.size} B for ${opt.duration} s, Redis stalled ${opt['stall-at']}..${opt['stall-at'] + opt['stall-for']} s`);
  console.log(`node RSS: idle ${mib(idle)} MiB, all connected ${mib(base)} MiB, peak ${mib(peak)} MiB (growth ${mib(peak - base)} MiB)`);
  console.log(`documented bound of the growth: --max-memory ${mib(parseSize(opt['max-memory']))} MiB + Redis output ${mib(result.documentedBound.redisOutput)} MiB = ${mib(bound)} MiB (what the transport holds for a slow WebSocket is counted in its session)`);
  console.log(`fast clients: ${result.fast.deliveriesPerSecond} deliveries/s outside the stall (${(100 * result.fast.deliveredRatio).toFixed(1)}% of offered), ${result.fast.duringStall} during it (${(100 * result.fast.deliveredRatioDuringStall).toFixed(1)}%); ${result.fast.stillConnected}/${opt.fast} still connected`);
  console.log(`fast clients received ${received} of ${seq * opt.fast} events (${seq * opt.fast - received} missing)`);
  console.log(`sessions closed as slow consumers: ${result.log.sessionsClosedSlow} of ${opt.slow}`);
  console.log(`log: ${result.log.slowConsumerWarnings} slow-consumer warnings, ${result.log.budgetShedLines} budget lines, ${result.log.redisStalled} stall / ${result.log.redisRecovered} recovery lines, ${result.log.bytes} bytes`);
  for (const l of result.log.redisLines) console.log(`  ${l}`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`soak: ${e.stack || e}`);
    process.exit(1);
  },
);
