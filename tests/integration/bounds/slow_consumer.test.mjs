// Slow consumers (issue 15): a client that stops reading, a polling session that never GETs, and
// clients paired with their own publisher in a private room. Each is disconnected as a "slow
// consumer" once it holds --max-session-queue at real cost, the node's RSS stays within that
// bound (plus a margin) instead of the ~10x it grew to when only payload bytes were counted, one
// log line per disconnect, and a fresh client still connects and receives.
//
// The events are the 7-byte 42["m"]: a 64-byte message + an 8-byte slot each, so 16 MiB
// holds ~230,000 of them (it held 2.1 million, ~150 MB, before).

import assert from 'node:assert/strict';
import { itest, openWs, sleep, httpRequest } from '../lib/harness.mjs';
import { MiB, MEM_FACTOR, SERVER_ENV, rssBytes, rssSampler, wsSession, wsJoin, forget, stopReading, pump, pollingSession, linesWith } from '../lib/bounds.mjs';

const EVENT = '42["m"]';
/** Room for the node's own variation (allocator arenas, lws buffers, kernel-side is not RSS). */
const MARGIN = 40 * MiB;
/** The bound with its margin, wider under sanitizers (MEM_FACTOR). */
const within = (bound) => (bound + MARGIN) * MEM_FACTOR;

/** Waits (bounded) until the daemon's stderr has `count` lines containing needle. */
async function waitLines(sp, needle, count, ms, what) {
  const deadline = Date.now() + ms;
  while (linesWith(sp.stderr, needle).length < count) {
    if (!sp.running) throw new Error(`${sp.name} exited while waiting for ${what}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what} (${linesWith(sp.stderr, needle).length} of ${count} lines)`);
    await sleep(25);
  }
}

/** A fresh client connects, joins room and receives what pub emits there. */
async function freshClientReceives(h, srv, pub, room) {
  const fresh = await wsSession(h, srv.port);
  await wsJoin(fresh, room);
  pub.send('42["hello-fresh"]');
  // What the publisher sent before may arrive first.
  const deadline = Date.now() + 10000;
  for (;;) {
    const m = await fresh.nextNonPing(Math.max(1, deadline - Date.now()), 'the event from the publisher on the fresh client', { pong: false });
    if (m.data === '42["hello-fresh"]') break;
  }
}

itest('a WebSocket client that stops reading is disconnected at 16 MiB, RSS bounded', { timeout: 90000 }, async (h) => {
  const srv = await h.daemon({ args: ['--log-level', 'info'], env: SERVER_ENV });
  const reader = await wsSession(h, srv.port);
  await wsJoin(reader, 'r');
  const pub = await wsSession(h, srv.port);
  await wsJoin(pub, 'r');
  forget(pub);
  stopReading(reader);
  await sleep(200);
  const base = rssBytes(srv.pid);
  const rss = rssSampler(srv.pid);
  const p = pump(pub, EVENT);
  await waitLines(srv, 'slow consumer', 1, 60000, 'the reader to be disconnected as a slow consumer');
  const sent = await p.stop();
  const peak = rss.stop();
  const grew = peak - base;
  h.t.diagnostic(`RSS ${(base / MiB).toFixed(1)} -> peak ${(peak / MiB).toFixed(1)} MiB, ${sent} events`);
  assert.ok(grew < within(16 * MiB), `node RSS grew by ${(grew / MiB).toFixed(1)} MiB for one slow consumer (bound 16 MiB + ${MARGIN / MiB} MiB margin; ${sent} events sent)`);
  const lines = linesWith(srv.stderr, 'slow consumer: holds');
  assert.equal(lines.length, 1, lines.join('\n'));
  await waitLines(srv, 'closed: slow consumer', 1, 5000, 'the session to close with the reason "slow consumer"');
  await freshClientReceives(h, srv, pub, 'r');
});

