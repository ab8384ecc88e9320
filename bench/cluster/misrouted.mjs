#!/usr/bin/env node
// Benchmark (not a test): a misrouted polling round trip against a direct one.
//
// Starts a private redis-server and two siobroker nodes A and B on free 127.0.0.1 ports. S
// Engine.IO sessions are opened on A and connect the Socket.IO namespace "/" (rooms policy). One
// round trip = POST an event with an ack id (`42N["join","bench"]`) + the GET that brings the ack
// back. Each session runs round trips back to back for --seconds, either against A (direct: the
// owner) or against B (misrouted: B forwards both requests to A over its keep-alive pool). The
// client keeps its HTTP connections alive, as browsers do. Prints round trips per second and
// latency (p50/p90/p99/max) for both, and the ratio misrouted/direct.
//
//   node bench/cluster/misrouted.mjs [--sessions S] [--seconds T] [--json]
//
// Every process is stopped by PID at the end (also on Ctrl-C).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = process.env.SIO_BIN_DIR || path.resolve(here, '../../build/bin');
const opt = { sessions: 20, seconds: 5, json: false };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--json') opt.json = true;
  else if (a === '--sessions') opt.sessions = Number(process.argv[++i]);
  else if (a === '--seconds') opt.seconds = Number(process.argv[++i]);
  else {
    console.error('usage: misrouted.mjs [--sessions S] [--seconds T] [--json]');
    process.exit(2);
  }
}

