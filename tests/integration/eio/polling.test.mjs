// Engine.IO v4 over raw HTTP long-polling against echo-server: handshake, POST, long-poll, batching, binary.

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { itest, RawPolling, decodePayload, encodePayload, httpRequest, eioUrl, parseOpen, sleep, withTimeout, SEP } from '../lib/harness.mjs';

// Functional polling tests run with a long heartbeat so that pings never interleave with the
// packets under test; heartbeat behaviour has its own file.
const QUIET = { pingInterval: 10000, pingTimeout: 5000 };

/** GETs until `count` message packets have arrived; returns {messages, bodies}. Bounded. */
async function drain(p, count, { timeoutMs = 5000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  const messages = [];
  const bodies = [];
  while (messages.length < count) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`only ${messages.length}/${count} messages arrived within ${timeoutMs} ms; bodies: ${JSON.stringify(bodies)}`);
    const res = await withTimeout(p.get().done, left, `GET #${bodies.length + 1} while draining ${count} messages`);
    assert.equal(res.status, 200, `GET #${bodies.length + 1}: status (body ${JSON.stringify(res.body)})`);
    assert.notEqual(res.body, '', `GET #${bodies.length + 1}: an empty 200 body is a protocol error for the client`);
    bodies.push(res.body);
    for (const pk of decodePayload(res.body)) {
      assert.equal(pk.type, '4', `GET #${bodies.length}: unexpected non-message packet ${JSON.stringify(pk.raw)} in ${JSON.stringify(res.body)}`);
      messages.push(pk);
    }
  }
  return { messages, bodies };
}

describe('polling handshake', () => {
  itest('GET handshake returns 0{...} with exactly sid, upgrades, pingInterval, pingTimeout, maxPayload', async (h) => {
    const srv = await h.echo({ pingInterval: 4321, pingTimeout: 3210, maxPayload: 1000000 });
    const res = await httpRequest(srv.port, { path: eioUrl('/engine.io/') });
    assert.equal(res.status, 200, `handshake status, body ${JSON.stringify(res.body)}`);
    assert.equal(res.body[0], '0', `handshake body must start with the open packet type: ${JSON.stringify(res.body)}`);
    assert.ok(!res.body.includes(SEP), 'handshake body is a single packet');
    const open = parseOpen(res.body);
    assert.deepEqual(Object.keys(open).sort(), ['maxPayload', 'pingInterval', 'pingTimeout', 'sid', 'upgrades']);
    assert.deepEqual(open.upgrades, ['websocket']);
    assert.equal(open.pingInterval, 4321);
    assert.equal(open.pingTimeout, 3210);
    assert.equal(open.maxPayload, 1000000);
    assert.equal(typeof open.sid, 'string');
    assert.ok(open.sid.length >= 20, `sid too short: ${open.sid}`);
    assert.match(open.sid, /^[A-Za-z0-9_-]+$/, 'sid must be URL-safe');
  });

  itest('each handshake gets a new sid; flags are reflected in the open packet', async (h) => {
    const srv = await h.echo({ pingInterval: 1234, pingTimeout: 567, maxPayload: 4321 });
    const sids = new Set();
    for (let i = 0; i < 5; i++) {
      const p = new RawPolling(h, srv.port);
      await p.handshake();
      assert.equal(p.open.pingInterval, 1234);
      assert.equal(p.open.pingTimeout, 567);
      assert.equal(p.open.maxPayload, 4321);
      sids.add(p.sid);
    }
    assert.equal(sids.size, 5, 'sids must be unique');
  });

  itest('requests over one keep-alive connection work in sequence', async (h) => {
    const http = await import('node:http');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    h.defer(() => agent.destroy());
    const srv = await h.echo(QUIET);
    const hs = await httpRequest(srv.port, { path: eioUrl('/engine.io/'), agent });
    assert.equal(hs.status, 200);
    const sid = parseOpen(hs.body).sid;
    for (let i = 0; i < 3; i++) {
      const post = await httpRequest(srv.port, { method: 'POST', path: eioUrl('/engine.io/', { sid }), body: `4ka${i}`, agent });
      assert.equal(post.status, 200);
      assert.equal(post.body, 'ok');
      const get = await httpRequest(srv.port, { path: eioUrl('/engine.io/', { sid }), agent });
      assert.equal(get.status, 200);
      assert.equal(get.body, `4ka${i}`);
    }
  });
});

