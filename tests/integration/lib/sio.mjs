// Socket.IO test helpers: start the sio-test-server fixture, connect socket.io-client sockets and
// record everything they receive, with bounded waits.
//
// SIO_TEST_SERVER=ref runs the same tests against tests/fixtures/sio_ref_server.mjs (Node's
// socket.io 4.8), which is how the expectations in tests/integration/sio were checked.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';
import { Socket as EioSocket } from 'engine.io-client';
import { BIN_DIR, HOST, ServerProcess, freePort, withTimeout, sleep, waitBound } from './harness.mjs';

export { io, EioSocket };

const here = path.dirname(fileURLToPath(import.meta.url));
/** 'c' (build/bin/sio-test-server, the default) or 'ref' (the Node reference fixture). */
export const SERVER_KIND = process.env.SIO_TEST_SERVER === 'ref' ? 'ref' : 'c';
const REF_SCRIPT = path.resolve(here, '../../fixtures/sio_ref_server.mjs');
/** Log level of the fixture, so that a failing test shows the server's trace ('' = none). */
const LOG_LEVEL = process.env.SIO_TEST_LOG_LEVEL ?? 'debug';

/** The transport modes every file runs its cases in. */
export const MODES = [
  { name: 'polling', transports: ['polling'], final: 'polling' },
  { name: 'websocket', transports: ['websocket'], final: 'websocket' },
  { name: 'polling+websocket (upgrade)', transports: ['polling', 'websocket'], final: 'websocket', upgrade: true },
];

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

/**
 * Starts the Socket.IO fixture on a free port (retrying when the port was taken meanwhile) and
 * stops it when the test ends. Resolves with its ServerProcess plus {port, url, path}.
 * The default heartbeat is Node's (25 s / 20 s) and the connect timeout long, so that a busy
 * machine's scheduling delays never close a session; a test of the heartbeat or of connectTimeout passes its own values.
 */
export async function startSio(h, { pingInterval = 25000, pingTimeout = 20000, connectTimeout = 5000 } = {}) {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const args = ['--port', String(port), '--ping-interval', String(pingInterval), '--ping-timeout', String(pingTimeout), '--connect-timeout', String(connectTimeout)];
    if (LOG_LEVEL) args.push('--log-level', LOG_LEVEL);
    const file = SERVER_KIND === 'ref' ? process.execPath : path.join(BIN_DIR, 'sio-test-server');
    const argv = SERVER_KIND === 'ref' ? [REF_SCRIPT, ...args] : args;
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('SIO_')) delete env[k];
    const proc = spawn(file, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(proc);
    proc.on('exit', () => children.delete(proc));
    const sp = new ServerProcess(SERVER_KIND === 'ref' ? 'sio_ref_server' : 'sio-test-server', args, proc);
    sp.port = port;
    h.servers.push(sp);
    try {
      await sp.waitListening(port, 15000);
      return Object.assign(sp, { url: `http://${HOST}:${port}`, path: '/socket.io/', pingInterval, pingTimeout, connectTimeout });
    } catch (err) {
      if (attempt >= 3 || sp.running || !/in use/i.test(sp.stderr)) throw err;
      h.servers.splice(h.servers.indexOf(sp), 1);
    }
  }
}

/**
 * Records what a socket.io-client Socket receives: every event (onAny), plus 'connect',
 * 'disconnect' [reason, description] and 'connect_error' [err] under those names (the server
 * cannot emit those, they are reserved).
 */
export class Recorder {
  constructor(socket) {
    this.socket = socket;
    this.log = []; // {event, args, at, taken}
    this._waiters = new Set();
    socket.onAny((event, ...args) => this._push(event, args));
    socket.on('connect', () => this._push('connect', []));
    socket.on('disconnect', (reason, desc) => this._push('disconnect', [reason, desc]));
    socket.on('connect_error', (err) => this._push('connect_error', [err]));
  }

  _push(event, args) {
    this.log.push({ event, args, at: Date.now(), taken: false });
    for (const w of [...this._waiters]) w();
  }

