// Integration-test harness: spawns the real binaries on free 127.0.0.1 ports and talks raw HTTP/WebSocket to them.
//
// Everything here is bounded in time: every wait goes through withTimeout(), every spawned
// process is stopped (SIGTERM, then SIGKILL after 3 s) when its test ends, and any child still
// alive when the test process exits is SIGKILLed. Only 127.0.0.1 is ever used.

import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test as nodeTest } from 'node:test';
import WebSocket from 'ws';

export { WebSocket };

export const HOST = '127.0.0.1';
const here = path.dirname(fileURLToPath(import.meta.url));
/** Directory holding echo-server and siobroker (ctest sets SIO_BIN_DIR). */
export const BIN_DIR = process.env.SIO_BIN_DIR || path.resolve(here, '../../../build/bin');
/** Log level passed to echo-server so that a failing test can show a packet trace ('' = none). */
const ECHO_LOG_LEVEL = process.env.SIO_TEST_LOG_LEVEL ?? 'debug';
/** Cap on captured output per stream, so a chatty server cannot exhaust memory. */
const MAX_CAPTURE = 4 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Time helpers
// ---------------------------------------------------------------------------------------------

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Resolves or rejects like `promise`, but rejects with "timed out after MS ms waiting for WHAT"
 * if it has not settled within `ms`. The timer never keeps the process alive.
 */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([Promise.resolve(promise), timeout]).finally(() => clearTimeout(timer));
}

/**
 * Calls `fn` until it stops throwing, for at most `ms`. Rethrows the last error, prefixed with
 * `what`, if time runs out. Use only for "must happen by time T" conditions.
 */
export async function eventually(fn, ms, what, intervalMs = 25) {
  const deadline = Date.now() + ms;
  let lastErr;
  for (;;) {
    try {
      return await withTimeout(fn(), Math.max(50, deadline - Date.now()), what);
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() >= deadline) break;
    await sleep(intervalMs);
  }
  lastErr.message = `${what}: still failing after ${ms} ms: ${lastErr.message}`;
  throw lastErr;
}

/** Resolves with the first emission of `event` on `emitter` (bounded). */
export function once(emitter, event, ms, what) {
  let handler;
  const p = new Promise((resolve) => {
    handler = (...args) => resolve(args);
    emitter.once(event, handler);
  });
  return withTimeout(p, ms, what ?? `event '${event}'`).finally(() => emitter.off?.(event, handler));
}

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

