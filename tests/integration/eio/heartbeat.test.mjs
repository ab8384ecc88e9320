// Engine.IO v4 heartbeat against echo-server: server pings, pong handling, and reaping by the server's own timer.

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { itest, RawPolling, sleep, withTimeout, wsUrl, parseOpen, decodePayload } from '../lib/harness.mjs';

const PI = 300; // fixture ping interval
const PT = 200; // fixture ping timeout
const BASE = '/engine.io/';
const UNKNOWN_SID = '{"code":1,"message":"Session ID unknown"}';

describe('heartbeat over polling', () => {
  itest('an idle session is reaped by the server timer at pingInterval + pingTimeout, with no request in between', async (h) => {
    const srv = await h.echo({ pingInterval: PI, pingTimeout: PT });
    const p = new RawPolling(h, srv.port);
    await p.handshake();
    // No request at all until the deadline: the server must notice on its own.
    await sleep(PI + PT + 150 - (Date.now() - p.handshakeAt));
    const res = await p.getNow(1000, 'GET after pingInterval + pingTimeout');
    assert.equal(res.status, 400, `the session must already be gone ${Date.now() - p.handshakeAt} ms after the handshake; got ${res.status} ${JSON.stringify(res.body)}`);
    assert.equal(res.body, UNKNOWN_SID);
  });

  itest('a session is not reaped before pingInterval + pingTimeout', async (h) => {
    const srv = await h.echo({ pingInterval: PI, pingTimeout: PT });
    const p = new RawPolling(h, srv.port);
    await p.handshake();
    // Well inside the window (after the ping went out, before the timeout): still alive, ping queued.
    await sleep(PI + PT / 2 - (Date.now() - p.handshakeAt));
    const res = await p.getNow(1000, 'GET inside the pong window');
    assert.equal(res.status, 200, `session must still exist; got ${res.status} ${res.body}`);
    assert.deepEqual(decodePayload(res.body).map((x) => x.raw), ['2'], 'the queued ping');
  });

  itest('the server pings every pingInterval as the body of the pending GET; answering keeps the session alive', async (h) => {
    const srv = await h.echo({ pingInterval: PI, pingTimeout: PT });
    const p = new RawPolling(h, srv.port);
    await p.handshake();
    let last = p.handshakeAt;
    const gaps = [];
    for (let i = 0; i < 5; i++) {
      const res = await p.getNow(PI + PT + 500, `ping #${i + 1}`);
      assert.equal(res.status, 200, `GET #${i + 1}: ${res.status} ${res.body}`);
      assert.equal(res.body, '2', `GET #${i + 1} must carry exactly one ping`);
      gaps.push(res.at - last);
      const pong = await p.post('3');
      assert.equal(pong.status, 200);
      assert.equal(pong.body, 'ok');
      last = res.at;
    }
    // Timing: pings about pingInterval apart (loose bounds, CI machines are slow).
    for (const [i, g] of gaps.entries()) assert.ok(g >= PI - 100 && g <= PI + 400, `gap before ping #${i + 1} was ${g} ms (pingInterval ${PI})`);
    // Total time alive is well over pingInterval + pingTimeout, and the session still works. (Five
    // pings take 5 x PI = 1500 ms: the former bound, 3 x (PI + PT) = 1500 ms, failed whenever the
    // pings came a few ms early, as they may within the gap bounds above.)
    assert.ok(Date.now() - p.handshakeAt >= 2 * (PI + PT), 'test ran long enough');
    assert.equal((await p.post('4still alive')).body, 'ok');
    const res = await p.getNow(PI + 500, 'echo after heartbeats');
    assert.ok(decodePayload(res.body).some((x) => x.raw === '4still alive'), `echo missing: ${JSON.stringify(res.body)}`);
  });

  itest('a client that stops answering pings mid-session is reaped on time', async (h) => {
    const srv = await h.echo({ pingInterval: PI, pingTimeout: PT });
    const p = new RawPolling(h, srv.port);
    await p.handshake();
    const ping = await p.getNow(PI + 500, 'first ping');
    assert.equal(ping.body, '2');
    assert.equal((await p.post('3')).body, 'ok');
    const answeredAt = ping.at;
    // Do nothing; the next ping goes out at ~answeredAt + PI and times out PT later.
    await sleep(PI + PT + 200 - (Date.now() - answeredAt));
    const res = await p.getNow(1000, 'GET after the missed pong');
    assert.equal(res.status, 400, `got ${res.status} ${JSON.stringify(res.body)}`);
    assert.equal(res.body, UNKNOWN_SID);
  });
});

describe('heartbeat over WebSocket', () => {
  async function open(h, port) {
    const c = h.ws(port, wsUrl(BASE));
    await withTimeout(c.opened, 2000, 'WebSocket to open');
    const m = await c.next(2000, 'open packet');
    return { c, open: parseOpen(m.data), openAt: m.at };
  }

  itest('a raw client that never answers pings is closed after about pingInterval + pingTimeout', async (h) => {
    const srv = await h.echo({ pingInterval: PI, pingTimeout: PT });
    const { c, openAt } = await open(h, srv.port);
    const closed = await c.waitClosed(PI + PT + 1500, 'the server to close a WebSocket that never pongs');
    const elapsed = closed.at - openAt;
    const pings = c.all.filter((m) => m.data === '2');
    assert.ok(pings.length >= 1, 'at least one ping must have been sent');
    const firstPing = pings[0].at - openAt;
    assert.ok(firstPing >= PI - 100 && firstPing <= PI + 150, `first ping arrived ${firstPing} ms after open (pingInterval ${PI}); close came at ${elapsed} ms`);
    assert.ok(elapsed >= PI + PT - 100, `closed too early: ${elapsed} ms after open`);
    assert.ok(elapsed <= PI + PT + 1000, `closed too late: ${elapsed} ms after open`);
  });

  itest('a raw client that answers pings stays connected over several intervals', async (h) => {
    const srv = await h.echo({ pingInterval: PI, pingTimeout: PT });
    const { c } = await open(h, srv.port);
    let pings = 0;
    c.ws.on('message', (d, bin) => {
      if (!bin && d.toString() === '2') {
        pings++;
        c.send('3');
      }
    });
    await sleep(4 * (PI + PT));
    assert.equal(c.isClosed, false, 'WebSocket must stay open');
    assert.ok(pings >= 4, `expected >= 4 pings in ${4 * (PI + PT)} ms, got ${pings}`);
    c.messages.length = 0;
    c.send('4ws alive');
    assert.equal((await c.nextNonPing(1000, 'echo', { pong: false })).data, '4ws alive');
  });
});