const procs = [];
function stopAll() {
  for (const p of procs) {
    try {
      process.kill(p.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
}
process.on('exit', stopAll);
process.on('SIGINT', () => process.exit(130));

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

function start(file, args, readyNeedle, env = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    procs.push(p);
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${file} not ready:\n${out}`)), 10000);
    const onData = (d) => {
      out += d;
      if (process.env.BENCH_LOG) require_log(file, args, d);
      if (out.includes(readyNeedle)) {
        clearTimeout(timer);
        resolve(p);
      }
    };
    p.stdout.on('data', onData);
    p.stderr.on('data', onData);
    p.on('exit', (code) => reject(new Error(`${file} exited (${code}):\n${out}`)));
    if (!readyNeedle)
      setTimeout(() => {
        clearTimeout(timer);
        resolve(p);
      }, 300); // a quiet server (HAProxy -db): running after 300 ms is ready enough
  });
}

/** BENCH_LOG=DIR keeps each server's output in DIR (for a failed run). */
function require_log(file, args, d) {
  const name = `${path.basename(file)}-${args[1] || ''}`.replace(/[^\w.-]/g, '_');
  fs.appendFileSync(path.join(process.env.BENCH_LOG, `${name}.log`), d);
}

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

function request(port, method, p, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: p, agent, headers: body ? { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) } : {} }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (data += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(data) : reject(new Error(`${method} ${res.statusCode} ${data}`))));
    });
    req.on('error', (e) => reject(new Error(`${method} :${port} ${p}: ${e.message}`)));
    if (body) req.write(body);
    req.end();
  });
}

const url = (sid) => `/socket.io/?EIO=4&transport=polling&sid=${sid}`;

async function openSession(port) {
  const open = await request(port, 'GET', '/socket.io/?EIO=4&transport=polling');
  const sid = JSON.parse(open.slice(1)).sid;
  await request(port, 'POST', url(sid), '40');
  const ack = await request(port, 'GET', url(sid));
  if (!ack.startsWith('40')) throw new Error(`no CONNECT reply: ${ack}`);
  return sid;
}

/** Round trips of one session against port until the deadline; returns latencies in ms. */
async function loop(port, sid, deadline) {
  const lat = [];
  for (let id = 1; performance.now() < deadline; id++) {
    const t0 = performance.now();
    await request(port, 'POST', url(sid), `42${id}["join","bench"]`);
    for (;;) {
      const body = await request(port, 'GET', url(sid));
      if (body.includes(`43${id}[`)) break;
      if (body.startsWith('2')) await request(port, 'POST', url(sid), '3'); // ping: answer it
    }
    lat.push(performance.now() - t0);
  }
  return lat;
}

const pct = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

async function phase(name, port, sids) {
  const deadline = performance.now() + opt.seconds * 1000;
  const t0 = performance.now();
  const all = (await Promise.all(sids.map((sid) => loop(port, sid, deadline)))).flat().sort((a, b) => a - b);
  const secs = (performance.now() - t0) / 1000;
  return {
    name,
    roundTrips: all.length,
    perSecond: Math.round(all.length / secs),
    p50: +pct(all, 0.5).toFixed(3),
    p90: +pct(all, 0.9).toFixed(3),
    p99: +pct(all, 0.99).toFixed(3),
    max: +all[all.length - 1].toFixed(3),
  };
}

async function main() {
  const rport = await freePort();
  await start(process.env.SIO_REDIS_SERVER || 'redis-server', ['--port', String(rport), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], 'Ready to accept');
  const redis = `redis://127.0.0.1:${rport}`;
  const env = { SIO_CLUSTER_SECRET: 'bench-cluster-secret-0123456789' };
  const [pa, pb] = [await freePort(), await freePort()];
  for (const [port, id] of [[pa, 'A'], [pb, 'B']])
    await start(path.join(BIN, 'siobroker'), ['--listen', `127.0.0.1:${port}`, '--redis', redis, '--node-id', id, '--log-level', process.env.BENCH_LOG_LEVEL || 'info'], 'cluster ready', env);
  const sids = [];
  for (let i = 0; i < opt.sessions; i++) sids.push(await openSession(pa));
  await phase('warm-up', pb, sids.slice(0, 2)); // B learns the owner of two sids, opens its pool
  // B's first request per sid looks its owner up in Redis: warm every sid once.
  for (const sid of sids) await request(pb, 'POST', url(sid), '42["leave","bench"]');
  // The cost of one extra proxy hop on this machine, for scale: HAProxy (http mode) in front of A.
  let hop = null;
  const hport = await freePort();
  const cfgFile = path.join(os.tmpdir(), `misrouted-haproxy-${process.pid}.cfg`);
  fs.writeFileSync(cfgFile, `defaults\n  mode http\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\nfrontend f\n  bind 127.0.0.1:${hport}\n  default_backend b\nbackend b\n  server a 127.0.0.1:${pa}\n`);
  try {
    await start(process.env.SIO_HAPROXY || 'haproxy', ['-db', '-f', cfgFile], null, {});
  } catch (e) {
    console.error(`haproxy baseline skipped: ${e.message.split('\n')[0]}`);
    hop = undefined;
  }
  const direct = await phase('direct (owner A)', pa, sids);
  const misrouted = await phase('misrouted (via B)', pb, sids);
  if (hop === null) hop = await phase('HAProxy hop to A', hport, sids);
  fs.rmSync(cfgFile, { force: true });
  const ratio = +(misrouted.p50 / direct.p50).toFixed(2);
  const tput = +(direct.perSecond / misrouted.perSecond).toFixed(2);
  const hopRatio = hop ? +(hop.p50 / direct.p50).toFixed(2) : null;
  const result = { machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model }, sessions: opt.sessions, seconds: opt.seconds, direct, misrouted, haproxyHop: hop, latencyRatioP50: ratio, throughputRatio: tput, haproxyHopRatioP50: hopRatio };
  if (opt.json) {
    console.log(JSON.stringify(result, null, 2));
  } else {
    console.log(`polling round trip (POST event with ack + GET of the ack), ${opt.sessions} sessions, ${opt.seconds} s each`);
    console.log('case                 round trips/s   p50 ms   p90 ms   p99 ms   max ms');
    for (const r of [direct, misrouted, hop].filter(Boolean))
      console.log(`${r.name.padEnd(20)} ${String(r.perSecond).padStart(13)} ${String(r.p50).padStart(8)} ${String(r.p90).padStart(8)} ${String(r.p99).padStart(8)} ${String(r.max).padStart(8)}`);
    console.log(`misrouted/direct: p50 latency x${ratio}, throughput direct/misrouted x${tput} (target: at most x1.5)`);
    if (hop) console.log(`for scale, one HAProxy hop in front of A: p50 latency x${hopRatio}`);
  }
  agent.destroy();
}

main()
  .then(() => process.exit(0))
  .catch((e) => {
    console.error(e.stack || String(e));
    process.exit(1);
  });