itest('a polling session that never GETs is disconnected at its bound, RSS bounded', { timeout: 90000 }, async (h) => {
  const srv = await h.daemon({ args: ['--log-level', 'info'], env: SERVER_ENV });
  const poller = await pollingSession(h, srv.port);
  const res = await poller.post('420["join","r"]');
  assert.equal(res.body, 'ok');
  const ack = await poller.getNow(3000, 'the join ack');
  assert.match(ack.body, /430\[\{"ok":true\}\]/);
  // ... and no GET from now on.
  const pub = await wsSession(h, srv.port);
  await wsJoin(pub, 'r');
  forget(pub);
  await sleep(200);
  const base = rssBytes(srv.pid);
  const rss = rssSampler(srv.pid);
  const p = pump(pub, EVENT);
  await waitLines(srv, 'slow consumer', 1, 60000, 'the polling session to be disconnected as a slow consumer');
  const sent = await p.stop();
  const grew = rss.stop() - base;
  h.t.diagnostic(`RSS grew ${(grew / MiB).toFixed(1)} MiB, ${sent} events`);
  assert.ok(grew < within(16 * MiB), `node RSS grew by ${(grew / MiB).toFixed(1)} MiB for a polling session that never GETs`);
  // Its next GET learns the session is gone.
  const after = await poller.getNow(3000, 'a GET after the disconnect');
  assert.ok(after.status === 400 || after.body === '1', `GET after the disconnect: ${after.status} ${after.body}`);
  await freshClientReceives(h, srv, pub, 'r');
});

/** A polling reader in room that read its join ack and never GETs again. */
async function silentPoller(h, srv, room) {
  const poller = await pollingSession(h, srv.port);
  const res = await poller.post(`420["join",${JSON.stringify(room)}]`);
  assert.equal(res.body, 'ok');
  const ack = await poller.getNow(3000, 'the join ack');
  assert.match(ack.body, /430\[\{"ok":true\}\]/);
  return poller;
}

itest('clients paired with their own publisher in private rooms: each pair bounded', { timeout: 120000 }, async (h) => {
  // The readers are polling sessions that stopped polling: nothing of theirs sits in kernel
  // buffers, so each pair reaches its bound after ~58,000 events.
  const PAIRS = 5;
  const BOUND = 4 * MiB;
  const srv = await h.daemon({ args: ['--log-level', 'info', '--max-session-queue', String(BOUND)], env: SERVER_ENV });
  const pairs = [];
  for (let i = 0; i < PAIRS; i++) {
    const reader = await silentPoller(h, srv, `private-${i}`);
    const pub = await wsSession(h, srv.port);
    await wsJoin(pub, `private-${i}`);
    forget(pub);
    pairs.push({ reader, pub });
  }
  await sleep(200);
  const base = rssBytes(srv.pid);
  const rss = rssSampler(srv.pid);
  const pumps = pairs.map(({ pub }) => pump(pub, EVENT));
  await waitLines(srv, 'closed: slow consumer', PAIRS, 90000, `the ${PAIRS} readers to be disconnected`);
  await Promise.all(pumps.map((p) => p.stop()));
  const grew = rss.stop() - base;
  h.t.diagnostic(`RSS grew ${(grew / MiB).toFixed(1)} MiB for ${PAIRS} pairs`);
  // Before: ~37 MB per pair at this bound (payload bytes counted); now the bound itself.
  assert.ok(grew < within(PAIRS * BOUND), `node RSS grew by ${(grew / MiB).toFixed(1)} MiB for ${PAIRS} pairs (bound ${(PAIRS * BOUND) / MiB} MiB + margin)`);
  const warned = linesWith(srv.stderr, 'slow consumer: holds');
  assert.ok(warned.length >= 1 && warned.length <= PAIRS, `one warning per disconnect, rate-limited: ${warned.length}`);
  await freshClientReceives(h, srv, pairs[0].pub, 'private-0');
});