  /** All (taken or not) argument lists received for event. */
  all(event) {
    return this.log.filter((e) => e.event === event).map((e) => e.args);
  }

  count(event) {
    return this.log.filter((e) => e.event === event).length;
  }

  events() {
    return this.log.map((e) => e.event);
  }

  /**
   * Resolves with the args of the first not yet taken `event` for which pred(args) holds, and
   * marks it taken; waits (bounded by ms) if there is none yet.
   */
  next(event, ms = 2000, pred = () => true, what) {
    const find = () => this.log.find((e) => !e.taken && e.event === event && pred(e.args));
    let waiter;
    const p = new Promise((resolve) => {
      waiter = () => {
        const e = find();
        if (e) {
          e.taken = true;
          this._waiters.delete(waiter);
          resolve(e.args);
        }
      };
      this._waiters.add(waiter);
      waiter();
    });
    const desc = what ?? `'${event}' on ${this.socket.nsp} (received so far: ${JSON.stringify(this.events())})`;
    return withTimeout(p, waitBound(ms), desc).finally(() => this._waiters.delete(waiter));
  }
}

/**
 * Connects a socket.io-client socket to nsp (with forceNew, no reconnection) in `mode` and waits
 * for 'connect' (and, in upgrade mode, for the upgrade to websocket). Returns the socket with
 * `rec` (a Recorder) attached. `expectConnect: false` returns at once (for connect_error tests).
 */
export async function connect(h, srv, mode, nsp = '/', { auth, expectConnect = true, waitUpgrade = true, query } = {}) {
  const opts = {
    path: srv.path,
    transports: mode.transports,
    upgrade: !!mode.upgrade,
    rememberUpgrade: false,
    forceNew: true,
    reconnection: false,
    timeout: 15000, // the client's own connect timeout: generous, a busy machine is slow
  };
  if (auth !== undefined) opts.auth = auth;
  if (query !== undefined) opts.query = query;
  const socket = io(`${srv.url}${nsp}`, opts);
  h.defer(() => socket.io.engine && socket.io.engine.close());
  h.defer(() => socket.disconnect());
  const upgraded = trackUpgrade(socket.io);
  socket.rec = new Recorder(socket);
  if (!expectConnect) return socket;
  await waitConnected(socket, `${nsp} (${mode.name})`);
  if (mode.upgrade && waitUpgrade) await upgraded.wait(socket);
  return socket;
}

/** Opens another namespace on the manager of `socket` (multiplexed on the same engine). */
export async function connectSibling(socket, nsp, { auth, expectConnect = true } = {}) {
  const s = socket.io.socket(nsp, auth !== undefined ? { auth } : {});
  s.rec = new Recorder(s);
  if (!s.connected && !s.active) s.connect();
  if (expectConnect) await waitConnected(s, nsp);
  return s;
}

/** Resolves once socket is connected (bounded); rejects on connect_error. */
export function waitConnected(socket, what = socket.nsp) {
  if (socket.connected) return Promise.resolve();
  return withTimeout(
    new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', (err) => reject(new Error(`connect_error on ${what}: ${err.message} ${JSON.stringify(err.data ?? null)}`)));
    }),
    waitBound(4000),
    `'connect' on ${what}`,
  );
}

/** Records the engine's 'upgrade' (the engine exists as soon as the manager opens). */
function trackUpgrade(manager) {
  const state = { done: false, error: undefined };
  const hook = () => {
    const eng = manager.engine;
    if (!eng) return false;
    eng.on('upgrade', () => (state.done = true));
    eng.on('upgradeError', (e) => (state.error = e));
    return true;
  };
  if (!hook()) manager.once('open', hook);
  return {
    async wait(socket) {
      const deadline = Date.now() + waitBound(3000);
      while (!state.done && !state.error && Date.now() < deadline) await sleep(10);
      if (!state.done) {
        throw new Error(
          `no upgrade to websocket within ${waitBound(3000)} ms (transport ${manager.engine?.transport?.name}, upgradeError ${state.error && state.error.message})`,
        );
      }
      if (manager.engine.transport.name !== 'websocket') throw new Error(`after upgrade the transport is ${manager.engine.transport.name}`);
    },
  };
}

