// The app bridge with connection state recovery (docs/recovery.md, docs/app-bridge.md): a Django
// consumer's socket whose connection breaks comes back recovered: the connect call says
// "recovered" and brings the data the app had set and the socket's rooms (the consumer sees
// socket.recovered, socket.data, socket.rooms), and the broadcast it missed meanwhile arrives
// once, after the CONNECT. With Redis, an emit to the socket itself (an "emit" action) is logged
// too: one the client never got is replayed, in its place before the later ones.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { itest, sleep, withTimeout } from '../lib/harness.mjs';
import { Cutter } from '../recovery/lib.mjs';
import { startRedis } from '../redis/cluster.mjs';
import { ask, connect, io, makeDatabase, next, startDjango, startNode } from './lib.mjs';

describe('app bridge: connection state recovery', () => {
  itest('a broken connection comes back recovered, with its data, rooms and missed broadcast', { timeout: 60000 }, async (h) => {
    const db = makeDatabase(h);
    const django = await startDjango(h, { server: 'gunicorn', db, workers: 2 });
    const node = await startNode(h, { appUrl: `${django.url}/socket.io-app/`, args: ['--recovery-window', '10000'] });
    const cutter = await new Cutter(h, node.port).listen();
    const a = io(`${cutter.url}/app`, { transports: ['websocket'], auth: { name: 'ann' }, forceNew: true, reconnectionDelay: 100, reconnectionDelayMax: 300 });
    h.defer(() => a.disconnect());
    const welcome = next(a, 'welcome');
    await withTimeout(new Promise((r) => a.once('connect', r)), 10000, 'ann to connect');
    await welcome;
    const sid = a.id;
    const b = await connect(h, node.url, { auth: { name: 'bob' } });
    const said = [];
    a.on('said', (m, off) => said.push([m.text, typeof off]));
    assert.deepEqual(await ask(b, 'say', 'before'), { status: 'ok' });
    await withTimeout((async () => { while (said.length < 1) await sleep(20); })(), 5000, 'the first broadcast');

    const back = next(a, 'welcome_back');
    cutter.cut({ halfOpen: true, outageMs: 500 });
    await sleep(100);
    assert.deepEqual(await ask(b, 'say', 'while away'), { status: 'ok' });
    const [wb] = await back;
    assert.equal(a.recovered, true);
    assert.equal(a.id, sid);
    assert.equal(wb.sid, sid);
    assert.equal(wb.data.name, 'ann');
    assert.ok(wb.rooms.includes('lobby'), JSON.stringify(wb.rooms));
    assert.deepEqual(await ask(b, 'say', 'after'), { status: 'ok' });
    await withTimeout((async () => { while (said.length < 3) await sleep(20); })(), 5000, `three broadcasts (got ${JSON.stringify(said)})`);
    await sleep(200);
    assert.deepEqual(said, [['before', 'string'], ['while away', 'string'], ['after', 'string']]);
    // The app's data is still the socket's: a later event sees it.
    assert.equal((await ask(a, 'state')).name, 'ann');
  });

  itest('with Redis: an emit to the socket that its client never got is replayed', { timeout: 60000 }, async (h) => {
    const db = makeDatabase(h);
    const redis = await startRedis(h);
    const django = await startDjango(h, { server: 'gunicorn', db, workers: 2, redisUrl: redis.url });
    const node = await startNode(h, {
      appUrl: `${django.url}/socket.io-app/`,
      args: ['--recovery-window', '10000', '--redis', redis.url, '--insecure-cluster'],
    });
    const cutter = await new Cutter(h, node.port).listen();
    const a = io(`${cutter.url}/app`, { transports: ['websocket'], auth: { name: 'ann' }, forceNew: true, reconnectionDelay: 100, reconnectionDelayMax: 300 });
    h.defer(() => a.disconnect());
    const got = [];
    a.onAny((ev, ...args) => got.push([ev, typeof args[args.length - 1]]));
    await withTimeout(new Promise((r) => a.once('connect', r)), 10000, 'ann to connect');
    // The emit then the ack, in that order, although the emit waits for its log entry.
    assert.equal(await ask(a, 'emit_then_ack'), 'second');
    assert.deepEqual(got.slice(-1), [['first', 'string']]);
    const sid = a.id;
    // The way back breaks; the app emits "first" (logged) and acks (not logged, as in Node).
    cutter.mute();
    let acked = false;
    a.emit('emit_then_ack', () => (acked = true));
    await sleep(1000);
    const back = next(a, 'welcome_back');
    cutter.cut({ halfOpen: true });
    await back;
    assert.equal(a.recovered, true);
    assert.equal(a.id, sid);
    await withTimeout((async () => { while (got.filter((g) => g[0] === 'first').length < 2) await sleep(20); })(), 5000, `the replayed emit (got ${JSON.stringify(got)})`);
    await sleep(300);
    assert.deepEqual(got.filter((g) => g[0] === 'first'), [['first', 'string'], ['first', 'string']]);
    assert.equal(acked, false);
  });
});
