// socket.io-client 4.8 against sio-test-server: connect and auth, socket ids, events and acks both
// ways, client and server ack timeouts, binary arguments both ways; in every transport mode.

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { itest } from '../lib/harness.mjs';
import { MODES, startSio, connect, transportOf, pattern, ask, askAll } from '../lib/sio.mjs';

/** Asserts that v is a Buffer with the bytes of expected. */
function assertBuffer(v, expected, what) {
  assert.ok(Buffer.isBuffer(v), `${what}: expected a Buffer, got ${Object.prototype.toString.call(v)} ${JSON.stringify(v)?.slice(0, 200)}`);
  assert.equal(v.length, expected.length, `${what}: length`);
  assert.ok(v.equals(expected), `${what}: bytes differ`);
}

for (const mode of MODES) {
  describe(`socket.io-client basics, ${mode.name}`, () => {
    itest('connects to / and receives its auth object; the socket id is not the engine id', async (h) => {
      const srv = await startSio(h);
      const auth = { token: 'abc', n: 1, nested: { x: [1, 2, null], ok: true, s: 'é€𝄞' } };
      const a = await connect(h, srv, mode, '/', { auth });
      assert.equal(transportOf(a), mode.final);
      assert.ok(a.connected);
      assert.equal(typeof a.id, 'string');
      assert.ok(a.id.length >= 8, `socket id ${a.id}`);
      const eid = a.io.engine.id;
      assert.equal(typeof eid, 'string');
      assert.notEqual(a.id, eid, 'socket id must not be the Engine.IO sid');
      assert.ok(!a.id.includes(eid) && !eid.includes(a.id), `socket id ${a.id} derived from sid ${eid}?`);
      const [got] = await a.rec.next('auth');
      assert.deepEqual(got, auth);
      // The "auth" event was emitted from the connect handler: it must come after 'connect'.
      assert.deepEqual(a.rec.events().slice(0, 2), ['connect', 'auth']);

      const b = await connect(h, srv, mode, '/');
      assert.deepEqual((await b.rec.next('auth'))[0], {}, 'no auth given → {}');
      assert.notEqual(a.id, b.id);
      assert.notEqual(a.io.engine.id, b.io.engine.id);
    });

    itest('custom query parameters (long ones too, placed before EIO) reach handshake.query', async (h) => {
      const srv = await startSio(h);
      // engine.io-client puts the user's query keys before EIO/transport/sid in every URL.
      const query = { token: 'k'.repeat(120), lang: 'fr', empty: '' };
      const s = await connect(h, srv, mode, '/rooms', { query });
      assert.equal(transportOf(s), mode.final);
      const [me] = await ask(s, 2000, 'fetch', { rooms: [s.id] });
      assert.equal(me.id, s.id);
      for (const [k, v] of Object.entries(query)) assert.equal(me.handshake.query[k], v, `handshake.query.${k}`);
      assert.equal(me.handshake.query.EIO, '4');
      // The session keeps working through later requests, which carry the same query.
      for (let i = 0; i < 5; i++) assert.equal((await ask(s, 2000, 'join', `q${i}`)).ok, true);
    });

    itest('events both ways: message → message-back with the same arguments', async (h) => {
      const srv = await startSio(h);
      const s = await connect(h, srv, mode);
      const cases = [
        ['hello'],
        ['héllo €𝄞', 42, -1.5, true, false, null],
        [{ a: [1, null, true], b: { c: 'd' } }, ['x', ['y']], ''],
        [],
        ['x'.repeat(20000)],
      ];
      for (const args of cases) {
        s.emit('message', ...args);
        const got = await s.rec.next('message-back', 2000);
        assert.deepEqual(got, args);
      }
      // Several in flight keep their order.
      for (let i = 0; i < 20; i++) s.emit('message', i);
      for (let i = 0; i < 20; i++) assert.deepEqual(await s.rec.next('message-back', 2000), [i]);
    });

    itest('acks from the server: message-with-ack answers with the same arguments', async (h) => {
      const srv = await startSio(h);
      const s = await connect(h, srv, mode);
      assert.deepEqual(await ask(s, 2000, 'message-with-ack', { q: 1 }), { q: 1 });
      assert.deepEqual(await askAll(s, 2000, 'message-with-ack', 1, 'two', { three: [3] }, null), [1, 'two', { three: [3] }, null]);
      assert.deepEqual(await askAll(s, 2000, 'message-with-ack'), []);
      // Concurrent acks are matched to their own requests.
      const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => ask(s, 3000, 'message-with-ack', `r${i}`)));
      assert.deepEqual(replies, Array.from({ length: 10 }, (_, i) => `r${i}`));
    });

    itest('acks from the client: the server asks, the client answers through its callback', async (h) => {
      const srv = await startSio(h);
      const s = await connect(h, srv, mode, '/rooms');
      s.on('please-add', (a, b, cb) => cb(a + b, 'done', { a, b }));
      assert.deepEqual(await ask(s, 2000, 'ask', { event: 'please-add', args: [2, 3], timeout: 2000 }), { ok: true });
      assert.deepEqual((await s.rec.next('ask-result'))[0], { args: [5, 'done', { a: 2, b: 3 }] });

      // Without a timeout (0) as well.
      assert.deepEqual(await ask(s, 2000, 'ask', { event: 'please-add', args: [10, 20], timeout: 0 }), { ok: true });
      assert.deepEqual((await s.rec.next('ask-result'))[0], { args: [30, 'done', { a: 10, b: 20 }] });

      // An ack with no arguments.
      s.on('please-ack-empty', (cb) => cb());
      await ask(s, 2000, 'ask', { event: 'please-ack-empty', args: [], timeout: 2000 });
      assert.deepEqual((await s.rec.next('ask-result'))[0], { args: [] });
    });

    itest('a server ask with a timeout to a client that never answers reports a timeout', async (h) => {
      const srv = await startSio(h);
      const s = await connect(h, srv, mode, '/rooms');
      let called = 0;
      s.on('ignore-me', (x, cb) => {
        called++;
        assert.equal(typeof cb, 'function', 'the server asked for an ack');
      });
      const t0 = Date.now();
      await ask(s, 2000, 'ask', { event: 'ignore-me', args: ['x'], timeout: 300 });
      const [res] = await s.rec.next('ask-result', 3000);
      const elapsed = Date.now() - t0;
      assert.deepEqual(res, { error: 'operation has timed out' });
      assert.equal(called, 1);
      assert.ok(elapsed >= 250, `timed out after ${elapsed} ms, expected about 300`);
      assert.ok(elapsed < 2000, `timed out after ${elapsed} ms, expected about 300`);
      // The socket is still usable and later acks still work.
      s.on('please-add', (a, b, cb) => cb(a + b));
      await ask(s, 2000, 'ask', { event: 'please-add', args: [1, 1], timeout: 1000 });
      assert.deepEqual((await s.rec.next('ask-result'))[0], { args: [2] });
    });

    itest('client timeout: emitWithAck to an event the server does not ack rejects', async (h) => {
      const srv = await startSio(h);
      const s = await connect(h, srv, mode);
      const t0 = Date.now();
      await assert.rejects(s.timeout(200).emitWithAck('no-such-event', 1, 2), (err) => {
        assert.match(err.message, /operation has timed out/);
        return true;
      });
      assert.ok(Date.now() - t0 >= 180);
      // The unanswered ack did not break the session.
      assert.ok(s.connected);
      assert.equal(await s.timeout(2000).emitWithAck('message-with-ack', 'still here'), 'still here');
    });

    itest('binary arguments both ways arrive as Buffers with equal bytes', async (h) => {
      const srv = await startSio(h);
      const s = await connect(h, srv, mode);
      const one = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x1e, 0x0a]);

      s.emit('message', one);
      let [got] = await s.rec.next('message-back');
      assertBuffer(got, one, 'single buffer');

      const nested = pattern(300, 1);
      s.emit('message', { a: [nested], s: 'str', n: 1 });
      [got] = await s.rec.next('message-back');
      assert.deepEqual(Object.keys(got).sort(), ['a', 's', 'n'].sort());
      assert.equal(got.s, 'str');
      assert.equal(got.n, 1);
      assert.ok(Array.isArray(got.a) && got.a.length === 1);
      assertBuffer(got.a[0], nested, 'nested {a:[Buffer]}');

      const b1 = pattern(10, 2);
      const b2 = pattern(1000, 3);
      const b3 = pattern(5, 4);
      s.emit('message', b1, 'mid', b2, { c: b3, d: [1, b1] });
      const all = await s.rec.next('message-back');
      assert.equal(all.length, 4);
      assertBuffer(all[0], b1, 'arg 0');
      assert.equal(all[1], 'mid');
      assertBuffer(all[2], b2, 'arg 2');
      assertBuffer(all[3].c, b3, 'arg 3 .c');
      assert.equal(all[3].d[0], 1);
      assertBuffer(all[3].d[1], b1, 'arg 3 .d[1]');

      // Binary in acks (BINARY_ACK), both with an object around it and alone.
      const r = await askAll(s, 2000, 'message-with-ack', 'k', { bin: b2 }, b3);
      assert.equal(r.length, 3);
      assert.equal(r[0], 'k');
      assertBuffer(r[1].bin, b2, 'ack .bin');
      assertBuffer(r[2], b3, 'ack arg 2');

      // Text after binary still flows.
      s.emit('message', 'text again');
      assert.deepEqual(await s.rec.next('message-back'), ['text again']);
    });

    itest('binary: empty and large buffers, and binary in a client ack to the server', async (h) => {
      const srv = await startSio(h);
      const s = await connect(h, srv, mode);
      s.emit('message', Buffer.alloc(0), 'after-empty');
      const [empty, tail] = await s.rec.next('message-back');
      assertBuffer(empty, Buffer.alloc(0), 'empty buffer');
      assert.equal(tail, 'after-empty');

      const big = pattern(200 * 1024, 7);
      s.emit('message', big);
      assertBuffer((await s.rec.next('message-back', 4000))[0], big, '200 KiB buffer');

      const rs = await connect(h, srv, mode, '/rooms');
      const fromServer = pattern(64, 9);
      rs.on('echo-bytes', (b, cb) => {
        assertBuffer(b, fromServer, 'server → client binary event');
        cb(Buffer.concat([b, Buffer.from([0xaa])]), { inner: [b] });
      });
      // The server sends a binary event asking for an ack; the client's binary ack comes back.
      await ask(rs, 2000, 'emit-to', { rooms: [rs.id], event: 'bin-probe', args: [fromServer] });
      assertBuffer((await rs.rec.next('bin-probe'))[0], fromServer, 'emit-to binary');
      await ask(rs, 2000, 'ask', { event: 'echo-bytes', args: [fromServer], timeout: 2000 });
      const [res] = await rs.rec.next('ask-result');
      assert.ok(res.args, `ask-result ${JSON.stringify(res)}`);
      assertBuffer(res.args[0], Buffer.concat([fromServer, Buffer.from([0xaa])]), 'client binary ack arg 0');
      assertBuffer(res.args[1].inner[0], fromServer, 'client binary ack arg 1');
    });
  });
}
