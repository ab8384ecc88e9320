// Engine.IO v4 session-closing cases against echo-server, over polling and WebSocket.

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { itest, RawPolling, eventually, sleep, withTimeout, wsUrl, parseOpen, httpRequest } from '../lib/harness.mjs';

// A long heartbeat, so that a session can only disappear because of the case under test.
const QUIET = { pingInterval: 10000, pingTimeout: 5000 };
const BASE = '/engine.io/';
const UNKNOWN_SID = '{"code":1,"message":"Session ID unknown"}';

/** Asserts that both a POST and a GET with p.sid now get 400 "Session ID unknown". */
async function assertGone(p, what) {
  const post = await p.post('4are you there');
  assert.equal(post.status, 400, `${what}: POST with the old sid: status (body ${JSON.stringify(post.body)})`);
  assert.equal(post.body, UNKNOWN_SID, `${what}: POST with the old sid: body`);
  const get = await p.getNow(2000, `${what}: GET with the old sid`);
  assert.equal(get.status, 400, `${what}: GET with the old sid: status (body ${JSON.stringify(get.body)})`);
  assert.equal(get.body, UNKNOWN_SID, `${what}: GET with the old sid: body`);
}

/** Lets a just-started GET reach the server and become the pending poll. The server says nothing
 * when it holds a GET, so this is a wait with a wide margin for a busy machine. */
const settle = () => sleep(500);

describe('polling close cases', () => {
  itest('a second overlapping GET gets 400, the first completes with "1", the session is closed', async (h) => {
    const srv = await h.echo(QUIET);
    const p = new RawPolling(h, srv.port);
    await p.handshake();
    const g1 = p.get();
    await settle();
    const g2 = await withTimeout(p.get().done, 5000, 'the overlapping GET');
    assert.equal(g2.status, 400, `overlapping GET: status (body ${JSON.stringify(g2.body)})`);
    const r1 = await withTimeout(g1.done, 5000, 'the first GET to complete after the overlap');
    assert.equal(r1.status, 200);
    assert.equal(r1.body, '1', 'the first GET must complete with a close packet');
    await assertGone(p, 'after overlapping GET');
  });

  itest('a client that aborts its pending GET closes the session', async (h) => {
    const srv = await h.echo(QUIET);
    const p = new RawPolling(h, srv.port);
    await p.handshake();
    const g = p.get();
    await settle();
    g.abort();
    await eventually(
      async () => {
        const res = await p.post('4x');
        assert.equal(res.status, 400, `POST after abort: status ${res.status} body ${JSON.stringify(res.body)}`);
        assert.equal(res.body, UNKNOWN_SID);
      },
      1500,
      'session closed after the client aborted its GET',
      100,
    );
    await assertGone(p, 'after aborted GET');
  });

  itest('an invalid payload "abc" → 400 and the session is closed', async (h) => {
    const srv = await h.echo(QUIET);
    const p = new RawPolling(h, srv.port);
    await p.handshake();
    const res = await p.post('abc');
    assert.equal(res.status, 400, `POST abc: status (body ${JSON.stringify(res.body)})`);
    await assertGone(p, 'after invalid payload');
  });

  itest('an invalid packet inside an otherwise valid payload → 400 and the session is closed', async (h) => {
    const srv = await h.echo(QUIET);
    const p = new RawPolling(h, srv.port);
    await p.handshake();
    const res = await p.post('4ok\x1e9nope');
    assert.equal(res.status, 400, `POST with packet type 9: status (body ${JSON.stringify(res.body)})`);
    await assertGone(p, 'after invalid packet type');
  });

  itest('a POST body of exactly maxPayload is accepted; one byte more → 413 and the session is closed', async (h) => {
    const maxPayload = 100;
    const srv = await h.echo({ ...QUIET, maxPayload });
    const p = new RawPolling(h, srv.port);
    await p.handshake();
    const exact = `4${'a'.repeat(maxPayload - 1)}`;
    const ok = await p.post(exact);
    assert.equal(ok.status, 200, `POST of exactly maxPayload bytes: ${ok.status} ${ok.body}`);
    assert.equal(ok.body, 'ok');
    assert.equal((await p.getNow()).body, exact);
    const tooBig = await p.post(`4${'a'.repeat(maxPayload)}`);
    assert.equal(tooBig.status, 413, `POST of maxPayload+1 bytes: status (body ${JSON.stringify(tooBig.body)})`);
    await assertGone(p, 'after 413');
  });

  itest('a POST body far over maxPayload → 413 and the session is closed', async (h) => {
    const maxPayload = 1000;
    const srv = await h.echo({ ...QUIET, maxPayload });
    const p = new RawPolling(h, srv.port);
    await p.handshake();
    const res = await p.post(`4${'z'.repeat(20000)}`);
    assert.equal(res.status, 413, `POST of 20 kB with maxPayload 1000: status (body ${JSON.stringify(res.body.slice(0, 200))})`);
    await assertGone(p, 'after 413');
  });

  itest('POST "1" while a GET is pending → the GET returns "6" and the session is closed', async (h) => {
    const srv = await h.echo(QUIET);
    const p = new RawPolling(h, srv.port);
    await p.handshake();
    const g = p.get();
    await settle();
    const post = await p.post('1');
    assert.equal(post.status, 200, `POST 1: ${post.status} ${post.body}`);
    assert.equal(post.body, 'ok');
    const res = await withTimeout(g.done, 5000, 'the pending GET to complete after POST "1"');
    assert.equal(res.status, 200);
    assert.equal(res.body, '6', 'the pending GET must complete with a noop');
    await assertGone(p, 'after POST 1');
  });

  itest('closing one session leaves another session working', async (h) => {
    const srv = await h.echo(QUIET);
    const a = new RawPolling(h, srv.port);
    const b = new RawPolling(h, srv.port);
    await a.handshake();
    await b.handshake();
    assert.equal((await a.post('abc')).status, 400);
    assert.equal((await b.post('4b alive')).body, 'ok');
    assert.equal((await b.getNow()).body, '4b alive');
  });
});