/** Every child started by this file, so the exit hook can kill leftovers. */
const live = new Set();
process.on('exit', () => {
  for (const p of live) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

/** Binds port 0 on 127.0.0.1, reads the port the kernel chose, closes, returns it. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** A spawned binary with its captured output and its exit status. */
export class ServerProcess {
  constructor(name, args, proc) {
    this.name = name;
    this.args = args;
    this.proc = proc;
    this.pid = proc.pid;
    this.stdout = '';
    this.stderr = '';
    this.port = undefined;
    this.exitStatus = undefined; // {code, signal} once exited
    this._lineWaiters = [];
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        this.exitStatus = { code, signal };
        live.delete(proc);
        resolve(this.exitStatus);
      });
    });
    this.spawnError = new Promise((resolve) => proc.on('error', resolve));
    proc.stdout.setEncoding('utf8');
    proc.stderr.setEncoding('utf8');
    proc.stdout.on('data', (d) => {
      if (this.stdout.length < MAX_CAPTURE) this.stdout += d;
    });
    proc.stderr.on('data', (d) => {
      if (this.stderr.length < MAX_CAPTURE) this.stderr += d;
      for (const w of this._lineWaiters) w();
    });
  }

  get running() {
    return this.exitStatus === undefined;
  }

  /** Waits (bounded) until stderr contains `listening on 127.0.0.1:PORT`. */
  async waitListening(port, ms = 5000) {
    const needle = `listening on ${HOST}:${port}`;
    const ready = new Promise((resolve, reject) => {
      const check = () => {
        if (this.stderr.includes(needle)) resolve();
      };
      this._lineWaiters.push(check);
      check();
      this.exited.then((st) =>
        reject(new Error(`${this.name} exited (code ${st.code}, signal ${st.signal}) before printing '${needle}'`)),
      );
      this.spawnError.then((err) => reject(new Error(`cannot spawn ${this.name}: ${err.message}`)));
    });
    try {
      await withTimeout(ready, ms, `'${needle}' on ${this.name}'s stderr`);
    } finally {
      this._lineWaiters = [];
    }
  }

  /** Sends `signal` to the process by PID (no-op if it has exited). */
  kill(signal) {
    if (!this.running) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      /* raced with exit */
    }
  }

  /** SIGTERM, then SIGKILL if still alive after `graceMs`. Resolves with the exit status. */
  async stop(graceMs = 3000) {
    if (this.running) {
      this.kill('SIGTERM');
      try {
        await withTimeout(this.exited, graceMs, `${this.name} to exit after SIGTERM`);
      } catch {
        this.kill('SIGKILL');
        await withTimeout(this.exited, 3000, `${this.name} to exit after SIGKILL`).catch(() => {});
      }
    }
    return this.exitStatus;
  }

  /** Human-readable dump for failure reports. */
  diagnostics() {
    const st = this.exitStatus ? `exited code=${this.exitStatus.code} signal=${this.exitStatus.signal}` : 'running';
    const tail = (s) => (s.length > 20000 ? `[... ${s.length - 20000} bytes cut ...]\n${s.slice(-20000)}` : s);
    return (
      `--- ${this.name} ${this.args.join(' ')} (pid ${this.pid}, ${st}) ---\n` +
      `--- stderr ---\n${tail(this.stderr)}\n` +
      (this.stdout ? `--- stdout ---\n${tail(this.stdout)}\n` : '')
    );
  }
}

/**
 * Spawns BIN_DIR/<bin> with `args` and extra `env` (merged into process.env unless
 * `cleanEnv`), without waiting for readiness. The caller must stop it.
 */