itest('over --max-memory: /readyz answers 503 above 7/8, the largest session is shed, the small one kept', { timeout: 120000 }, async (h) => {
  const srv = await h.daemon({ args: ['--log-level', 'info', '--max-session-queue', '16M', '--max-memory', '8M'], env: SERVER_ENV });
  const ready = async () => (await httpRequest(srv.port, { path: '/readyz' }, 3000)).status;
  assert.equal(await ready(), 200);
  // Two polling readers that stopped polling (nothing of theirs in kernel buffers), each with its
  // own publisher: a small one and a big one.
  const small = await silentPoller(h, srv, 'small');
  const smallPub = await wsSession(h, srv.port);
  await wsJoin(smallPub, 'small');
  forget(smallPub);
  const big = await silentPoller(h, srv, 'big');
  const bigPub = await wsSession(h, srv.port);
  await wsJoin(bigPub, 'big');
  forget(bigPub);
  const event = `42["m","${'x'.repeat(1000)}"]`; // ~1.1 KB queued per event
  for (let i = 0; i < 20; i++) smallPub.send(event);
  const base = rssBytes(srv.pid);
  const rss = rssSampler(srv.pid);
  // Steps of 50 events (~55 KB, well under the 1 MiB between 7/8 and the max) until /readyz says
  // the node is over 7/8 of its budget; nothing is shed yet, so it stays so.
  let steps = 0;
  while ((await ready()) === 200) {
    assert.ok(++steps < 1000, 'the node never reported being over 7/8 of its budget');
    for (let i = 0; i < 50; i++) bigPub.send(event);
  }
  await sleep(300);
  assert.equal(await ready(), 503, '/readyz stays 503 while the node is over 7/8 of its budget');
  // ...and a new session is refused with an answer on both transports, the old ones served.
  const poll = await httpRequest(srv.port, { path: '/socket.io/?EIO=4&transport=polling' }, 3000);
  assert.equal(poll.status, 503, 'a polling handshake over the budget');
  assert.equal(poll.headers['retry-after'], '1');
  const refused = openWs(srv.port, '/socket.io/?EIO=4&transport=websocket');
  h.defer(() => refused.terminate());
  await refused.closed;
  assert.equal(refused.unexpectedResponse && refused.unexpectedResponse.status, 503, 'a WebSocket handshake over the budget');
  assert.equal(linesWith(srv.stderr, 'memory budget: sessions held').length, 0, 'nothing shed below the max');
  // Past the max: the big reader is shed, the small one kept; the node is ready again.
  for (let i = 0; i < 2000 && linesWith(srv.stderr, 'memory budget: sessions held').length === 0; i++) {
    for (let k = 0; k < 50; k++) bigPub.send(event);
    await sleep(5);
  }
  await waitLines(srv, 'memory budget: sessions held', 1, 10000, 'the budget to shed the big reader');
  await waitLines(srv, 'closed: slow consumer', 1, 5000, 'the big reader to close with "slow consumer"');
  const grew = rss.stop() - base;
  h.t.diagnostic(`RSS grew ${(grew / MiB).toFixed(1)} MiB over an 8 MiB budget, ${steps} steps to 7/8`);
  assert.ok(grew < within(8 * MiB), `node RSS grew by ${(grew / MiB).toFixed(1)} MiB over an 8 MiB budget`);
  const deadline = Date.now() + 10000;
  let status;
  while ((status = await ready()) !== 200 && Date.now() < deadline) await sleep(50);
  assert.equal(status, 200, '/readyz is 200 again once the big reader is gone');
  assert.equal(linesWith(srv.stderr, 'closed: slow consumer').length, 1, 'only the big reader was shed');
  const rest = await small.getNow(3000, 'the small reader\'s queued events');
  assert.equal(rest.status, 200);
  assert.ok(rest.body.includes('42["m","x'), `the small reader still has its events: ${rest.body.slice(0, 80)}`);
  await freshClientReceives(h, srv, smallPub, 'small');
});
