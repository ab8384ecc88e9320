// Polling POST bodies count against --max-memory (issue 15): a body is held while it arrives (up
// to maxPayload, 1 MB) and, on a forwarding node, until the owner has it, so connections that
// each send most of a large body and then stall could make a node hold connections x maxPayload.
// Each body's bytes are charged to the node's memory budget as they arrive; one that would take
// the node over its budget is refused with 503 (Retry-After, Connection: close) and a
// rate-limited log line, nothing else is shed, and once the connections go, the budget is back to
// what the sessions hold and the node serves as before. Checked on the owner and on a forwarding
// node of a cluster.

import assert from 'node:assert/strict';
import net from 'node:net';
import { itest, eventually, httpRequest, HOST, RawPolling } from '../lib/harness.mjs';
import { SERVER_ENV, pollingSession, linesWith } from '../lib/bounds.mjs';
import { startRedis, startDaemon } from '../redis/cluster.mjs';

const BUDGET = '4M';
const DECLARED = 900000; /* under maxPayload (1,000,000) */
const SENT = 700000; /* 6 of these are over 4 MiB */
const CONNECTIONS = 10;

/** The node's siobroker_memory_used_bytes from /metrics. */
async function budgetUsed(port) {
  const res = await httpRequest(port, { path: '/metrics' }, 5000);
  assert.equal(res.status, 200);
  const m = /^siobroker_memory_used_bytes (\S+)$/m.exec(res.body);
  assert.ok(m, 'siobroker_memory_used_bytes in /metrics');
  return Number(m[1]);
}

/** Opens a connection that sends a POST head declaring DECLARED bytes and then SENT of them. */
function stalledPost(h, port, sid) {
  const sock = net.connect(port, HOST);
  h.defer(() => sock.destroy());
  const c = { sock, answer: '', closed: false };
  sock.on('data', (d) => { c.answer += d.toString('latin1'); });
  sock.on('close', () => { c.closed = true; });
  sock.on('error', () => {});
  sock.write(`POST /socket.io/?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\nHost: ${HOST}:${port}\r\n` +
    `Content-Type: text/plain;charset=UTF-8\r\nContent-Length: ${DECLARED}\r\n\r\n`);
  sock.write(`4${'x'.repeat(SENT - 1)}`);
  return c;
}

/** Sends CONNECTIONS stalled POSTs for sid to port and checks the refusals and what is held. */
async function overBudget(h, srv, sid, needle) {
  const conns = [];
  for (let i = 0; i < CONNECTIONS; i++) conns.push(stalledPost(h, srv.port, sid));
  // Every connection is either refused or has had its body read: the budget's used bytes stop
  // moving and the refused ones are closed.
  await eventually(async () => {
    const refused = conns.filter((c) => c.answer.startsWith('HTTP/1.1 503'));
    assert.ok(refused.length >= 1 && refused.every((c) => c.closed), `${refused.length} refused and closed`);
  }, 20000, 'a POST refused with 503 over the memory budget');
  let used = await budgetUsed(srv.port);
  await eventually(async () => {
    const now = await budgetUsed(srv.port);
    const was = used;
    used = now;
    assert.equal(now, was, 'still moving');
  }, 20000, 'the budget to settle', 300);
  const refused = conns.filter((c) => c.answer.startsWith('HTTP/1.1 503'));
  const held = conns.filter((c) => c.answer === '' && !c.closed);
  assert.equal(refused.length + held.length, CONNECTIONS, `every POST refused or held: ${conns.map((c) => JSON.stringify(c.answer.slice(0, 40))).join(' ')}`);
  assert.ok(held.length >= 3, `some bodies are held (${held.length})`);
  for (const c of refused) {
    assert.match(c.answer, /\r\nretry-after: 1\r\n/i, 'Retry-After on the 503');
    assert.match(c.answer, /\r\nconnection: close\r\n/i, 'Connection: close on the 503');
  }
  assert.ok(used >= held.length * (SENT / 2), `the held bodies are charged (${used} bytes for ${held.length})`);
  assert.ok(used <= 4 * 1024 * 1024, `the budget is not exceeded (${used})`);
  const lines = linesWith(srv.stderr, needle).length;
  assert.ok(lines >= 1 && lines <= refused.length, `${lines} log lines for ${refused.length} refusals`);
  assert.equal(linesWith(srv.stderr, 'memory budget: sessions held').length, 0, 'no session shed for request bodies');
  // The connections go: their bytes are given back.
  for (const c of conns) c.sock.destroy();
  await eventually(async () => {
    const now = await budgetUsed(srv.port);
    assert.ok(now < 256 * 1024, `${now} bytes still charged`);
  }, 10000, 'the budget to be given back');
}

itest('polling POST bodies are charged to the budget: 503 past it, given back when the connections go', { timeout: 90000 }, async (h) => {
  const srv = await h.daemon({ args: ['--log-level', 'info', '--max-memory', BUDGET], env: SERVER_ENV });
  const p = await pollingSession(h, srv.port);
  await overBudget(h, srv, p.sid, 'POST refused: the node is over its memory budget');
  // The session was never touched, and a new one is welcome again.
  const res = await p.post('3');
  assert.equal(res.body, 'ok');
  const fresh = await httpRequest(srv.port, { path: '/socket.io/?EIO=4&transport=polling' }, 5000);
  assert.equal(fresh.status, 200);
});

itest('a forwarding node charges the bodies it holds for the owner the same way', { timeout: 90000 }, async (h) => {
  const redis = await startRedis(h);
  const [a, b] = await Promise.all([
    startDaemon(h, redis, { name: 'a', env: SERVER_ENV }),
    startDaemon(h, redis, { name: 'b', args: ['--max-memory', BUDGET], env: SERVER_ENV }),
  ]);
  const p = await pollingSession(h, a.port);
  await overBudget(h, b, p.sid, 'forwarded POST refused: over the memory budget');
  // A POST through b still reaches the session on a.
  const via = new RawPolling(h, b.port, '/socket.io/');
  via.sid = p.sid;
  const res = await via.post('3');
  assert.equal(res.status, 200);
  assert.equal(res.body, 'ok');
});
