// The app bridge against a real Django project under gunicorn (WSGI, Debian's): connect with
// welcome and rooms, acks, binary both ways, data kept between calls, 1000 events in order while
// other sockets load the app, the session user, refusals, disconnect calls, a bad signature, and
// the app down at connect time (the client comes back by itself).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe } from 'node:test';
import { eventually, httpRequest, itest, sleep, withTimeout } from '../lib/harness.mjs';
import { waitOutput } from '../redis/cluster.mjs';
import { APP_SECRET, ask, askAll, connect, connectError, io, loginCookie, makeDatabase, next, startDjango, startNode } from './lib.mjs';

async function stack(h, { workers = 2, nodeArgs = [] } = {}) {
  const db = makeDatabase(h);
  const django = await startDjango(h, { server: 'gunicorn', db, workers });
  const node = await startNode(h, { appUrl: `${django.url}/socket.io-app/`, args: nodeArgs });
  return { db, django, node };
}

describe('app bridge: Django under gunicorn', () => {
  itest('connect, welcome, acks, rooms, binary both ways, order of emit and ack, disconnect call', { timeout: 60000 }, async (h) => {
    const { node } = await stack(h);
    const a = await connect(h, node.url, { auth: { name: 'ann' }, extra: { autoConnect: true } });
    // The CONNECT reply comes first, then what the connect handler emitted.
    const b = io(node.url + '/app', { transports: ['websocket'], auth: { name: 'bob' }, reconnection: false, forceNew: true });
    h.defer(() => b.disconnect());
    const order = [];
    b.on('connect', () => order.push('connect'));
    const welcome = next(b, 'welcome');
    b.onAny((ev) => order.push(ev));
    const [w] = await welcome;
    assert.deepEqual(order, ['connect', 'welcome']);
    assert.equal(w.sid, b.id);
    assert.equal(w.user, false);

    // Both are in "lobby" (joined in connect): b hears a. The listener is there before the ask:
    // b may hear the broadcast before a has its ack.
    const saidP = next(b, 'said');
    assert.deepEqual(await ask(a, 'say', 'hello'), { status: 'ok' });
    const [said] = await saidP;
    assert.deepEqual(said, { from: 'ann', text: 'hello' });

    // Binary both ways, nested, with other values around it.
    const bin = crypto.randomBytes(3000);
    const back = await askAll(a, 'echo', 'x', { blob: bin, list: [1, Buffer.from([0, 255])] }, Buffer.alloc(0));
    assert.equal(back.length, 3);
    assert.equal(back[0], 'x');
    assert.deepEqual(Buffer.from(back[1].blob), bin);
    assert.deepEqual(Buffer.from(back[1].list[1]), Buffer.from([0, 255]));
    assert.equal(Buffer.from(back[2]).length, 0);

    // An emit then an ack in the handler reach the client in that order.
    const seen = [];
    a.once('first', () => seen.push('first'));
    seen.push(await ask(a, 'emit_then_ack'));
    assert.deepEqual(seen, ['first', 'second']);

    // A handler without an ack parameter is acked after it returns; the room join holds.
    assert.deepEqual(await askAll(a, 'join', 'r1'), []);
    b.emit('to_room', 'r1', { hi: 1 });
    const [rm] = await next(a, 'room_msg');
    assert.deepEqual(rm, { hi: 1 });

    // The disconnect call reaches the app, whose broadcast reaches the others.
    const left = next(b, 'left');
    a.disconnect();
    const [l] = await left;
    assert.deepEqual(l, { name: 'ann', reason: 'client namespace disconnect' });

    // A server-side disconnect (action) also makes a disconnect call.
    const c = await connect(h, node.url, { auth: { name: 'cid' } });
    const gone = next(c, 'disconnect');
    const leftC = next(b, 'left');
    c.emit('kick');
    assert.equal((await gone)[0], 'io server disconnect');
    assert.deepEqual((await leftC)[0], { name: 'cid', reason: 'server namespace disconnect' });
  });

  itest('data kept between calls; 1000 events from one socket in order while others load the app', { timeout: 90000 }, async (h) => {
    const { node } = await stack(h, { workers: 3, nodeArgs: ['--app-queue', '2000'] });
    const s = await connect(h, node.url, { auth: { name: 'seq' } });
    const others = [];
    for (let i = 0; i < 4; i++) others.push(await connect(h, node.url, { auth: { name: `load${i}` } }));
    let loading = true;
    const load = others.map(async (o, k) => {
      let n = 0;
      while (loading) {
        assert.deepEqual(await askAll(o, 'echo', k, n), [k, n]);
        n++;
      }
      return n;
    });
    for (let i = 0; i < 1000; i++) s.emit('seq', i);
    const state = await s.timeout(60000).emitWithAck('state');
    loading = false;
    const counts = await Promise.all(load);
    assert.equal(state.last, 999);
    assert.equal(state.errors, 0);
    assert.equal(state.name, 'seq');
    assert.ok(counts.every((n) => n > 0), `every loading socket was served: ${counts}`);
  });

  itest('socket.user from the Django session cookie; refusals; a handler error', { timeout: 60000 }, async (h) => {
    const { django, node } = await stack(h);
    const cookie = await loginCookie(django, 'alice');
    const s = await connect(h, node.url, { auth: { mode: 'login' }, headers: { cookie } });
    assert.deepEqual(await ask(s, 'whoami'), { username: 'alice', id: 1 });
    const anon = await connectError(h, node.url, { auth: { mode: 'login' } });
    assert.equal(anon.message, 'login required');
    const forged = await connectError(h, node.url, { auth: { mode: 'login' }, headers: { cookie: 'sessionid=forged' } });
    assert.equal(forged.message, 'login required');
    const refused = await connectError(h, node.url, { auth: { mode: 'refuse' } });
    assert.equal(refused.message, 'go away');
    assert.deepEqual(refused.data, { code: 7 });
    const no = await connectError(h, node.url, { auth: { mode: 'false' } });
    assert.equal(no.message, 'connection refused');
    const boom = await connectError(h, node.url, { auth: { mode: 'boom' } });
    assert.equal(boom.message, 'server error');
    await waitOutput(node, 'app handler failed on connect');
    await waitOutput(django, 'RuntimeError: boom');
    // A failing event handler: no ack (the client's ack times out), the socket stays usable.
    await assert.rejects(s.timeout(1500).emitWithAck('fail'), /timed out/);
    await waitOutput(django, 'ValueError: handler bug');
    assert.deepEqual(await askAll(s, 'echo', 1), [1]);
  });

  itest('a call with a bad signature is refused by the app before anything else', { timeout: 60000 }, async (h) => {
    const db = makeDatabase(h);
    const django = await startDjango(h, { db, workers: 1 });
    const body = JSON.stringify({ v: 1, node: 'x', calls: [{ type: 'connect', nsp: '/app', sid: 's', handshake: {}, auth: {} }] });
    const ts = String(Date.now());
    const good = crypto.createHmac('sha256', APP_SECRET).update(`${ts}\n${body}`).digest('hex');
    const post = (headers, b = body) =>
      httpRequest(django.port, { method: 'POST', path: '/socket.io-app/', headers: { 'content-type': 'application/json', ...headers }, body: b }, 10000);
    assert.equal((await post({ 'x-siobroker-ts': ts, 'x-siobroker-sig': good })).status, 200);
    assert.equal((await post({ 'x-siobroker-ts': ts, 'x-siobroker-sig': good.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')) })).status, 403);
    assert.equal((await post({ 'x-siobroker-ts': ts, 'x-siobroker-sig': good }, body + ' ')).status, 403);
    assert.equal((await post({})).status, 403);
    const old = String(Date.now() - 120000);
    const oldSig = crypto.createHmac('sha256', APP_SECRET).update(`${old}\n${body}`).digest('hex');
    assert.equal((await post({ 'x-siobroker-ts': old, 'x-siobroker-sig': oldSig })).status, 403);
    // A node with the wrong secret: every call gets 403, the session is closed, nothing runs.
    const node = await startNode(h, { appUrl: `${django.url}/socket.io-app/`, secret: 'not-the-right-secret-0000' });
    const s = io(node.url + '/app', { transports: ['websocket'], reconnection: false, forceNew: true });
    h.defer(() => s.disconnect());
    const [reason] = await next(s, 'disconnect');
    assert.equal(reason, 'transport close');
    assert.equal(s.connected, false);
    await waitOutput(node, 'the app answered HTTP 403');
    await waitOutput(django, 'signature mismatch');
  });

  itest('the app down at connect: the client comes back by itself once the app is up', { timeout: 60000 }, async (h) => {
    const db = makeDatabase(h);
    const { freePort } = await import('../lib/harness.mjs');
    const port = await freePort();
    const node = await startNode(h, { appUrl: `http://127.0.0.1:${port}/socket.io-app/` });
    // socket.io-client's defaults but a short first delay: no user code retries anything.
    const s = io(node.url + '/app', { transports: ['websocket'], forceNew: true, reconnectionDelay: 200, reconnectionDelayMax: 1000 });
    h.defer(() => s.disconnect());
    let closes = 0;
    s.on('disconnect', () => closes++);
    const connected = new Promise((resolve) => s.once('connect', resolve));
    await eventually(() => assert.ok(closes >= 2), 15000, 'two refused attempts while the app is down');
    await waitOutput(node, 'session closed');
    await startDjango(h, { db, port, workers: 1 });
    await withTimeout(connected, 20000, 'the client to connect by itself');
    assert.equal(s.connected, true);
    assert.deepEqual(await askAll(s, 'echo', 'back'), ['back']);
  });

  itest('the app stopped while connected: events fail without ack, then work again', { timeout: 60000 }, async (h) => {
    const { db, django, node } = await stack(h, { workers: 1, nodeArgs: ['--app-timeout', '1500'] });
    const s = await connect(h, node.url);
    assert.deepEqual(await askAll(s, 'echo', 1), [1]);
    await django.stop();
    await assert.rejects(s.timeout(2500).emitWithAck('echo', 2), /timed out/);
    await waitOutput(node, 'cannot connect to the peer');
    await startDjango(h, { db, port: django.port, workers: 1 });
    assert.deepEqual(await askAll(s, 'echo', 3), [3]);
    assert.equal(s.connected, true);
    await sleep(10);
  });
});