describe('polling data', () => {
  itest('POST returns 200 "ok" and the message is echoed on the next GET', async (h) => {
    const srv = await h.echo(QUIET);
    const p = new RawPolling(h, srv.port);
    await p.handshake();
    const post = await p.post('4hello');
    assert.equal(post.status, 200);
    assert.equal(post.body, 'ok');
    const get = await p.getNow();
    assert.equal(get.status, 200);
    assert.equal(get.body, '4hello');
  });

  itest('a GET is held until data arrives, then returns it promptly', async (h) => {
    const srv = await h.echo(QUIET);
    const p = new RawPolling(h, srv.port);
    await p.handshake();
    const g = p.get();
    let settled = false;
    g.done.then(() => (settled = true), () => (settled = true));
    await sleep(400);
    assert.equal(settled, false, 'the GET must be held while there is nothing to send');
    const postedAt = Date.now();
    const post = await p.post('4wake up');
    assert.equal(post.body, 'ok');
    const res = await withTimeout(g.done, 5000, 'the held GET to return the echoed message');
    assert.equal(res.status, 200);
    assert.equal(res.body, '4wake up');
    // Promptly: long before the next ping (10 s) would have released it.
    assert.ok(res.at - postedAt < 3000, `held GET returned ${res.at - postedAt} ms after the POST`);
  });

  itest('UTF-8 text is echoed byte-exact', async (h) => {
    const srv = await h.echo(QUIET);
    const p = new RawPolling(h, srv.port);
    await p.handshake();
    const text = '4héllo wörld € 𝄞 日本語';
    assert.equal((await p.post(text)).body, 'ok');
    const get = await p.getNow();
    assert.equal(get.body, text);
  });

  itest('several packets in one POST come back in order', async (h) => {
    const srv = await h.echo(QUIET);
    const p = new RawPolling(h, srv.port);
    await p.handshake();
    const sent = Array.from({ length: 50 }, (_, i) => `4msg-${i}`);
    assert.equal((await p.post(sent.join(SEP))).body, 'ok');
    const { messages } = await drain(p, sent.length);
    assert.deepEqual(messages.map((m) => `4${m.data}`), sent);
  });

  itest('binary over polling: b+base64 in, b+base64 out, bytes equal', async (h) => {
    const srv = await h.echo(QUIET);
    const p = new RawPolling(h, srv.port);
    await p.handshake();
    const bytes = Buffer.from([0, 1, 2, 3, 127, 128, 254, 255, 0x1e, 0x0a]);
    assert.equal((await p.post(encodePayload([bytes]))).body, 'ok');
    const get = await p.getNow();
    assert.equal(get.status, 200);
    assert.equal(get.body[0], 'b', `binary must come back as b+base64: ${JSON.stringify(get.body)}`);
    const pk = decodePayload(get.body);
    assert.equal(pk.length, 1);
    assert.ok(pk[0].binary);
    assert.deepEqual(pk[0].data, bytes);
  });

  itest('mixed text and binary packets in one POST keep their order and kinds', async (h) => {
    const srv = await h.echo(QUIET);
    const p = new RawPolling(h, srv.port);
    await p.handshake();
    const b1 = Buffer.from('first binary');
    const b2 = Buffer.from([9, 8, 7]);
    assert.equal((await p.post(encodePayload(['4a', b1, '4b', b2, '4c']))).body, 'ok');
    const { messages } = await drain(p, 5);
    assert.deepEqual(
      messages.map((m) => (m.binary ? ['bin', m.data.toString('hex')] : ['txt', m.data])),
      [['txt', 'a'], ['bin', b1.toString('hex')], ['txt', 'b'], ['bin', b2.toString('hex')], ['txt', 'c']],
    );
  });
});

