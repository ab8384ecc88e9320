// Engine.IO v4 request errors against echo-server: exact HTTP status and JSON body; refused WebSockets.

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { itest, httpRequest, RawPolling, wsUrl, withTimeout } from '../lib/harness.mjs';

const QUIET = { pingInterval: 10000, pingTimeout: 5000 };
const BASE = '/engine.io/';

const ERR = {
  0: '{"code":0,"message":"Transport unknown"}',
  1: '{"code":1,"message":"Session ID unknown"}',
  2: '{"code":2,"message":"Bad handshake method"}',
  3: '{"code":3,"message":"Bad request"}',
  5: '{"code":5,"message":"Unsupported protocol version"}',
};

/** Asserts an HTTP 400 with exactly the engine.io error body for `code`. */
function assertError(res, code, what) {
  assert.equal(res.status, 400, `${what}: status (body ${JSON.stringify(res.body)})`);
  let json;
  assert.doesNotThrow(() => (json = JSON.parse(res.body)), `${what}: body is not JSON: ${JSON.stringify(res.body)}`);
  assert.deepEqual(json, JSON.parse(ERR[code]), `${what}: error JSON`);
  assert.equal(res.body, ERR[code], `${what}: exact body bytes`);
}

const cases = [
  // [description, method, query, body, code]
  ['GET without transport', 'GET', 'EIO=4', undefined, 0],
  ['GET with unknown transport', 'GET', 'EIO=4&transport=flashsocket', undefined, 0],
  ['POST with unknown transport', 'POST', 'EIO=4&transport=carrier-pigeon', '4x', 0],
  ['GET with unknown sid', 'GET', 'EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAAAAAA', undefined, 1],
  ['POST with unknown sid', 'POST', 'EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAAAAAA', '4x', 1],
  ['POST without sid', 'POST', 'EIO=4&transport=polling', '4x', 2],
  ['PUT without sid', 'PUT', 'EIO=4&transport=polling', '4x', 2],
  ['GET with EIO=3', 'GET', 'EIO=3&transport=polling', undefined, 5],
  ['GET without EIO', 'GET', 'transport=polling', undefined, 5],
  ['GET with EIO=5', 'GET', 'EIO=5&transport=polling', undefined, 5],
  ['plain GET (no Upgrade) with transport=websocket', 'GET', 'EIO=4&transport=websocket', undefined, 3],
];

describe('HTTP errors', () => {
  for (const [what, method, query, body, code] of cases) {
    itest(`${what} → 400 code ${code}`, async (h) => {
      const srv = await h.echo(QUIET);
      const res = await httpRequest(srv.port, { method, path: `${BASE}?${query}`, body });
      assertError(res, code, `${method} ${BASE}?${query}`);
    });
  }

  itest('a sid that existed but whose session was closed → 400 code 1', async (h) => {
    const srv = await h.echo(QUIET);
    const p = new RawPolling(h, srv.port);
    await p.handshake();
    assert.equal((await p.post('1')).status, 200, 'POST close');
    assertError(await p.getNow(), 1, 'GET after close');
  });

  itest('an error does not affect other sessions', async (h) => {
    const srv = await h.echo(QUIET);
    const p = new RawPolling(h, srv.port);
    await p.handshake();
    assertError(await httpRequest(srv.port, { path: `${BASE}?EIO=3&transport=polling` }), 5, 'EIO=3');
    assertError(await httpRequest(srv.port, { method: 'POST', path: `${BASE}?EIO=4&transport=polling`, body: '4x' }), 2, 'POST without sid');
    assert.equal((await p.post('4still here')).body, 'ok');
    assert.equal((await p.getNow()).body, '4still here');
  });
});

describe('refused WebSockets', () => {
  /** Opens a ws that must be refused: it must end (error or close) without any open packet. */
  async function assertRefused(h, port, path) {
    const c = h.ws(port, path);
    let opened = false;
    c.opened.then(() => (opened = true), () => {});
    await withTimeout(c.closed, 5000, `refusal of WebSocket ${path}`);
    const open = c.all.find((m) => !m.binary && m.data.startsWith('0'));
    assert.equal(open, undefined, `a refused WebSocket received an open packet: ${open && open.data}`);
    if (c.unexpectedResponse) assert.ok(c.unexpectedResponse.status >= 400, `HTTP status ${c.unexpectedResponse.status}`);
    return { opened, c };
  }

  itest('WebSocket with EIO=3 is refused', async (h) => {
    const srv = await h.echo(QUIET);
    await assertRefused(h, srv.port, `${BASE}?EIO=3&transport=websocket`);
  });

  itest('WebSocket without EIO is refused', async (h) => {
    const srv = await h.echo(QUIET);
    await assertRefused(h, srv.port, `${BASE}?transport=websocket`);
  });

  itest('WebSocket with transport=polling is refused', async (h) => {
    const srv = await h.echo(QUIET);
    await assertRefused(h, srv.port, `${BASE}?EIO=4&transport=polling`);
  });

  itest('WebSocket with an unknown sid is refused', async (h) => {
    const srv = await h.echo(QUIET);
    await assertRefused(h, srv.port, wsUrl(BASE, { sid: 'AAAAAAAAAAAAAAAAAAAAAAAA' }));
  });

  itest('after refused WebSockets the server still accepts a valid one', async (h) => {
    const srv = await h.echo(QUIET);
    await assertRefused(h, srv.port, `${BASE}?EIO=3&transport=websocket`);
    const c = h.ws(srv.port, wsUrl(BASE));
    await withTimeout(c.opened, 5000, 'valid WebSocket to open');
    const m = await c.next(2000, 'open packet');
    assert.equal(m.data[0], '0');
  });
});
