// Observability test helpers: scraping /metrics, parsing the text format, promtool, and a private
// Prometheus (Debian's prometheus package) scraping live nodes, queried through its HTTP API.
//
// Every process is started on a free 127.0.0.1 port and stopped by PID when its test ends.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HOST, ServerProcess, freePort, httpRequest, sleep, withTimeout } from '../lib/harness.mjs';

const PROMETHEUS = process.env.SIO_PROMETHEUS || 'prometheus';
const PROMTOOL = process.env.SIO_PROMTOOL || 'promtool';

/** GET /metrics on port: {status, type, text}. */
export async function scrape(port) {
  const res = await httpRequest(port, { path: '/metrics' }, 5000);
  return { status: res.status, type: res.headers['content-type'], text: res.body };
}

/**
 * Parses the text format into a Map "name{labels}" -> value, labels sorted by name as
 * `k="v",...`; also each sample under its bare name when it has no labels.
 */
export function parseMetrics(text) {
  const out = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable sample line: ${line}`);
    const labels = [];
    if (m[3]) for (const lm of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels.push([lm[1], lm[2]]);
    labels.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    const key = labels.length ? `${m[1]}{${labels.map(([k, v]) => `${k}="${v}"`).join(',')}}` : m[1];
    out.set(key, Number(m[4]));
  }
  return out;
}

/** The value of series `name` with labels (an object), or undefined. */
export function value(map, name, labels = {}) {
  const ls = Object.entries(labels).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  return map.get(ls.length ? `${name}{${ls.map(([k, v]) => `${k}="${v}"`).join(',')}}` : name);
}

/** Runs `promtool check metrics` on text; resolves {code, output}. */
export function promtoolCheck(text) {
  return withTimeout(
    new Promise((resolve, reject) => {
      const p = spawn(PROMTOOL, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let output = '';
      p.stdout.on('data', (d) => (output += d));
      p.stderr.on('data', (d) => (output += d));
      p.on('error', reject);
      p.on('exit', (code) => resolve({ code, output }));
      p.stdin.end(text);
    }),
    20000,
    'promtool check metrics',
  );
}

/**
 * Starts Prometheus scraping `targets` (["127.0.0.1:port", ...]) every second, with its storage
 * in a temporary directory removed at test end. Returns the process with .port.
 */
export async function startPrometheus(h, targets) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sio-prom-'));
  h.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
  const config = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 900ms',
      'scrape_configs:',
      '  - job_name: siobroker',
      '    static_configs:',
      `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
      '',
    ].join('\n'),
  );
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const args = [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=${HOST}:${port}`,
      '--log.level=warn',
    ];
    const proc = spawn(PROMETHEUS, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    process.on('exit', () => {
      try {
        process.kill(proc.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    });
    const sp = new ServerProcess('prometheus', args, proc);
    sp.port = port;
    h.servers.push(sp);
    const deadline = Date.now() + 20000;
    for (;;) {
      const res = await httpRequest(port, { path: '/-/ready' }).catch(() => ({ status: 0 }));
      if (res.status === 200) return sp;
      if (!sp.running || Date.now() > deadline) break;
      await sleep(100);
    }
    if (attempt >= 3 || sp.running || !/address already in use/i.test(sp.stderr)) {
      throw new Error(`prometheus on ${port} not ready\n${sp.diagnostics()}`);
    }
    h.servers.splice(h.servers.indexOf(sp), 1);
  }
}

/** Runs an instant PromQL query; resolves the result vector [{metric, value: Number}]. */
export async function promQuery(prom, q) {
  const res = await httpRequest(prom.port, { path: `/api/v1/query?query=${encodeURIComponent(q)}` }, 5000);
  if (res.status !== 200) throw new Error(`query ${q}: ${res.status} ${res.body}`);
  const body = JSON.parse(res.body);
  if (body.status !== 'success') throw new Error(`query ${q}: ${res.body}`);
  return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}

// ---- admin UI ---------------------------------------------------------------------------------

/** A bcrypt hash (cost 4, made with python3-bcrypt) of ADMIN_PASSWORD. */
export const ADMIN_USER = 'admin';
export const ADMIN_PASSWORD = 'secret';
export const ADMIN_HASH = '$2b$04$TzpztdYE2PA7XU0CQSQ1W.OqGp6d2E13EOLns78u1BMfpEOB5UCzm';
/** The daemon flags of an admin UI with those credentials. */
export const ADMIN_ARGS = ['--admin', '--admin-user', ADMIN_USER, '--admin-password-hash', ADMIN_HASH];

const PEER = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../fixtures/node_admin_peer.mjs');

/** Starts the Node admin peer (socket.io + redis-adapter + instrument()) on redis. */
export async function startNodeAdminPeer(h, redis, { serverId = 'node-peer', user = ADMIN_USER, hash = ADMIN_HASH } = {}) {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const args = [PEER, '--port', String(port), '--redis', redis.url, '--server-id', serverId];
    if (user) args.push('--user', user, '--hash', hash);
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    process.on('exit', () => {
      try {
        process.kill(proc.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    });
    const sp = new ServerProcess('node_admin_peer', args, proc);
    sp.port = port;
    h.servers.push(sp);
    const deadline = Date.now() + 10000;
    while (sp.running && !sp.stderr.includes('cluster ready') && Date.now() < deadline) await sleep(25);
    if (sp.stderr.includes('cluster ready')) return Object.assign(sp, { url: `http://${HOST}:${port}`, path: '/socket.io/' });
    if (attempt >= 3 || sp.running || !/EADDRINUSE/.test(sp.stderr)) throw new Error(`node_admin_peer not ready\n${sp.diagnostics()}`);
    h.servers.splice(h.servers.indexOf(sp), 1);
  }
}
