// Hostile packets (issue 15): sessions that announce binary attachments and never send them all,
// and a session that sends the same CONNECT 200,000 times. The first are bounded in bytes
// (--max-attachment-bytes: closed at once past it) and in time (--attachment-timeout); the second
// is closed once it has sent more than --max-ignored-packets pointless packets in 10 s, with one
// line saying so and at most a limiter's burst of warnings. The node's RSS stays bounded, and a
// fresh client still connects.

import assert from 'node:assert/strict';
import { itest, sleep } from '../lib/harness.mjs';
import { MiB, MEM_FACTOR, SERVER_ENV, rssBytes, rssSampler, wsSession, wsJoin, linesWith } from '../lib/bounds.mjs';

/** Waits (bounded) until the daemon's stderr has `count` lines containing needle. */
async function waitLines(sp, needle, count, ms, what) {
  const deadline = Date.now() + ms;
  while (linesWith(sp.stderr, needle).length < count) {
    if (!sp.running) throw new Error(`${sp.name} exited while waiting for ${what}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what} (${linesWith(sp.stderr, needle).length} of ${count} lines)`);
    await sleep(25);
  }
}

/** A fresh client connects, joins a room and gets its own broadcast's ack. */
async function freshClientWorks(h, srv) {
  const c = await wsSession(h, srv.port);
  await wsJoin(c, 'fresh');
  c.send('421["ping-fresh"]');
  const m = await c.nextNonPing(5000, 'the ack of an event on a fresh client', { pong: false });
  assert.equal(m.data, '431[{"ok":true,"delivered":0}]');
}

const header = (n) => `45${n}-["upload",${Array.from({ length: n }, (_, i) => `{"_placeholder":true,"num":${i}}`).join(',')}]`;

itest('attachments announced and never sent: bounded in bytes and in time', { timeout: 90000 }, async (h) => {
  const SESSIONS = 30;
  const srv = await h.daemon({ args: ['--log-level', 'info', '--max-attachment-bytes', '1M', '--attachment-timeout', '3000'], env: SERVER_ENV });
  const base = rssBytes(srv.pid);
  const rss = rssSampler(srv.pid);
  // The attack: 10 attachments announced, 9 of them sent (here 100 KB each), then silence
  // while answering pings. With 1 MB per packet, every session fits; the timeout ends them.
  const chunk = Buffer.alloc(100 * 1000, 0x61);
  const sessions = [];
  for (let i = 0; i < SESSIONS; i++) {
    const c = await wsSession(h, srv.port);
    c.send(header(10));
    for (let k = 0; k < 9; k++) c.send(chunk);
    sessions.push(c);
  }
  // Over the byte bound: a session sending 10 x 120 KB against a 1 MiB bound is closed at once.
  const greedy = await wsSession(h, srv.port);
  greedy.send(header(10));
  for (let k = 0; k < 10; k++) greedy.send(Buffer.alloc(120 * 1000, 0x62));
  await greedy.waitClosed(5000, 'the session over --max-attachment-bytes to be closed');
  await waitLines(srv, 'binary packet over the attachment memory limit', 1, 5000, 'the byte-bound line');
  // The timeout closes the others, whose pings are answered meanwhile.
  await Promise.all(sessions.map((c) => c.waitClosed(15000, 'a session whose attachments never came to be closed')));
  const grew = rss.stop() - base;
  h.t.diagnostic(`RSS grew ${(grew / MiB).toFixed(1)} MiB with ${SESSIONS} sessions holding 900 KB of attachments`);
  assert.ok(grew < (SESSIONS * MiB + 40 * MiB) * MEM_FACTOR, `node RSS grew by ${(grew / MiB).toFixed(1)} MiB`);
  await waitLines(srv, 'still waiting for its attachments', 1, 5000, 'the attachment timeout line');
  const timedOut = linesWith(srv.stderr, 'still waiting for its attachments');
  assert.ok(timedOut.length >= 1 && timedOut.length <= 10, `timeout lines are rate-limited: ${timedOut.length}`);
  await waitLines(srv, 'closed: parse error', SESSIONS + 1, 5000, 'each to be closed with "parse error"');
  // Freed once they are gone; glibc keeps the pages of its heap for reuse (not a bound).
  await sleep(500);
  const after = rssBytes(srv.pid);
  h.t.diagnostic(`RSS after they closed: ${(after / MiB).toFixed(1)} MiB (base ${(base / MiB).toFixed(1)})`);
  await freshClientWorks(h, srv);
});

itest('200,000 CONNECT frames on one session: closed after --max-ignored-packets, log bounded', { timeout: 90000 }, async (h) => {
  const srv = await h.daemon({ args: ['--log-level', 'info'], env: SERVER_ENV });
  const c = await wsSession(h, srv.port);
  const frames = 200000;
  for (let i = 0; i < frames; i += 1000) {
    if (c.isClosed) break;
    for (let k = 0; k < 1000; k++) c.ws.send('40');
    await new Promise((r) => setImmediate(r));
  }
  await c.waitClosed(20000, 'the flooding session to be closed');
  await waitLines(srv, 'closed: packet flood', 1, 5000, 'the session to close with "packet flood"');
  await sleep(1500); // the daemon reports suppressed lines every second
  const second = linesWith(srv.stderr, 'second CONNECT');
  const flood = linesWith(srv.stderr, 'refused or pointless packets');
  h.t.diagnostic(`${second.length} warning lines, ${flood.length} flood line, ${srv.stderr.length} bytes of log`);
  assert.equal(flood.length, 1, flood.join('\n'));
  assert.ok(second.length <= 11, `"second CONNECT" warnings are rate-limited: ${second.length}\n${second.slice(0, 20).join('\n')}`);
  assert.ok(srv.stderr.length < 64 * 1024, `the whole log stays small: ${srv.stderr.length} bytes`);
  await freshClientWorks(h, srv);
});

itest('invalid packets: each closes its session with one rate-limited line', { timeout: 60000 }, async (h) => {
  const srv = await h.daemon({ args: ['--log-level', 'info'], env: SERVER_ENV });
  for (let i = 0; i < 40; i++) {
    const c = await wsSession(h, srv.port);
    c.send('42["unterminated"');
    await c.waitClosed(5000, 'a session that sent an invalid packet to be closed');
  }
  await sleep(1500);
  const lines = linesWith(srv.stderr, 'invalid packet (');
  assert.ok(lines.length >= 1 && lines.length <= 10, `invalid-packet warnings are rate-limited: ${lines.length}`);
  await waitLines(srv, 'closed: parse error', 40, 5000, 'each to be closed with "parse error"');
  await freshClientWorks(h, srv);
});
