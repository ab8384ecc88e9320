// socket.io-client 4.8 against examples/chat-handlers (examples/chat_handlers.c): auth on connect,
// join / say (text and binary) / whisper / who (fetchSockets) with acks, the server's own ack
// request (ping-me, answered and timed out), the catch-all, and "left" on disconnect. Each case
// runs with every client on WebSocket, every client on polling, and a mix of both, on its own
// server, which must then exit 0 on SIGTERM with clients still connected (and, in a sanitizer
// build, with no report).

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { itest, sleep, withTimeout } from '../lib/harness.mjs';
import { connect, ask } from '../lib/sio.mjs';

const NSP = '/chat';
const LOG_LEVEL = process.env.SIO_TEST_LOG_LEVEL ?? 'debug';
const WS = { name: 'websocket', transports: ['websocket'] };
const POLL = { name: 'polling', transports: ['polling'] };
/** Transport of the first, second and third client of each case. */
const SUITES = [
  { name: 'websocket', modes: [WS, WS, WS] },
  { name: 'polling', modes: [POLL, POLL, POLL] },
  { name: 'websocket + polling', modes: [WS, POLL, WS] },
];

/** chat-handlers on a free port; stopped when the test ends. */
async function startChat(h) {
  const sp = await h.start('chat-handlers', (port) => {
    const a = ['--port', String(port)];
    if (LOG_LEVEL) a.push('--log-level', LOG_LEVEL);
    return a;
  });
  return Object.assign(sp, { url: `http://127.0.0.1:${sp.port}`, path: '/socket.io/' });
}

/**
 * A test case with its own chat-handlers: fn(h, srv) runs, then the server is stopped with SIGTERM
 * (clients still connected) and must exit 0 with nothing from the sanitizers on stderr.
 */
function chatTest(name, fn) {
  itest(name, async (h) => {
    const srv = await startChat(h);
    await fn(h, srv);
    const st = await srv.stop();
    const err = srv.proc.stderr;
    await withTimeout(new Promise((r) => (err.readableEnded ? r() : err.once('end', r))), 2000, 'the end of stderr');
    assert.deepEqual(st, { code: 0, signal: null }, 'chat-handlers exits 0 on SIGTERM');
    assert.doesNotMatch(srv.stderr, /Sanitizer|runtime error:/, 'sanitizer report on stderr');
  });
}

/** Connects client number i of the suite as `name` and consumes its "welcome". */
async function enter(h, srv, suite, i, name) {
  const s = await connect(h, srv, suite.modes[i], NSP, { auth: { name } });
  const [welcome] = await s.rec.next('welcome');
  assert.equal(welcome.name, name);
  return s;
}

/**
 * Waits until everything the server sent s before now has arrived: s whispers a unique tag to
 * itself and waits for it (one session's packets stay in order). Makes absence checks exact.
 */
async function flush(s) {
  const tag = `flush-${Math.random().toString(36).slice(2)}`;
  assert.deepEqual(await ask(s, 2000, 'whisper', { to: s.id, text: tag }), { ok: true });
  await s.rec.next('private', 2000, ([p]) => p.text === tag);
}

/** Asserts that s received no (untaken) `event` so far, after a flush. */
async function assertNone(s, event, what) {
  await flush(s);
  const got = s.rec.log.filter((e) => e.event === event && !e.taken).map((e) => e.args);
  assert.deepEqual(got, [], what);
}