describe('WebSocket close cases', () => {
  async function openWsSession(h, port) {
    const c = h.ws(port, wsUrl(BASE));
    await withTimeout(c.opened, 5000, 'WebSocket to open');
    const m = await c.next(2000, 'open packet');
    const open = parseOpen(m.data);
    return { c, open };
  }

  itest('a "1" packet closes the WebSocket session', async (h) => {
    const srv = await h.echo(QUIET);
    const { c, open } = await openWsSession(h, srv.port);
    c.send('4before');
    assert.equal((await c.nextNonPing()).data, '4before');
    c.send('1');
    await c.waitClosed(4000, 'the server to close the WebSocket after "1"');
    const res = await httpRequest(srv.port, { path: `${BASE}?EIO=4&transport=polling&sid=${open.sid}` });
    assert.equal(res.status, 400);
    assert.equal(res.body, UNKNOWN_SID, 'the session must be gone after "1"');
  });

  itest('an invalid packet closes the WebSocket', async (h) => {
    const srv = await h.echo(QUIET);
    const { c } = await openWsSession(h, srv.port);
    c.send('9garbage');
    await c.waitClosed(4000, 'the server to close the WebSocket after an invalid packet');
  });

  itest('an empty text frame closes the WebSocket', async (h) => {
    const srv = await h.echo(QUIET);
    const { c } = await openWsSession(h, srv.port);
    c.send('');
    await c.waitClosed(4000, 'the server to close the WebSocket after an empty frame');
  });

  itest('a WebSocket message over maxPayload closes the WebSocket', async (h) => {
    const maxPayload = 1000;
    const srv = await h.echo({ ...QUIET, maxPayload });
    const { c } = await openWsSession(h, srv.port);
    c.send(`4${'y'.repeat(10 * maxPayload)}`);
    await c.waitClosed(4000, 'the server to close the WebSocket after an oversized message');
    const echoed = c.all.find((m) => !m.binary && m.data.startsWith('4y'));
    assert.equal(echoed, undefined, 'an oversized message must not be echoed');
  });
});
