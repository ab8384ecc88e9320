// Connection state recovery on one node without Redis (docs/recovery.md): the in-memory adapter
// keeps the sessions and the packet log. A client of the rooms policy emits numbered events to a
// room the whole time; socket.io-client 4.8 receivers (websocket and polling) behind TCP cutters
// lose their connection three times (half-open twice: the node still holds the old session; once
// with a clean close) and come back: each gets every number once, in order, and every reconnect is
// a recovery with the same socket id. A client that stays away longer than the window gets a new
// session (recovered false).

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { HOST, itest } from '../lib/harness.mjs';
import { io } from '../lib/sio.mjs';
import { Cutter, completeProblems, receiver, reconnectTimes, settled, sleep, summary, until, withTimeout } from './lib.mjs';

const TICK = 20;

/** A siobroker daemon without Redis (the in-memory adapter), at info level. */
async function startDaemonLocal(h, args) {
  const sp = await h.daemon({ args: ['--log-level', 'info', ...args] });
  return Object.assign(sp, { url: `http://${HOST}:${sp.port}` });
}

describe('connection state recovery on one node (memory)', () => {
  itest('cuts, half-open and clean, every number once', { timeout: 60000 }, async (h) => {
    const node = await startDaemonLocal(h, ['--recovery-window', '10000', '--ping-interval', '2000', '--ping-timeout', '3000']);
    const pub = io(`${node.url}/`, { path: '/socket.io/', transports: ['websocket'], forceNew: true });
    h.defer(() => pub.disconnect());
    await withTimeout(new Promise((r) => pub.once('connect', r)), 5000, 'the publisher to connect');
    assert.deepEqual(await pub.timeout(3000).emitWithAck('join', 'r'), { ok: true });
    const rs = [];
    for (const transports of [['websocket'], ['polling'], ['websocket'], ['polling']]) {
      const cutter = await new Cutter(h, node.port).listen();
      const r = receiver(h, cutter.url, { name: `${transports[0]}-${rs.length}`, room: 'r', transports });
      r.cutter = cutter;
      rs.push(r);
    }
    await settled(rs);
    let n = 0;
    const timer = setInterval(() => pub.emit('n', ++n), TICK);
    h.defer(() => clearInterval(timer));
    await until(() => rs.every((r) => r.nums.length >= 5), 10000, 'numbers');
    const since = Date.now();
    for (const halfOpen of [true, false, true]) {
      for (const r of rs) r.cutter.cut({ halfOpen });
      await sleep(400);
      await settled(rs);
      await sleep(300);
    }
    clearInterval(timer);
    await until(() => rs.every((r) => r.nums.length && r.nums[r.nums.length - 1].k === n), 10000, 'the last number').catch(() => {});
    console.log(`recovery on one node: ${summary(reconnectTimes(rs, since))} (client disconnect -> recovered connect, 300 ms outage included)`);
    const problems = rs.flatMap((r) => [...r.errors.map((e) => `${r.name}: ${e}`), ...completeProblems(r, n)]);
    assert.deepEqual(problems, [], problems.join('\n'));
    for (const r of rs) {
      assert.equal(r.conns.length, 4, `${r.name}: three reconnects`);
      assert.ok(r.conns.every((c) => c.id === r.conns[0].id), `${r.name} kept its socket id`);
    }
    assert.match(node.stderr, /recovered in \d+ ms: \d+ missed packets/);
  });

  itest('away longer than the window: a new session', { timeout: 30000 }, async (h) => {
    const node = await startDaemonLocal(h, ['--recovery-window', '1000']);
    const pub = io(`${node.url}/`, { path: '/socket.io/', transports: ['websocket'], forceNew: true });
    h.defer(() => pub.disconnect());
    await withTimeout(new Promise((r) => pub.once('connect', r)), 5000, 'the publisher to connect');
    await pub.timeout(3000).emitWithAck('join', 'r');
    const cutter = await new Cutter(h, node.port).listen();
    const r = receiver(h, cutter.url, { name: 'late', room: 'r' });
    await settled([r]);
    pub.emit('n', 1);
    await until(() => r.nums.length === 1, 5000, 'the first number');
    cutter.cut({ outageMs: 2500 }); // the node closes it at once: the window runs from there
    await sleep(1000);
    pub.emit('n', 2); // missed, and gone with the window
    await sleep(1800);
    await settled([r]);
    assert.equal(r.conns.length, 2);
    assert.equal(r.conns[1].recovered, false);
    assert.notEqual(r.conns[1].id, r.conns[0].id);
    pub.emit('n', 3);
    await until(() => r.nums.length === 2, 5000, 'a number after the new session joined');
    assert.deepEqual(r.nums.map((x) => x.k), [1, 3]);
  });
});