export function spawnBinary(bin, args = [], { env = {}, cleanEnv = false, nofile } = {}) {
  let file = path.join(BIN_DIR, bin);
  // `nofile` runs the binary under a descriptor limit (soft and hard): prlimit execs it, so the
  // PID is the binary's.
  if (nofile) {
    args = [`--nofile=${nofile}:${nofile}`, '--', file, ...args];
    file = 'prlimit';
  }
  const baseEnv = cleanEnv ? { PATH: process.env.PATH } : { ...process.env };
  // Never let the runner's own SIO_* settings leak into a server under test.
  if (!cleanEnv) for (const k of Object.keys(baseEnv)) if (k.startsWith('SIO_') && k !== 'SIO_BIN_DIR') delete baseEnv[k];
  const proc = spawn(file, args, { env: { ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  return new ServerProcess(bin, args, proc);
}

/** Runs a binary to completion (bounded) and returns {code, signal, stdout, stderr}. */
export async function runBinary(bin, args = [], { env = {}, timeoutMs = 5000 } = {}) {
  const sp = spawnBinary(bin, args, { env });
  try {
    const st = await withTimeout(
      Promise.race([sp.exited, sp.spawnError.then((e) => Promise.reject(e))]),
      timeoutMs,
      `${bin} ${args.join(' ')} to exit`,
    );
    return { ...st, stdout: sp.stdout, stderr: sp.stderr, proc: sp };
  } finally {
    await sp.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Test wrapper: per-test context, cleanup in t.after, server output attached to failures
// ---------------------------------------------------------------------------------------------

/** Per-test context handed to every itest() body. */
export class Ctx {
  constructor(t) {
    this.t = t;
    this.servers = [];
    this.closers = [];
    t.after(() => this.cleanup());
  }

  /** Registers `fn` to run when the test ends (before servers are stopped). */
  defer(fn) {
    this.closers.push(fn);
  }

  async cleanup() {
    const closers = this.closers.splice(0).reverse();
    for (const fn of closers) {
      try {
        await withTimeout(Promise.resolve().then(fn), 2000, 'test cleanup');
      } catch {
        /* best effort */
      }
    }
    await Promise.all(this.servers.map((s) => s.stop()));
  }

  /** Spawns a binary on a free port, waits for its listening line, stops it at test end. */
  async start(bin, argsFor, { envFor = () => ({}), readyMs = 5000, nofile } = {}) {
    // The port picked by freePort() can be taken again before the server binds it (another
    // test process, or the ephemeral source port of some client connection): retry then.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const sp = spawnBinary(bin, argsFor(port), { env: envFor(port), nofile });
      sp.port = port;
      this.servers.push(sp);
      try {
        await sp.waitListening(port, readyMs);
        return sp;
      } catch (err) {
        if (attempt >= 3 || sp.running || !/in use/i.test(sp.stderr)) throw err;
        this.servers.splice(this.servers.indexOf(sp), 1);
      }
    }
  }

  /**
   * echo-server: raw Engine.IO echo at /engine.io/. Defaults are the fixture's: ping interval
   * 300 ms, ping timeout 200 ms, max payload 1000000.
   */
  echo({ pingInterval = 300, pingTimeout = 200, maxPayload = 1000000, extraArgs = [] } = {}) {
    return this.start('echo-server', (port) => {
      const a = ['--port', String(port), '--ping-interval', String(pingInterval), '--ping-timeout', String(pingTimeout), '--max-payload', String(maxPayload)];
      if (ECHO_LOG_LEVEL) a.push('--log-level', ECHO_LOG_LEVEL);
      return a.concat(extraArgs);
    }).then((sp) => Object.assign(sp, { pingInterval, pingTimeout, maxPayload, path: '/engine.io/' }));
  }

  /**
   * siobroker daemon on 127.0.0.1:<free port>. `args` are extra flags; `listenViaEnv` passes the
   * address through SIO_LISTEN instead of --listen.
   */
  daemon({ args = [], env = {}, listenViaEnv = false, path: p = '/socket.io/', nofile } = {}) {
    return this.start(
      'siobroker',
      (port) => (listenViaEnv ? [...args] : ['--listen', `${HOST}:${port}`, ...args]),
      { envFor: (port) => (listenViaEnv ? { ...env, SIO_LISTEN: `${HOST}:${port}` } : env), nofile },
    ).then((sp) => Object.assign(sp, { path: p }));
  }

  /** Opens a raw WebSocket (see openWs) that is terminated at test end. */
  ws(port, pathAndQuery, opts) {
    const c = openWs(port, pathAndQuery, opts);
    this.defer(() => c.terminate());
    return c;
  }

  /** Starts an HTTP request (see startRequest) that is destroyed at test end if still open. */
  request(port, opts) {
    const r = startRequest(port, opts);
    this.defer(() => r.abort());
    return r;
  }

  diagnostics() {
    return this.servers.map((s) => s.diagnostics()).join('\n');
  }
}

/**
 * Like node:test's test(), with a Ctx as the body's argument, a default per-test timeout
 * (safety net behind the finer withTimeout() waits), and the output of every server the test
 * started appended to the error when it fails.
 */
export function itest(name, opts, fn) {
  if (typeof opts === 'function') {
    fn = opts;
    opts = {};
  }
  return nodeTest(name, { timeout: 25000, ...opts }, async (t) => {
    const ctx = new Ctx(t);
    try {
      await fn(ctx);
    } catch (err) {
      const diag = ctx.diagnostics();
      if (diag) {
        if (err && typeof err === 'object') {
          // The reporter prints err.stack, captured with the original message: extend both.
          try {
            err.message = `${err.message}\n${diag}`;
            if (typeof err.stack === 'string' && !err.stack.includes(diag)) err.stack = `${err.stack}\n${diag}`;
          } catch {
            /* read-only properties */
          }
        }
        t.diagnostic(diag);
      }
      throw err;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP
// ---------------------------------------------------------------------------------------------

/**
 * Starts an HTTP request to 127.0.0.1:port. opts: method, path, headers, body (string|Buffer),
 * agent (default false: one connection per request). Returns {req, done, abort()}, where
 * `done` resolves with {status, headers, body (utf8 string), raw (Buffer), at (ms timestamp)}.
 * `done` never causes an unhandled rejection when nobody awaits it.
 */
export function startRequest(port, { method = 'GET', path: p, headers = {}, body, agent = false } = {}) {
  let req;
  const done = new Promise((resolve, reject) => {
    const hdrs = { ...headers };
    if (body !== undefined && hdrs['content-length'] === undefined) hdrs['content-length'] = Buffer.byteLength(body);
    req = http.request({ host: HOST, port, method, path: p, headers: hdrs, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        resolve({ status: res.statusCode, headers: res.headers, body: raw.toString('utf8'), raw, at: Date.now() });
      });
      res.on('error', reject);
      res.on('aborted', () => reject(new Error(`${method} ${p}: response aborted`)));
    });
    req.on('error', (err) => reject(new Error(`${method} ${p}: ${err.message}`)));
    if (body !== undefined) req.write(body);
    req.end();
  });
  done.catch(() => {});
  return {
    req,
    done,
    abort() {
      req.destroy();
    },
  };
}

/** Performs a request and waits (bounded by timeoutMs) for the complete response. */
export function httpRequest(port, opts = {}, timeoutMs = 3000) {
  const { done } = startRequest(port, opts);
  return withTimeout(done, timeoutMs, `response to ${opts.method ?? 'GET'} ${opts.path}`);
}

/** Builds `<base>?EIO=4&transport=polling[&sid=..]` plus any extra query params. */
export function eioUrl(base, params = {}) {
  const q = new URLSearchParams({ EIO: '4', transport: 'polling', ...params });
  for (const [k, v] of Object.entries(params)) if (v === null) q.delete(k);
  return `${base}?${q.toString()}`;
}

// ---------------------------------------------------------------------------------------------
// Engine.IO payloads
// ---------------------------------------------------------------------------------------------

export const SEP = '\x1e';
export const PACKET_TYPES = { 0: 'open', 1: 'close', 2: 'ping', 3: 'pong', 4: 'message', 5: 'upgrade', 6: 'noop' };

/**
 * Decodes a polling payload (packets joined by 0x1E). Returns [{type, data, binary}], where
 * `type` is the digit as a string ('4' for binary messages too) and `data` is a string, or a
 * Buffer for `b`+base64 packets.
 */
export function decodePayload(body) {
  if (body === '') return [];
  return body.split(SEP).map((p) => {
    if (p[0] === 'b') return { type: '4', data: Buffer.from(p.slice(1), 'base64'), binary: true, raw: p };
    return { type: p[0], data: p.slice(1), binary: false, raw: p };
  });
}

/** Encodes packets (strings as they are, Buffers as `b`+base64) into a polling payload. */
export function encodePayload(packets) {
  return packets.map((p) => (Buffer.isBuffer(p) || p instanceof Uint8Array ? `b${Buffer.from(p).toString('base64')}` : p)).join(SEP);
}

/** Parses an open packet `0{...}`; throws if the body is not one. */
export function parseOpen(body) {
  if (typeof body !== 'string' || body[0] !== '0') throw new Error(`not an open packet: ${JSON.stringify(body)}`);
  return JSON.parse(body.slice(1));
}

/** A raw polling client for one session. */
export class RawPolling {
  constructor(ctx, port, base = '/engine.io/') {
    this.ctx = ctx;
    this.port = port;
    this.base = base;
    this.sid = undefined;
    this.open = undefined;
  }

  url(params = {}) {
    return eioUrl(this.base, this.sid ? { sid: this.sid, ...params } : params);
  }

  /** GET handshake; asserts-free: throws unless 200 + open packet. */
  async handshake(headers = {}) {
    const res = await httpRequest(this.port, { path: eioUrl(this.base), headers });
    if (res.status !== 200) throw new Error(`handshake: expected 200, got ${res.status} ${res.body}`);
    this.open = parseOpen(res.body);
    this.sid = this.open.sid;
    this.handshakeAt = res.at;
    return res;
  }

  /** Starts a long-poll GET; returns {req, done, abort}. */
  get(headers = {}) {
    return this.ctx.request(this.port, { path: this.url(), headers });
  }

  /** GET and wait for the response (bounded). */
  getNow(timeoutMs = 3000, what = 'polling GET') {
    return withTimeout(this.get().done, timeoutMs, what);
  }

  /** POST a payload (string or array of packets) and wait for the response (bounded). */
  post(payload, headers = {}, timeoutMs = 3000) {
    const body = Array.isArray(payload) ? encodePayload(payload) : payload;
    return httpRequest(
      this.port,
      { method: 'POST', path: this.url(), body, headers: { 'content-type': 'text/plain;charset=UTF-8', ...headers } },
      timeoutMs,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Raw WebSocket
// ---------------------------------------------------------------------------------------------

/**
 * A `ws` client with a bounded message queue reader.
 *   opened   resolves on 'open', rejects on error / non-101 response / close before open
 *   closed   resolves with {code, reason, at} when the socket is closed (never rejects)
 *   next()   resolves with the next {data: string|Buffer, binary, at}
 */
export class WsClient {
  constructor(url, wsOpts = {}) {
    this.url = url;
    this.messages = [];
    this.all = [];
    this._waiters = [];
    this.error = undefined;
    this.unexpectedResponse = undefined;
    this.ws = new WebSocket(url, { perMessageDeflate: false, ...wsOpts });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => {
        this.openedAt = Date.now();
        resolve();
      });
      // No 'unexpected-response' listener: ws then aborts the handshake itself and emits
      // 'error' ("Unexpected server response: N") followed by 'close'.
      this.ws.once('error', (err) => reject(new Error(`WebSocket ${url}: ${err.message}`)));
      this.ws.once('close', () => reject(new Error(`WebSocket ${url}: closed before open`)));
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString(), at: Date.now() }));
    });
    this.ws.on('error', (err) => {
      this.error = err;
      const m = /Unexpected server response: (\d+)/.exec(err.message);
      if (m) this.unexpectedResponse = { status: Number(m[1]) };
    });
    this.ws.on('message', (data, isBinary) => {
      const m = { data: isBinary ? Buffer.from(data) : data.toString('utf8'), binary: isBinary, at: Date.now() };
      this.all.push(m);
      const w = this._waiters.shift();
      if (w) w(m);
      else this.messages.push(m);
    });
  }

  get isClosed() {
    return this.ws.readyState === WebSocket.CLOSED;
  }

  /** Next message (bounded). Rejects if the socket closes first. */
  next(ms = 2000, what = 'a WebSocket message') {
    if (this.messages.length) return Promise.resolve(this.messages.shift());
    let waiter;
    const p = new Promise((resolve, reject) => {
      waiter = resolve;
      this._waiters.push(waiter);
      this.closed.then((c) => reject(new Error(`WebSocket closed (code ${c.code} '${c.reason}') while waiting for ${what}`)));
    });
    return withTimeout(p, ms, what).finally(() => {
      const i = this._waiters.indexOf(waiter);
      if (i >= 0) this._waiters.splice(i, 1);
    });
  }

  /** Next message that is not a ping; answers pings with pongs when `pong` is true. */
  async nextNonPing(ms = 2000, what = 'a non-ping WebSocket message', { pong = true } = {}) {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = await this.next(Math.max(1, deadline - Date.now()), what);
      if (!m.binary && m.data === '2') {
        if (pong) this.send('3');
        continue;
      }
      return m;
    }
  }

  send(data) {
    this.ws.send(data);
  }

  /** Waits (bounded) for the socket to be closed by the peer. */
  waitClosed(ms = 2000, what = 'the WebSocket to be closed') {
    return withTimeout(this.closed, ms, what);
  }

  terminate() {
    try {
      this.ws.terminate();
    } catch {
      /* ignore */
    }
  }
}

/** Opens a raw WebSocket to ws://127.0.0.1:port<pathAndQuery>. */
export function openWs(port, pathAndQuery, opts) {
  return new WsClient(`ws://${HOST}:${port}${pathAndQuery}`, opts);
}

/** Builds a websocket transport URL path: `<base>?EIO=4&transport=websocket[&sid=..]`. */
export function wsUrl(base, params = {}) {
  return eioUrl(base, { transport: 'websocket', ...params });
}