/** The Engine.IO transport a socket ended up on. */
export const transportOf = (socket) => socket.io.engine.transport.name;

/**
 * A raw engine.io-client Socket at the fixture's /socket.io/ path (no Socket.IO layer), recording
 * messages and its close. `opened` resolves at 'open'; `closed` resolves with {reason, at}.
 */
export function rawEngine(h, srv, mode) {
  const sock = new EioSocket(srv.url, {
    path: srv.path,
    transports: mode.transports,
    upgrade: !!mode.upgrade,
    rememberUpgrade: false,
  });
  h.defer(() => sock.close());
  const r = { sock, messages: [], _waiters: new Set() };
  sock.on('message', (m) => {
    r.messages.push(m);
    for (const w of [...r._waiters]) w();
  });
  r.opened = withTimeout(
    new Promise((resolve, reject) => {
      sock.once('open', () => resolve(Date.now()));
      sock.once('close', (reason) => reject(new Error(`engine closed before open: ${reason}`)));
    }),
    waitBound(3000),
    'raw engine.io socket to open',
  );
  r.opened.catch(() => {});
  // Resolves once the engine runs on its final transport (at once unless it upgrades).
  let upgradedAt = mode.upgrade ? null : Date.now();
  sock.on('upgrade', () => (upgradedAt = Date.now()));
  r.upgraded = (async () => {
    const deadline = Date.now() + waitBound(3000);
    while (upgradedAt === null && Date.now() < deadline) await sleep(10);
    if (upgradedAt === null) throw new Error(`raw engine.io socket not upgraded (transport ${sock.transport?.name})`);
    return upgradedAt;
  })();
  r.upgraded.catch(() => {});
  r.closed = new Promise((resolve) => sock.once('close', (reason, desc) => resolve({ reason, desc, at: Date.now() })));
  /** Next message matching pred (bounded); messages are consumed. */
  r.next = (ms = 2000, pred = () => true, what = 'an Engine.IO message') => {
    let waiter;
    const p = new Promise((resolve) => {
      waiter = () => {
        const i = r.messages.findIndex(pred);
        if (i >= 0) {
          r._waiters.delete(waiter);
          resolve(r.messages.splice(i, 1)[0]);
        }
      };
      r._waiters.add(waiter);
      waiter();
    });
    return withTimeout(p, waitBound(ms), `${what} (pending: ${JSON.stringify(r.messages)})`).finally(() => r._waiters.delete(waiter));
  };
  return r;
}

/** Bytes 0..n-1 (mod 256) as a Buffer, for recognisable binary payloads. */
export function pattern(n, seed = 0) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/** Emits event and waits for its ack (bounded). */
export function ask(socket, ms, event, ...args) {
  return withTimeout(socket.emitWithAck(event, ...args), waitBound(ms), `ack of '${event}' on ${socket.nsp}`);
}

/** Emits with a callback and resolves with all the ack's arguments (bounded). */
export function askAll(socket, ms, event, ...args) {
  return withTimeout(new Promise((resolve) => socket.emit(event, ...args, (...r) => resolve(r))), waitBound(ms), `ack of '${event}' on ${socket.nsp}`);
}

/**
 * Sends a 'sentinel' to every /rooms socket through `from` and waits until each socket in
 * `sockets` got it: everything the server emitted to them before it has then arrived (one
 * session's packets stay in order), so absence checks become exact.
 */
export async function flush(from, sockets, ms = 2000) {
  const tag = `s${Math.random().toString(36).slice(2)}`;
  await ask(from, ms, 'emit-to', { event: 'sentinel', args: [tag] });
  await Promise.all(sockets.map((s) => s.rec.next('sentinel', ms, (a) => a[0] === tag)));
}
