// fdflood: one siobroker node under a descriptor limit, flooded with connections it cannot accept;
// reports its CPU use and log lines while out of descriptors, how established clients fare, and
// how soon a fresh handshake succeeds once the flood is gone. A benchmark, not a test.
//
// usage: node bench/soak/fdflood.mjs [--nofile N] [--flood N] [--clients N] [--seconds S]
//   --nofile N    descriptor limit of the node, soft and hard (1024)
//   --flood N     connections opened and left idle, beyond what the limit allows (3000)
//   --clients N   WebSocket clients connected before the flood, echoing pings (100)
//   --seconds S   how long the flood lasts (20)
// Environment: SIO_BIN_DIR (default build/bin).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const HOST = '127.0.0.1';
const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = process.env.SIO_BIN_DIR || path.resolve(here, '../../build/bin');
const opt = { nofile: 1024, flood: 3000, clients: 100, seconds: 20 };
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, '');
  if (!(k in opt) || !Number.isFinite(Number(process.argv[i + 1]))) {
    console.error(`fdflood: bad argument ${process.argv[i]} (see the header of this file)`);
    process.exit(2);
  }
  opt[k] = Number(process.argv[i + 1]);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cpu = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(x[11]) + Number(x[12])) / 100;
};

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, HOST, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function handshake(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: HOST, port, path: '/socket.io/?EIO=4&transport=polling', agent: false, timeout: 200 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

const port = await freePort();
const node = spawn('prlimit', [`--nofile=${opt.nofile}:${opt.nofile}`, '--', path.join(BIN, 'siobroker'), '--listen', `${HOST}:${port}`, '--max-connections', '1000000', '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'pipe'] });
let log = '';
node.stderr.setEncoding('utf8').on('data', (d) => (log += d));
process.on('exit', () => node.kill('SIGKILL'));
while (!log.includes('listening on')) await sleep(20);

// Established clients: each sends an event every 200 ms and counts the acks of the join it asks.
let acks = 0;
const clients = [];
for (let i = 0; i < opt.clients; i++) {
  const ws = new WebSocket(`ws://${HOST}:${port}/socket.io/?EIO=4&transport=websocket`);
  ws.on('message', (d) => {
    const s = d.toString();
    if (s === '2') ws.send('3');
    else if (s.startsWith('0')) ws.send('40');
    else if (s.startsWith('43')) acks++;
  });
  ws.on('error', () => {});
  clients.push(ws);
}
await sleep(2000);
const ticker = setInterval(() => {
  for (const ws of clients) if (ws.readyState === WebSocket.OPEN) ws.send('421["join","r"]');
}, 200);

const acksBefore = acks;
await sleep(2000);
const rateBefore = (acks - acksBefore) / 2;

const flood = [];
for (let i = 0; i < opt.flood; i++) {
  const s = net.connect(port, HOST);
  s.on('error', () => {});
  flood.push(s);
}
await sleep(1000);
const c0 = cpu(node.pid);
const a0 = acks;
await sleep(opt.seconds * 1000);
const cpuDuring = (cpu(node.pid) - c0) / opt.seconds;
const rateDuring = (acks - a0) / opt.seconds;
const emfileLines = log.split('\n').filter((l) => l.includes('Too many open files')).length;
const okDuring = await handshake(port);

flood.forEach((s) => s.destroy());
const t0 = Date.now();
while (!(await handshake(port))) {
  if (Date.now() - t0 > 10000) break;
  await sleep(20);
}
const recoverMs = Date.now() - t0;
clearInterval(ticker);
clients.forEach((ws) => ws.terminate());

console.log(`fdflood: node under ${opt.nofile} descriptors, ${opt.clients} clients, ${opt.flood} idle connections for ${opt.seconds} s`);
console.log(`node CPU while out of descriptors: ${(cpuDuring * 100).toFixed(1)}% of a core`);
console.log(`EMFILE log lines: ${emfileLines} in ${opt.seconds} s`);
console.log(`established clients' acks/s: ${rateBefore.toFixed(0)} before, ${rateDuring.toFixed(0)} during`);
console.log(`a fresh handshake during the flood: ${okDuring ? 'served' : 'not served (as expected: no descriptor)'}; after: ${recoverMs} ms`);
process.exit(0);