describe('polling batching against maxPayload', () => {
  itest('queued packets over maxPayload are split across GETs, in order, with nothing lost', async (h) => {
    const maxPayload = 100;
    const srv = await h.echo({ ...QUIET, maxPayload });
    const p = new RawPolling(h, srv.port);
    await p.handshake();
    assert.equal(p.open.maxPayload, maxPayload);
    // 6 POSTs of 5 packets each, every POST body <= maxPayload; ~ 450 bytes of echoes queued.
    const sent = [];
    for (let i = 0; i < 6; i++) {
      const batch = Array.from({ length: 5 }, (_, j) => `4p${i}-m${j}-${'x'.repeat(6)}`);
      const body = batch.join(SEP);
      assert.ok(Buffer.byteLength(body) <= maxPayload, 'test bug: POST body over maxPayload');
      const res = await p.post(body);
      assert.equal(res.status, 200, `POST #${i}: ${res.body}`);
      assert.equal(res.body, 'ok');
      sent.push(...batch);
    }
    const { messages, bodies } = await drain(p, sent.length);
    assert.deepEqual(messages.map((m) => `4${m.data}`), sent, 'order and completeness');
    for (const b of bodies) {
      assert.ok(
        Buffer.byteLength(b) <= maxPayload || decodePayload(b).length === 1,
        `GET body of ${Buffer.byteLength(b)} bytes exceeds maxPayload ${maxPayload} with several packets: ${JSON.stringify(b)}`,
      );
    }
    assert.ok(bodies.length >= Math.ceil(sent.join(SEP).length / maxPayload), `expected the queue split over several GETs, got ${bodies.length}`);
  });

  itest('a packet that fills maxPayload on its own is delivered alone, between its neighbours', async (h) => {
    // A POST body may not exceed maxPayload (413), so with echo-server the largest possible echoed
    // packet is exactly maxPayload bytes; it cannot share a response with any other packet.
    const maxPayload = 100;
    const srv = await h.echo({ ...QUIET, maxPayload });
    const p = new RawPolling(h, srv.port);
    await p.handshake();
    const big = `4${'B'.repeat(maxPayload - 1)}`;
    assert.equal(Buffer.byteLength(big), maxPayload);
    for (const body of ['4before', big, '4after']) {
      const res = await p.post(body);
      assert.equal(res.status, 200, `POST of ${body.length} bytes: ${res.status} ${res.body}`);
      assert.equal(res.body, 'ok');
    }
    const { messages, bodies } = await drain(p, 3);
    assert.deepEqual(messages.map((m) => `4${m.data}`), ['4before', big, '4after']);
    assert.ok(bodies.includes(big), `the big packet must be sent alone; bodies: ${JSON.stringify(bodies)}`);
    for (const b of bodies) assert.ok(Buffer.byteLength(b) <= maxPayload, `GET body over maxPayload: ${b.length}`);
  });

  itest('binary packets count toward maxPayload in their encoded size and are not lost', async (h) => {
    const maxPayload = 100;
    const srv = await h.echo({ ...QUIET, maxPayload });
    const p = new RawPolling(h, srv.port);
    await p.handshake();
    const sent = [];
    for (let i = 0; i < 8; i++) {
      const bin = Buffer.alloc(45, i); // b + 60 base64 chars = 61 bytes encoded
      sent.push(bin);
      assert.equal((await p.post(encodePayload([bin]))).body, 'ok');
    }
    const { messages, bodies } = await drain(p, sent.length);
    assert.deepEqual(messages.map((m) => m.binary && m.data.toString('hex')), sent.map((b) => b.toString('hex')));
    for (const b of bodies) assert.ok(Buffer.byteLength(b) <= maxPayload, `GET body of ${Buffer.byteLength(b)} bytes over maxPayload`);
  });
});
