// Engine.IO v4 polling → WebSocket upgrade done by hand against echo-server.

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { itest, RawPolling, sleep, withTimeout, wsUrl, decodePayload } from '../lib/harness.mjs';

// Long heartbeat: a ping must never be what releases a held GET in these tests.
const QUIET = { pingInterval: 5000, pingTimeout: 5000 };
const BASE = '/engine.io/';

/** Handshake over polling, then open a WebSocket with the sid (not yet probed). */
async function pollingThenWs(h) {
  const srv = await h.echo(QUIET);
  const p = new RawPolling(h, srv.port);
  await p.handshake();
  return { srv, p };
}

async function openProbe(h, srv, p) {
  const ws = h.ws(srv.port, wsUrl(BASE, { sid: p.sid }));
  await withTimeout(ws.opened, 5000, 'the upgrade WebSocket to open');
  return ws;
}

describe('upgrade by hand', () => {
  itest('2probe → 3probe, the held GET gets "6" at once, a GET during the upgrade gets "6", then 5 moves the session to ws', async (h) => {
    const { srv, p } = await pollingThenWs(h);
    const held = p.get();
    await sleep(500); // the GET is now pending on the server (no event tells; see close.test.mjs)
    const ws = await openProbe(h, srv, p);
    const probeAt = Date.now();
    ws.send('2probe');
    const pong = await ws.next(3000, '3probe');
    assert.equal(pong.binary, false);
    assert.equal(pong.data, '3probe', 'first frame on an upgrade WebSocket must be 3probe (no open packet)');

    const r1 = await withTimeout(held.done, 4500, 'the held GET to complete with a noop after 2probe (not at the next ping, 5 s later)');
    assert.equal(r1.status, 200);
    assert.equal(r1.body, '6', 'held GET completes with noop');
    assert.ok(r1.at - probeAt < 3000, `held GET completed ${r1.at - probeAt} ms after 2probe (pingInterval 5000)`);

    const r2 = await withTimeout(p.get().done, 5000, 'a GET issued during the upgrade to get a noop');
    assert.equal(r2.status, 200);
    assert.equal(r2.body, '6', 'a GET during the upgrade gets a noop');

    ws.send('5');
    ws.send('4over websocket');
    const echo = await ws.nextNonPing(3000, 'text echo over the upgraded WebSocket');
    assert.equal(echo.binary, false);
    assert.equal(echo.data, '4over websocket');
    const bin = Buffer.from([1, 2, 3, 250, 251]);
    ws.send(bin);
    const becho = await ws.nextNonPing(3000, 'binary echo over the upgraded WebSocket');
    assert.equal(becho.binary, true, 'binary must come back as a binary frame');
    assert.deepEqual(becho.data, bin, 'binary frames carry raw bytes, no b prefix, no base64');

    const get = await p.getNow(3000, 'polling GET after the upgrade');
    assert.equal(get.status, 400, `polling GET after the upgrade: ${get.status} ${JSON.stringify(get.body)}`);
    const post = await p.post('4late');
    assert.equal(post.status, 400, `polling POST after the upgrade: ${post.status} ${JSON.stringify(post.body)}`);
    assert.equal(ws.isClosed, false, 'rejected polling requests must not kill the upgraded session');
    ws.send('4after rejected polling');
    assert.equal((await ws.nextNonPing(3000)).data, '4after rejected polling');
  });

  itest('a second WebSocket with the same sid after the upgrade is closed; the first keeps working', async (h) => {
    const { srv, p } = await pollingThenWs(h);
    const ws = await openProbe(h, srv, p);
    ws.send('2probe');
    assert.equal((await ws.next(3000, '3probe')).data, '3probe');
    ws.send('5');
    ws.send('4one');
    assert.equal((await ws.nextNonPing(3000)).data, '4one');

    const ws2 = h.ws(srv.port, wsUrl(BASE, { sid: p.sid }));
    ws2.opened.then(() => ws2.send('2probe'), () => {});
    await withTimeout(ws2.closed, 5000, 'the second WebSocket with the same sid to be closed');
    assert.ok(!ws2.all.some((m) => m.data === '3probe'), 'the second WebSocket must not be probed');

    assert.equal(ws.isClosed, false, 'the first WebSocket must stay open');
    ws.send('4two');
    assert.equal((await ws.nextNonPing(3000, 'echo on the first WebSocket after the second was refused')).data, '4two');
  });

  itest('a second WebSocket while the first is still probing is closed; the upgrade then completes', async (h) => {
    const { srv, p } = await pollingThenWs(h);
    const ws = await openProbe(h, srv, p);
    ws.send('2probe');
    assert.equal((await ws.next(3000, '3probe')).data, '3probe');

    const ws2 = h.ws(srv.port, wsUrl(BASE, { sid: p.sid }));
    ws2.opened.then(() => ws2.send('2probe'), () => {});
    await withTimeout(ws2.closed, 5000, 'the concurrent upgrade WebSocket to be closed');
    assert.ok(!ws2.all.some((m) => m.data === '3probe'), 'the second WebSocket must not be probed');

    ws.send('5');
    ws.send('4upgraded');
    assert.equal((await ws.nextNonPing(3000, 'echo after the upgrade')).data, '4upgraded');
  });

  itest('packets queued on polling during the upgrade are flushed on the WebSocket after "5", in order', async (h) => {
    const { srv, p } = await pollingThenWs(h);
    const ws = await openProbe(h, srv, p);
    ws.send('2probe');
    assert.equal((await ws.next(3000, '3probe')).data, '3probe');
    // Posted (and echoed) while the session is still on polling; no GET takes them.
    const post = await p.post(['4q1', '4q2', Buffer.from([7, 7, 7])]);
    assert.equal(post.status, 200, `POST during the upgrade: ${post.status} ${post.body}`);
    assert.equal(post.body, 'ok');
    ws.send('5');
    const got = [];
    for (let i = 0; i < 3; i++) got.push(await ws.nextNonPing(3000, `queued packet #${i + 1} on the WebSocket`));
    assert.deepEqual(
      got.map((m) => (m.binary ? ['bin', m.data.toString('hex')] : ['txt', m.data])),
      [['txt', '4q1'], ['txt', '4q2'], ['bin', '070707']],
    );
  });

  itest('messages posted before the upgrade are not lost or duplicated across the switch', async (h) => {
    const { srv, p } = await pollingThenWs(h);
    assert.equal((await p.post('4before')).body, 'ok');
    const first = await p.getNow(3000, 'echo before the upgrade');
    assert.deepEqual(decodePayload(first.body).map((x) => x.raw), ['4before']);
    const ws = await openProbe(h, srv, p);
    ws.send('2probe');
    assert.equal((await ws.next(3000, '3probe')).data, '3probe');
    ws.send('5');
    for (let i = 0; i < 20; i++) ws.send(`4n${i}`);
    const got = [];
    for (let i = 0; i < 20; i++) got.push((await ws.nextNonPing(3000, `echo #${i}`)).data);
    assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => `4n${i}`));
  });
});
