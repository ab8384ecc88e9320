// siocli's commands that act on the cluster, against a live mixed cluster (two siobroker daemons,
// one Node socket.io server with @socket.io/redis-adapter): emit in the emitter's format, emit
// --ack collecting the acks of clients on both kinds of server, join / leave / disconnect, and
// monitor seeing broadcasts made by other processes.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Emitter } from '@socket.io/redis-emitter';
import { createClient } from 'redis';
import { itest, withTimeout } from '../lib/harness.mjs';
import { got, tag, until, flushWith } from '../redis/cluster.mjs';
import { siocli, siocliJson, table, startCluster, startMonitor, waitLines } from './cli.mjs';

/** Emits a sentinel through siocli (the same origin as the event under test) and waits for it. */
function flushCli(redis, sockets) {
  return flushWith(async (t) => {
    const r = await siocli(redis, ['emit', 'sentinel', JSON.stringify(t)]);
    assert.equal(r.code, 0, r.stderr);
  }, sockets);
}

itest('emit reaches exactly the selected clients of every server, binary included', { timeout: 60000 }, async (h) => {
  const { redis, a1, a2, b1, n1, clients } = await startCluster(h);

  const t1 = tag('red');
  const r = await siocliJson(redis, ['emit', 'news', JSON.stringify(t1), '{"n":1}', '[true,null]', '--to', 'red']);
  assert.equal(r.channel, 'socket.io#/#red#');
  assert.equal(r.receivers, 3, 'three servers psubscribe K#/#*');
  await flushCli(redis, clients);
  for (const s of [a1, a2, n1]) assert.deepEqual(got(s, 'news', t1), [[t1, { n: 1 }, [true, null]]], s.label);
  assert.deepEqual(got(b1, 'news', t1), []);

  const t2 = tag('except');
  const r2 = await siocli(redis, ['emit', 'news', JSON.stringify(t2), '--to', 'red', '--to', 'blue', '--except', 'red']);
  assert.equal(r2.code, 0, r2.stderr);
  const rows = table(r2.stdout);
  assert.deepEqual(rows[0], ['EVENT', 'CHANNEL', 'BYTES', 'RECEIVERS']);
  assert.deepEqual([rows[1][0], rows[1][1], rows[1][3]], ['news', 'socket.io#/#', '3']);
  await flushCli(redis, clients);
  assert.deepEqual(clients.filter((s) => got(s, 'news', t2).length).map((s) => s.label), ['b1']);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'siocli-'));
  h.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'blob.bin');
  fs.writeFileSync(file, Buffer.from([0, 1, 2, 254, 255]));
  const t3 = tag('bin');
  const r3 = await siocli(redis, ['emit', 'blob', JSON.stringify(t3), '--binary-file', file, '--volatile']);
  assert.equal(r3.code, 0, r3.stderr);
  await flushCli(redis, clients);
  for (const s of clients) {
    const [args] = got(s, 'blob', t3);
    assert.ok(args, `${s.label} got the binary event`);
    assert.deepEqual(Buffer.from(args[1]), Buffer.from([0, 1, 2, 254, 255]), s.label);
  }

  // Nobody listens on another key: exit 1, nothing received.
  const r4 = await siocli(redis, ['--key', 'elsewhere', 'emit', 'news', '1']);
  assert.equal(r4.code, 1);
  assert.match(r4.stderr, /no server listens on elsewhere#\/#/);
});

itest('emit --ack collects the acks of clients on siobroker nodes and on the Node server', { timeout: 60000 }, async (h) => {
  const { redis, a1, a2, b1, n1, clients } = await startCluster(h);
  for (const s of clients) s.on('ask', (x, cb) => cb({ from: s.label, x }));

  const all = await siocliJson(redis, ['emit', 'ask', '7', '--ack', '3000']);
  assert.equal(all.servers, 3);
  assert.equal(all.servers_answered, 3);
  assert.equal(all.clients, 4);
  assert.equal(all.missing, 0);
  assert.equal(all.timed_out, false);
  assert.deepEqual(all.acks.map((a) => a.from).sort(), ['a1', 'a2', 'b1', 'n1']);
  for (const a of all.acks) assert.equal(a.x, 7);

  const red = await siocli(redis, ['emit', 'ask', '"r"', '--to', 'red', '--ack', '3000']);
  assert.equal(red.code, 0, red.stderr);
  const lines = red.stdout.trim().split('\n');
  assert.match(lines[lines.length - 1], /^3 of 3 clients acked on 3 of 3 servers; 0 did not answer/);
  const rows = table(lines.slice(0, -1).join('\n'));
  assert.deepEqual(rows[0], ['#', 'ACK']);
  assert.deepEqual(rows.slice(1).map((r) => JSON.parse(r[1]).from).sort(), ['a1', 'a2', 'n1']);

  // A client that does not ack: reported missing after the time given, exit 1.
  const t0 = Date.now();
  const part = await siocliJson(redis, ['emit', 'silence', '1', '--to', 'blue', '--ack', '800'], { code: 1 });
  assert.ok(Date.now() - t0 >= 700, 'waited for the acks');
  assert.equal(part.clients, 2);
  assert.equal(part.missing, 2);
  assert.equal(part.timed_out, true);
  assert.deepEqual(part.acks, []);
  assert.equal(got(a1, 'silence', 1).length + got(b1, 'silence', 1).length, 2);
  assert.equal(got(a2, 'silence', 1).length + got(n1, 'silence', 1).length, 0);

  // Nothing matched.
  const none = await siocliJson(redis, ['emit', 'ask', '1', '--to', 'nobody', '--ack', '2000'], { code: 1 });
  assert.equal(none.clients, 0);
  assert.equal(none.servers_answered, 3);
});

