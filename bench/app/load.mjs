// Closed-loop load for bench/app/run.sh: C clients, each with one request outstanding at a time,
// for D seconds after a warm-up; prints one JSON line {acks_per_s, p50_ms, p99_ms, n}.
//
//   node load.mjs sio  URL NSP  C D     socket.io-client (websocket), emitWithAck("ping", i)
//   node load.mjs http URL SECRET C D   the same call as the node sends, POSTed and signed
import crypto from 'node:crypto';
import http from 'node:http';
import { io } from 'socket.io-client';

const [mode, url, third, cArg, dArg] = process.argv.slice(2);
const C = Number(cArg || 32);
const D = Number(dArg || 10) * 1000;
const WARMUP = 2000;

const lat = [];
let done = 0;
let measuring = false;

function report(elapsed) {
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  console.log(JSON.stringify({ mode, clients: C, acks_per_s: Math.round(done / (elapsed / 1000)), p50_ms: +q(0.5).toFixed(2), p99_ms: +q(0.99).toFixed(2), n: done }));
}

async function runLoop(once) {
  const stopAt = Date.now() + WARMUP + D;
  setTimeout(() => (measuring = true), WARMUP);
  let t0;
  setTimeout(() => (t0 = Date.now()), WARMUP);
  await Promise.all(
    Array.from({ length: C }, async (_, k) => {
      let i = 0;
      while (Date.now() < stopAt) {
        const s = process.hrtime.bigint();
        await once(k, i++);
        if (measuring) {
          lat.push(Number(process.hrtime.bigint() - s) / 1e6);
          done++;
        }
      }
    }),
  );
  report(Date.now() - t0);
}

if (mode === 'sio') {
  const socks = await Promise.all(
    Array.from({ length: C }, () => new Promise((resolve, reject) => {
      const s = io(url + third, { transports: ['websocket'], reconnection: false, forceNew: true });
      s.once('connect', () => resolve(s));
      s.once('connect_error', reject);
    })),
  );
  await runLoop((k, i) => socks[k].timeout(30000).emitWithAck('ping', i));
  for (const s of socks) s.disconnect();
} else {
  const secret = third;
  const agent = new http.Agent({ keepAlive: true, maxSockets: C });
  const u = new URL(url);
  await runLoop(
    (k, i) =>
      new Promise((resolve, reject) => {
        const body = JSON.stringify({ v: 1, node: 'bench', calls: [{ type: 'event', nsp: '/bench', sid: `s${k}`, event: 'ping', args: [i], ack: true, data: null }] });
        const ts = String(Date.now());
        const sig = crypto.createHmac('sha256', secret).update(`${ts}\n${body}`).digest('hex');
        const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-siobroker-ts': ts, 'x-siobroker-sig': sig } }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
        });
        req.on('error', reject);
        req.end(body);
      }),
  );
  agent.destroy();
}
process.exit(0);