for (const suite of SUITES) {
  describe(`chat-handlers, ${suite.name}`, () => {
    chatTest('connect requires auth.name (1..32 characters): connect_error "name required" otherwise', async (h, srv) => {
      const bad = [undefined, {}, { name: '' }, { name: 42 }, { name: 'x'.repeat(33) }, { name: 'é'.repeat(33) }];
      for (const auth of bad) {
        const s = await connect(h, srv, suite.modes[0], NSP, { auth, expectConnect: false });
        const [err] = await s.rec.next('connect_error', 3000);
        assert.equal(err.message, 'name required', `auth ${JSON.stringify(auth)}`);
        assert.deepEqual(err.data, { field: 'name' }, `auth ${JSON.stringify(auth)}`);
        assert.equal(s.connected, false);
        s.close();
      }
      // 32 characters is the limit (counted as characters, not bytes); the "welcome" emitted in
      // the connect handler arrives after 'connect' and counts the sockets online.
      const a = await connect(h, srv, suite.modes[0], NSP, { auth: { name: 'é'.repeat(32) } });
      const [wa] = await a.rec.next('welcome');
      assert.deepEqual(wa, { name: 'é'.repeat(32), online: 1 });
      assert.deepEqual(a.rec.events().slice(0, 2), ['connect', 'welcome']);
      const b = await connect(h, srv, suite.modes[1], NSP, { auth: { name: 'bob', extra: [1] } });
      assert.deepEqual((await b.rec.next('welcome'))[0], { name: 'bob', online: 2 });
      // Only /chat exists.
      const other = await connect(h, srv, suite.modes[2], '/', { expectConnect: false });
      assert.equal((await other.rec.next('connect_error', 3000))[0].message, 'Invalid namespace');
      other.close();
    });

    chatTest('join acks the member count and tells the others in the room', async (h, srv) => {
      const a = await enter(h, srv, suite, 0, 'alice');
      const b = await enter(h, srv, suite, 1, 'bob');
      const c = await enter(h, srv, suite, 2, 'carol');
      assert.deepEqual(await ask(a, 2000, 'join', 'lobby'), { ok: true, members: 1 });
      assert.deepEqual(await ask(b, 2000, 'join', 'lobby'), { ok: true, members: 2 });
      assert.deepEqual((await a.rec.next('joined'))[0], { name: 'bob', room: 'lobby' });
      // Joining again changes nothing and announces nothing.
      assert.deepEqual(await ask(a, 2000, 'join', 'lobby'), { ok: true, members: 2 });
      assert.deepEqual(await ask(c, 2000, 'join', 'kitchen'), { ok: true, members: 1 });
      assert.deepEqual(await ask(c, 2000, 'join', 'lobby'), { ok: true, members: 3 });
      assert.deepEqual((await a.rec.next('joined'))[0], { name: 'carol', room: 'lobby' });
      assert.deepEqual((await b.rec.next('joined'))[0], { name: 'carol', room: 'lobby' });
      await assertNone(a, 'joined', 'alice: no more "joined" (not for herself, not for a re-join)');
      await assertNone(b, 'joined', 'bob: only carol\'s "joined"');
      await assertNone(c, 'joined', 'carol: nobody joined after her');
      // Errors: no room, and another socket's id (its private room).
      assert.deepEqual(await ask(a, 2000, 'join'), { ok: false, error: 'room required' });
      assert.deepEqual(await ask(a, 2000, 'join', ''), { ok: false, error: 'room required' });
      assert.deepEqual(await ask(a, 2000, 'join', { room: 'x' }), { ok: false, error: 'room required' });
      assert.deepEqual(await ask(a, 2000, 'join', b.id), { ok: false, error: 'reserved room name' });
    });

    chatTest('say broadcasts "message" to the room, sender included, and needs membership', async (h, srv) => {
      const a = await enter(h, srv, suite, 0, 'alice');
      const b = await enter(h, srv, suite, 1, 'bob');
      const c = await enter(h, srv, suite, 2, 'carol');
      await ask(a, 2000, 'join', 'lobby');
      await ask(b, 2000, 'join', 'lobby');
      const before = Date.now();
      assert.deepEqual(await ask(a, 2000, 'say', { room: 'lobby', text: 'hi all €𝄞' }), { ok: true });
      for (const s of [a, b]) {
        const [m] = await s.rec.next('message');
        assert.deepEqual(Object.keys(m).sort(), ['from', 'room', 'text', 'ts']);
        assert.equal(m.from, 'alice');
        assert.equal(m.room, 'lobby');
        assert.equal(m.text, 'hi all €𝄞');
        assert.equal(typeof m.ts, 'number');
        assert.ok(m.ts >= before - 1000 && m.ts <= Date.now() + 1000, `ts ${m.ts} is wall-clock ms`);
      }
      // Binary text travels as an attachment and arrives as a Buffer.
      const bytes = Buffer.from([0, 1, 2, 255, 254, 10]);
      assert.deepEqual(await ask(b, 2000, 'say', { room: 'lobby', text: bytes }), { ok: true });
      for (const s of [a, b]) {
        const [m] = await s.rec.next('message');
        assert.equal(m.from, 'bob');
        assert.ok(Buffer.isBuffer(m.text) && m.text.equals(bytes), `binary text: ${JSON.stringify(m.text)}`);
      }
      // Not a member: refused, nothing sent.
      assert.deepEqual(await ask(c, 2000, 'say', { room: 'lobby', text: 'let me in' }), { ok: false, error: 'not in room' });
      assert.deepEqual(await ask(c, 2000, 'say', { room: 'nowhere', text: 'x' }), { ok: false, error: 'not in room' });
      await assertNone(c, 'message', 'carol is not in lobby');
      await assertNone(a, 'message', 'alice: only the two lobby messages');
      await assertNone(b, 'message', 'bob: only the two lobby messages');
      // Malformed arguments.
      assert.deepEqual(await ask(a, 2000, 'say', { room: 'lobby' }), { ok: false, error: 'expected {room, text}' });
      assert.deepEqual(await ask(a, 2000, 'say', 'lobby', 'hi'), { ok: false, error: 'expected {room, text}' });
      assert.deepEqual(await ask(a, 2000, 'say', { room: 'lobby', text: 7 }), { ok: false, error: 'expected {room, text}' });
      // A say without an ack callback still broadcasts.
      a.emit('say', { room: 'lobby', text: 'no ack' });
      assert.equal((await b.rec.next('message'))[0].text, 'no ack');
    });

    chatTest('whisper reaches one socket by id; an unknown id is an error', async (h, srv) => {
      const a = await enter(h, srv, suite, 0, 'alice');
      const b = await enter(h, srv, suite, 1, 'bob');
      const c = await enter(h, srv, suite, 2, 'carol');
      assert.deepEqual(await ask(a, 2000, 'whisper', { to: b.id, text: 'psst' }), { ok: true });
      assert.deepEqual((await b.rec.next('private'))[0], { from: 'alice', fromId: a.id, text: 'psst' });
      assert.deepEqual(await ask(a, 2000, 'whisper', { to: 'no-such-socket', text: 'x' }), { ok: false, error: 'no such socket' });
      assert.deepEqual(await ask(a, 2000, 'whisper', { to: b.id }), { ok: false, error: 'expected {to, text}' });
      // A room name is not a socket: whispering to "lobby" must not reach its members.
      await ask(b, 2000, 'join', 'lobby');
      await ask(c, 2000, 'join', 'lobby');
      assert.deepEqual(await ask(a, 2000, 'whisper', { to: 'lobby', text: 'to all?' }), { ok: false, error: 'no such socket' });
      await assertNone(b, 'private', 'bob: only the first whisper');
      await assertNone(c, 'private', 'carol overhears nothing');
      await assertNone(a, 'private', 'the whisperer gets no copy');
      // A socket that has left is no longer reachable.
      const bid = b.id;
      b.disconnect();
      await a.rec.next('left', 3000);
      assert.deepEqual(await ask(a, 2000, 'whisper', { to: bid, text: 'still there?' }), { ok: false, error: 'no such socket' });
    });

    chatTest('ping-me: the server asks the client for an ack and reports it as "pong-received"', async (h, srv) => {
      const a = await enter(h, srv, suite, 0, 'alice');
      let pings = 0;
      a.on('ping', (payload, cb) => {
        pings++;
        assert.equal(typeof payload.ts, 'number');
        assert.equal(typeof cb, 'function', 'the server asked for an ack');
        cb('pong', 42, { nested: [true] });
      });
      assert.deepEqual(await ask(a, 2000, 'ping-me'), { ok: true });
      assert.deepEqual(await a.rec.next('pong-received', 2000), ['pong', 42, { nested: [true] }]);
      // Without an ack callback on the client's side the event still works.
      a.emit('ping-me');
      assert.deepEqual(await a.rec.next('pong-received', 2000), ['pong', 42, { nested: [true] }]);
      assert.equal(pings, 2);
    });

    chatTest('ping-me: a client that never acks gets {"error":"operation has timed out"} after 2 s', async (h, srv) => {
      const a = await enter(h, srv, suite, 0, 'alice');
      const b = await enter(h, srv, suite, 1, 'bob');
      a.on('ping', () => {}); // ignores the ack callback
      const t0 = Date.now();
      assert.deepEqual(await ask(a, 2000, 'ping-me'), { ok: true });
      const [res] = await a.rec.next('pong-received', 5000);
      const elapsed = Date.now() - t0;
      assert.deepEqual(res, { error: 'operation has timed out' });
      assert.ok(elapsed >= 1800 && elapsed < 4000, `timed out after ${elapsed} ms, expected about 2000`);
      // A ping pending when the client leaves ends quietly (no crash, nothing sent to anyone).
      b.on('ping', () => {});
      assert.deepEqual(await ask(b, 2000, 'ping-me'), { ok: true });
      b.disconnect();
      await a.rec.next('left', 3000);
      await sleep(2300); // past the 2 s timeout of b's ping
      assert.deepEqual(await ask(a, 2000, 'join', 'still-alive'), { ok: true, members: 1 });
      await assertNone(a, 'pong-received', 'bob\'s outcome goes to nobody');
    });

    chatTest('the catch-all acks unknown events with an error, and ignores them without an ack', async (h, srv) => {
      const a = await enter(h, srv, suite, 0, 'alice');
      assert.deepEqual(await ask(a, 2000, 'dance', 1, 2), { ok: false, error: 'unknown event' });
      assert.deepEqual(await ask(a, 2000, 'JOIN', 'lobby'), { ok: false, error: 'unknown event' });
      a.emit('dance'); // no ack asked: nothing comes back
      assert.deepEqual(await ask(a, 2000, 'join', 'lobby'), { ok: true, members: 1 });

      // A reserved name sent as a plain event (the client library refuses to emit one, so the
      // packet is written raw, with ack id 977). Either the server treats it as an unknown event
      // and the catch-all answers, or it rejects the packet and closes the session as Node's
      // parser does; it must never run the disconnect path for a live socket.
      const acked = new Promise((resolve) => {
        a.io.engine.on('message', (m) => {
          if (typeof m === 'string' && m.startsWith(`3${NSP},977`)) resolve({ ack: JSON.parse(m.slice(`3${NSP},977`.length)) });
        });
      });
      const closed = new Promise((resolve) => a.on('disconnect', (reason) => resolve({ disconnect: reason })));
      a.io.engine.write(`2${NSP},977["disconnect","bye"]`); // Engine.IO message: Socket.IO EVENT
      const outcome = await withTimeout(Promise.race([acked, closed]), 3000, 'an answer to a raw "disconnect" event');
      if (outcome.ack) {
        assert.deepEqual(outcome.ack, [{ ok: false, error: 'reserved event name' }]);
        assert.ok(a.connected);
        assert.deepEqual(await ask(a, 2000, 'join', 'lobby'), { ok: true, members: 1 });
      } else {
        assert.equal(outcome.disconnect, 'transport close', 'a rejected packet closes the session');
      }
    });

    chatTest('who lists the names of a room from the sockets\' data slots (fetchSockets)', async (h, srv) => {
      const a = await enter(h, srv, suite, 0, 'alice');
      const b = await enter(h, srv, suite, 1, 'bob');
      const c = await enter(h, srv, suite, 2, 'carol');
      await ask(a, 2000, 'join', 'lobby');
      await ask(c, 2000, 'join', 'lobby');
      await ask(b, 2000, 'join', 'kitchen');
      const res = await ask(b, 2000, 'who', 'lobby');
      assert.equal(res.ok, true);
      assert.deepEqual([...res.names].sort(), ['alice', 'carol']);
      assert.deepEqual(await ask(b, 2000, 'who', 'kitchen'), { ok: true, names: ['bob'] });
      assert.deepEqual(await ask(b, 2000, 'who', 'empty'), { ok: true, names: [] });
      assert.deepEqual(await ask(b, 2000, 'who', a.id), { ok: true, names: ['alice'] }, 'an id room holds its socket');
      assert.deepEqual(await ask(b, 2000, 'who'), { ok: false, error: 'room required' });
      c.disconnect();
      await a.rec.next('left', 3000);
      assert.deepEqual(await ask(b, 2000, 'who', 'lobby'), { ok: true, names: ['alice'] });
    });

    chatTest('disconnect tells everyone else "left" with the name and the reason', async (h, srv) => {
      const a = await enter(h, srv, suite, 0, 'alice');
      const b = await enter(h, srv, suite, 1, 'bob');
      const c = await enter(h, srv, suite, 2, 'carol');
      await ask(b, 2000, 'join', 'lobby'); // rooms do not matter: the whole namespace is told

      b.disconnect(); // a DISCONNECT packet for /chat
      for (const s of [a, c]) assert.deepEqual((await s.rec.next('left', 3000))[0], { name: 'bob', reason: 'client namespace disconnect' });

      c.io.engine.close(); // the whole Engine.IO session goes away
      assert.deepEqual((await a.rec.next('left', 3000))[0], { name: 'carol', reason: 'transport close' });
      await assertNone(a, 'left', 'alice: exactly two "left"');
      assert.deepEqual(await ask(a, 2000, 'join', 'lobby'), { ok: true, members: 1 }, 'bob left lobby');

      // A newcomer with a name already used is a different socket.
      const b2 = await enter(h, srv, suite, 1, 'bob');
      assert.notEqual(b2.id, b.id);
      assert.deepEqual(await ask(b2, 2000, 'join', 'lobby'), { ok: true, members: 2 });
      assert.deepEqual((await a.rec.next('joined'))[0], { name: 'bob', room: 'lobby' });
    });
  });
}