itest('join, leave and disconnect apply on every server', { timeout: 60000 }, async (h) => {
  const { redis, a1, a2, b1, n1 } = await startCluster(h);
  const ids = async (room) => (await siocliJson(redis, ['sockets', '--room', room], { code: undefined })).sockets?.map((s) => s.id) ?? [];

  const j = await siocliJson(redis, ['join', 'green', '--to', 'red']);
  assert.deepEqual([j.action, j.room, j.matched, j.servers], ['join', 'green', 3, 3]);
  await until(async () => (await ids('green')).length === 3, 3000, 'red members to join green');
  assert.deepEqual((await ids('green')).sort(), [a1.id, a2.id, n1.id].sort());

  const l = await siocli(redis, ['leave', 'green', '--to', 'blue']);
  assert.equal(l.code, 0, l.stderr);
  assert.deepEqual(table(l.stdout), [['ACTION', 'ROOM', 'MATCHED', 'SERVERS'], ['leave', 'green', '2', '3']]);
  await until(async () => (await ids('green')).length === 2, 3000, 'blue members to leave green');
  assert.deepEqual((await ids('green')).sort(), [a2.id, n1.id].sort());

  const nobody = await siocli(redis, ['join', 'x', '--to', 'nobody']);
  assert.equal(nobody.code, 1);
  assert.match(nobody.stderr, /no socket matched: nothing sent/);

  const d = await siocliJson(redis, ['disconnect', '--to', 'green', '--except', 'red', '--close'], { code: 1 });
  assert.equal(d.matched, 0, 'green members are all in red');
  const d2 = await siocliJson(redis, ['disconnect', '--to', 'green']);
  assert.deepEqual([d2.action, d2.matched, d2.close], ['disconnect', 2, false]);
  await withTimeout(Promise.all([a2, n1].map((s) => s.rec.next('disconnect', 3000))), 4000, 'a2 and n1 disconnected');
  for (const s of [a2, n1]) assert.equal(s.rec.all('disconnect')[0][0], 'io server disconnect', s.label);
  assert.equal(a1.connected && b1.connected, true);
  assert.deepEqual((await ids('red')).sort(), [a1.id]);
});

itest('monitor shows the broadcasts other processes make, decoded, until interrupted', { timeout: 60000 }, async (h) => {
  const { redis, clients } = await startCluster(h);
  const mon = await startMonitor(h, redis, ['--json']);
  const table_ = await startMonitor(h, redis, ['--room', 'red']);

  // The Node emitter (this process), siocli emit with a binary argument, a broadcast with acks.
  const rc = createClient({ url: redis.url, socket: { reconnectStrategy: false } });
  await rc.connect();
  h.defer(() => rc.disconnect().catch(() => {}));
  new Emitter(rc).to('red').except('blue').emit('hello', { a: 1 }, 'two');
  await waitLines(mon, 1);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'siocli-'));
  h.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'b'), Buffer.alloc(300, 7));
  const e = await siocli(redis, ['emit', 'bin', '"x"', '--binary-file', path.join(dir, 'b'), '--volatile']);
  assert.equal(e.code, 0, e.stderr);
  await waitLines(mon, 2);
  for (const s of clients) s.on('q', (x, cb) => cb(x));
  const k = await siocli(redis, ['emit', 'q', '5', '--to', 'red', '--ack', '2000'], { timeout: '3000' });
  assert.equal(k.code, 0, k.stdout + k.stderr);
  await waitLines(mon, 3);

  const lines = mon.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 3, mon.stdout);
  assert.deepEqual(
    { uid: lines[0].uid, event: lines[0].event, rooms: lines[0].rooms, except: lines[0].except, flags: lines[0].flags, args: lines[0].args, channel: lines[0].channel },
    { uid: 'emitter', event: 'hello', rooms: ['red'], except: ['blue'], flags: {}, args: [{ a: 1 }, 'two'], channel: 'socket.io#/#red#' },
  );
  assert.match(lines[0].time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual([lines[1].event, lines[1].flags, lines[1].args], ['bin', { volatile: true }, ['x', { _binary: 300 }]]);
  assert.equal(lines[2].event, 'q');
  assert.deepEqual(lines[2].flags, { ack: true, timeout: 2000 });
  assert.deepEqual(lines[2].rooms, ['red']);
  assert.equal(lines[2].channel, 'socket.io-request#/#');
  assert.equal(typeof lines[2].requestId, 'string');

  // The table monitor with --room red saw the emitter's and the ack broadcast, not 'bin'.
  await waitLines(table_, 3);
  const rows = table_.stdout.trim().split('\n');
  assert.match(rows[0], /^TIME\s+ORIGIN\s+EVENT\s+ROOMS\s+EXCEPT\s+FLAGS\s+ARGS$/);
  assert.match(rows[1], /^\d\d:\d\d:\d\d\.\d{3}\s+emitter\s+hello\s+red\s+blue\s+-\s+\[\{"a":1\},"two"\]$/);
  assert.match(rows[2], /\s+q\s+red\s+-\s+ack\(2000ms\)\s+\[5\]$/);
  assert.equal(rows.length, 3, table_.stdout);

  // Ctrl-C: a clean exit 0.
  mon.kill('SIGINT');
  table_.kill('SIGINT');
  const [s1, s2] = await Promise.all([withTimeout(mon.exited, 5000, 'monitor to exit'), withTimeout(table_.exited, 5000, 'monitor to exit')]);
  assert.deepEqual([s1.code, s2.code], [0, 0]);
  assert.equal(clients.length, 4);
});
