// Helpers of the bounds tests: raw Socket.IO sessions over the harness's WebSocket and polling
// clients (a reader that stops reading, a publisher that pumps frames as fast as the socket takes
// them), and the resident memory of a server process.

import fs from 'node:fs';
import { sleep, withTimeout, wsUrl, RawPolling, decodePayload } from './harness.mjs';

/** Resident set size of pid in bytes (VmRSS of /proc/PID/status). */
export function rssBytes(pid) {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

export const MiB = 1024 * 1024;

/** The binaries are built with sanitizers (ctest passes SIO_TEST_SANITIZE from -DSIO_SANITIZE). */
export const SANITIZED = Boolean(process.env.SIO_TEST_SANITIZE);

/** What an RSS bound is multiplied by: ASan's redzones and shadow memory take 2-3x per small
 * allocation (its quarantine, which keeps freed memory, is turned off by SERVER_ENV). */
export const MEM_FACTOR = SANITIZED ? 4 : 1;

/** Environment for a server under test: no ASan quarantine, so freed memory is reused. */
export const SERVER_ENV = SANITIZED ? { ASAN_OPTIONS: `${process.env.ASAN_OPTIONS ? `${process.env.ASAN_OPTIONS}:` : ''}quarantine_size_mb=0` } : {};

/** Samples the RSS of pid every `everyMs` until stop() is called; `max` holds the peak so far. */
export function rssSampler(pid, everyMs = 50) {
  const s = { max: rssBytes(pid), samples: 0 };
  const timer = setInterval(() => {
    try {
      s.max = Math.max(s.max, rssBytes(pid));
      s.samples++;
    } catch {
      /* the process is gone: its test reports that */
    }
  }, everyMs);
  s.stop = () => {
    clearInterval(timer);
    try {
      s.max = Math.max(s.max, rssBytes(pid));
    } catch {
      /* gone */
    }
    return s.max;
  };
  return s;
}

/**
 * A Socket.IO session on a raw WebSocket (harness WsClient), connected to namespace "/".
 * Answers pings while it reads. Resolves once the namespace CONNECT is answered.
 */
export async function wsSession(h, port, { path = '/socket.io/', record = true } = {}) {
  const c = h.ws(port, wsUrl(path));
  await c.opened;
  const open = await c.next(3000, 'the open packet');
  if (open.data[0] !== '0') throw new Error(`expected an open packet, got ${JSON.stringify(open.data)}`);
  c.sid = JSON.parse(open.data.slice(1)).sid;
  c.send('40');
  const reply = await c.nextNonPing(3000, 'the CONNECT reply');
  if (!/^40\{"sid":"[^"]+"\}$/.test(reply.data)) throw new Error(`expected the CONNECT reply, got ${JSON.stringify(reply.data)}`);
  c.ackSeq = 0;
  c.ws.on('message', (data, binary) => {
    if (!binary && data.length === 1 && data[0] === 0x32 /* '2' */) c.ws.send('3');
  });
  if (!record) forget(c);
  return c;
}

/** From now on c keeps nothing it receives (a publisher: the tests count on the server side). */
export function forget(c) {
  c.ws.removeAllListeners('message');
  c.messages.length = 0;
  c.all.length = 0;
  c.ws.on('message', (data, binary) => {
    if (!binary && data.length === 1 && data[0] === 0x32) c.ws.send('3');
  });
}

/** Joins room through the rooms policy (acked) on a wsSession that still records. */
export async function wsJoin(c, room) {
  const id = ++c.ackSeq;
  c.send(`42${id}["join",${JSON.stringify(room)}]`);
  const m = await c.nextNonPing(3000, `the ack of join ${room}`, { pong: false });
  if (m.data !== `43${id}[{"ok":true}]`) throw new Error(`join ${room}: ${JSON.stringify(m.data)}`);
}

/** Stops reading from the session's socket: what the server sends piles up on its side. */
export function stopReading(c) {
  c.ws._socket.pause();
}

/**
 * Sends `frame` on c as fast as its socket takes it until stop() (or until the socket closes),
 * keeping at most ~1 MiB buffered on the client side. Returns {sent, stop(), done}.
 */
export function pump(c, frame, { batch = 256 } = {}) {
  const p = { sent: 0, stopped: false };
  p.done = (async () => {
    while (!p.stopped && c.ws.readyState === 1) {
      for (let i = 0; i < batch; i++) c.ws.send(frame);
      p.sent += batch;
      while (!p.stopped && c.ws.readyState === 1 && c.ws.bufferedAmount > MiB) await sleep(2);
      await new Promise((r) => setImmediate(r));
    }
  })();
  p.stop = async () => {
    p.stopped = true;
    await withTimeout(p.done, 5000, 'the pump to stop');
    return p.sent;
  };
  return p;
}

/** A polling Socket.IO session connected to "/" (its CONNECT reply read), then left alone. */
export async function pollingSession(h, port, { path = '/socket.io/' } = {}) {
  const p = new RawPolling(h, port, path);
  await p.handshake();
  const res = await p.post('40');
  if (res.body !== 'ok') throw new Error(`CONNECT POST: ${res.status} ${res.body}`);
  const got = decodePayload((await p.getNow(3000, 'the CONNECT reply')).body);
  if (!got.some((pk) => pk.type === '4' && pk.data.startsWith('0{"sid"'))) throw new Error(`no CONNECT reply in ${JSON.stringify(got)}`);
  return p;
}

/** Lines of text containing needle. */
export function linesWith(text, needle) {
  return text.split('\n').filter((l) => l.includes(needle));
}
