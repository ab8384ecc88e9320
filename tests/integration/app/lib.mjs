// App-bridge test helpers: the Django project of tests/integration/app/djproj under gunicorn,
// uvicorn or daphne, siobroker nodes serving /app with the app policy, a scriptable stand-in app
// (a Node HTTP server) for the failure cases, and socket.io-client connections.
//
// Every process is started on a free 127.0.0.1 port and stopped by PID when its test ends.

import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';
import { HOST, ServerProcess, freePort, httpRequest, sleep, withTimeout } from '../lib/harness.mjs';

export { io };

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '../../..');
export const PYTHON = process.env.PYTHON || '/usr/bin/python3';
export const APP_SECRET = 'app-bridge-tests-secret-0123456789';

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

function spawnTracked(h, name, file, args, env) {
  const base = { ...process.env };
  for (const k of Object.keys(base)) if (k.startsWith('SIO_') && k !== 'SIO_BIN_DIR') delete base[k];
  const proc = spawn(file, args, { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  const sp = new ServerProcess(name, args, proc);
  h.servers.push(sp);
  return sp;
}

/** Environment of the Django project: where it is, its database, secret and Redis. */
function djangoEnv({ db, secret = APP_SECRET, redisUrl } = {}) {
  return {
    PYTHONPATH: [here, path.join(ROOT, 'clients/python')].join(':'),
    DJANGO_SETTINGS_MODULE: 'djproj.settings',
    SIO_TEST_DB: db,
    SIO_TEST_APP_SECRET: secret ?? '',
    SIO_TEST_REDIS_URL: redisUrl || 'redis://127.0.0.1:1/0',
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHONWARNINGS: 'ignore::DeprecationWarning',
  };
}

/** A fresh SQLite database with Django's tables (auth, sessions), in a temp dir removed at exit. */
export function makeDatabase(h) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sio-app-'));
  h.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
  const db = path.join(dir, 'db.sqlite3');
  const r = spawnSync(PYTHON, ['-m', 'django', 'migrate', '--noinput', '-v', '0'], {
    env: { ...process.env, ...djangoEnv({ db }) },
    encoding: 'utf8',
    timeout: 60000,
  });
  if (r.status !== 0) throw new Error(`django migrate failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return db;
}

/**
 * Starts the test project under `server` ('gunicorn', 'uvicorn' or 'daphne') on a free port (or
 * `port`) and waits until /health/ answers. Returns the process with .port and .url.
 */
export async function startDjango(h, { server = 'gunicorn', db, secret, redisUrl, workers = 2, port } = {}) {
  const p = port ?? (await freePort());
  let file;
  let args;
  if (server === 'gunicorn') {
    file = 'gunicorn';
    args = ['--bind', `${HOST}:${p}`, '--workers', String(workers), '--chdir', here, '--access-logfile', '-', 'djproj.wsgi'];
  } else if (server === 'uvicorn') {
    file = PYTHON;
    args = ['-m', 'uvicorn', '--host', HOST, '--port', String(p), '--workers', String(workers), '--app-dir', here, 'djproj.asgi:application'];
  } else {
    file = 'daphne';
    args = ['-b', HOST, '-p', String(p), 'djproj.asgi:application'];
  }
  const sp = spawnTracked(h, `django-${server}`, file, args, djangoEnv({ db, secret, redisUrl }));
  sp.port = p;
  sp.url = `http://${HOST}:${p}`;
  for (let tries = 0; ; tries++) {
    if (!sp.running) throw new Error(`${server} exited before answering\n${sp.diagnostics()}`);
    const res = await httpRequest(p, { path: '/health/' }).catch(() => ({ status: 0 }));
    if (res.status === 200) return sp;
    if (tries > 300) throw new Error(`${server} does not answer /health/ on ${p}\n${sp.diagnostics()}`);
    await sleep(50);
  }
}

/** Logs in as `user` on the Django app; returns the Cookie header value of its session. */
export async function loginCookie(django, user) {
  const res = await httpRequest(django.port, { path: `/login/?u=${encodeURIComponent(user)}` }, 10000);
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.body}`);
  return `sessionid=${JSON.parse(res.body).sessionid}`;
}

/**
 * A siobroker node serving /app through the app at `appUrl` (and / with the rooms policy).
 * `args`: extra flags. Returns the ServerProcess with .url.
 */
export async function startNode(h, { appUrl, secret = APP_SECRET, args = [], logLevel = 'info' } = {}) {
  const sp = await h.daemon({
    args: ['--namespace', '/app:app', '--namespace', '/:rooms', '--log-level', logLevel, '--app-url', appUrl, ...args],
    env: secret ? { SIO_APP_SECRET: secret } : { SIO_INSECURE_APP: '1' },
  });
  sp.url = `http://${HOST}:${sp.port}`;
  return sp;
}

/** Connects a socket.io-client to nsp (default /app) and waits for the CONNECT (bounded). */
export async function connect(h, url, { nsp = '/app', auth, headers, transports = ['websocket'], reconnection = false, ms = 10000, extra = {} } = {}) {
  const s = io(url + nsp, { transports, auth, extraHeaders: headers, reconnection, forceNew: true, ...extra });
  h.defer(() => s.disconnect());
  await withTimeout(
    new Promise((resolve, reject) => {
      s.once('connect', resolve);
      s.once('connect_error', (e) => reject(new Error(`connect_error: ${e.message}`)));
    }),
    ms,
    `connect to ${url}${nsp}`,
  );
  return s;
}

/** Resolves with the connect_error the socket gets (bounded). */
export function connectError(h, url, { nsp = '/app', auth, headers, transports = ['websocket'], ms = 10000 } = {}) {
  const s = io(url + nsp, { transports, auth, extraHeaders: headers, reconnection: false, forceNew: true });
  h.defer(() => s.disconnect());
  return withTimeout(
    new Promise((resolve, reject) => {
      s.once('connect', () => reject(new Error('connected, expected connect_error')));
      s.once('connect_error', resolve);
    }),
    ms,
    'connect_error',
  );
}

/** The next `event` the socket receives (bounded), as its argument list. */
export function next(s, event, ms = 10000) {
  return withTimeout(new Promise((resolve) => s.once(event, (...a) => resolve(a))), ms, `"${event}" on ${s.nsp}`);
}

/** emitWithAck with a bound. */
export function ask(s, event, ...args) {
  return s.timeout(10000).emitWithAck(event, ...args);
}

/**
 * A stand-in app: `handler(calls, req)` returns {status, body} or the answers array (or a
 * promise of either, or never resolves). Checks the signature when `secret` is given and records
 * every call in .calls. Returns {url, calls, close()}.
 */
export async function fakeApp(h, handler, { secret = APP_SECRET } = {}) {
  const calls = [];
  const posts = [];
  const srv = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      if (secret) {
        const ts = req.headers['x-siobroker-ts'];
        const want = crypto.createHmac('sha256', secret).update(`${ts}\n`).update(body).digest('hex');
        if (req.headers['x-siobroker-sig'] !== want) {
          res.writeHead(403).end('bad signature');
          return;
        }
      }
      const payload = JSON.parse(body.toString('utf8'));
      posts.push(payload);
      calls.push(...payload.calls);
      let out;
      try {
        out = await handler(payload.calls, req);
      } catch (e) {
        res.writeHead(500).end(String(e));
        return;
      }
      if (out === undefined) return; // never answers
      if (Array.isArray(out)) out = { status: 200, body: JSON.stringify({ answers: out }) };
      res.writeHead(out.status, { 'content-type': 'application/json' }).end(out.body);
    });
  });
  await new Promise((resolve) => srv.listen(0, HOST, resolve));
  h.defer(() => {
    srv.closeAllConnections?.();
    return new Promise((resolve) => srv.close(resolve));
  });
  return { url: `http://${HOST}:${srv.address().port}/app-calls/`, calls, posts, server: srv };
}

/** Emits with an ack (bounded) and resolves with every argument of the ack. */
export function askAll(s, event, ...args) {
  return new Promise((resolve, reject) => s.timeout(10000).emit(event, ...args, (err, ...res) => (err ? reject(err) : resolve(res))));
}

/** Runs tests/integration/app/<script> with Debian's Python (bounded); resolves {code, out}. */
export function runPython(script, args) {
  return withTimeout(
    new Promise((resolve) => {
      const p = spawn(PYTHON, [path.join(here, script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.add(p);
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (out += d));
      p.on('exit', (code) => {
        children.delete(p);
        resolve({ code, out });
      });
    }),
    30000,
    script,
  );
}
