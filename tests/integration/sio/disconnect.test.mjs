// socket.io-client 4.8 against sio-test-server: disconnects and their reasons on both sides,
// connectTimeout for sessions that never connect a namespace, and parse errors closing the session.
//
// Reasons asserted here are the ones the official client reports against Node's socket.io 4.8
// (checked with SIO_TEST_SERVER=ref):
//   server sio_socket_disconnect(s, false)  client: "io server disconnect"; other namespaces of
//                                           the session stay connected; others see "left"
//                                           with "server namespace disconnect"
//   server sio_socket_disconnect(s, true)   every socket of the session (Node sends a DISCONNECT
//                                           for each before closing): "io server disconnect";
//                                           others see "left" with "server namespace disconnect"
//   client socket.disconnect()              server reason "client namespace disconnect"
//   client engine.close()                   server reason "transport close"

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { itest, sleep, withTimeout, RawPolling, decodePayload, wsUrl } from '../lib/harness.mjs';
import { MODES, startSio, connect, connectSibling, rawEngine, ask } from '../lib/sio.mjs';

/**
 * A raw session (no client library) connected to /rooms on mode's final transport (upgrading
 * from polling in upgrade mode) that then goes silent: no pongs, no polls, connection kept open.
 * Resolves with {socketId}.
 */
async function silentSession(h, srv, mode) {
  const parseConnect = (text) => {
    const m = /^40\/rooms,(\{.*\})$/.exec(text);
    if (!m) throw new Error(`expected the /rooms CONNECT reply, got ${JSON.stringify(text)}`);
    return JSON.parse(m[1]).sid;
  };
  if (mode.final === 'polling') {
    const p = new RawPolling(h, srv.port, srv.path);
    await p.handshake();
    const res = await p.post('40/rooms,');
    assert.equal(res.body, 'ok');
    const got = decodePayload((await p.getNow(2000, 'the CONNECT reply')).body);
    const reply = got.find((pk) => pk.type === '4' && pk.data.startsWith('0/rooms,'));
    assert.ok(reply, `CONNECT reply in ${JSON.stringify(got)}`);
    return { socketId: parseConnect(`4${reply.data}`) };
  }
  let ws;
  if (mode.upgrade) {
    const p = new RawPolling(h, srv.port, srv.path);
    await p.handshake();
    ws = h.ws(srv.port, wsUrl(srv.path, { sid: p.sid }));
    await ws.opened;
    ws.send('2probe');
    assert.equal((await ws.nextNonPing(2000, '3probe', { pong: false })).data, '3probe');
    ws.send('5');
  } else {
    ws = h.ws(srv.port, wsUrl(srv.path));
    await ws.opened;
    const open = await ws.next(2000, 'the open packet');
    assert.equal(open.data[0], '0');
  }
  ws.send('40/rooms,');
  const reply = await ws.nextNonPing(2000, 'the CONNECT reply', { pong: false });
  return { socketId: parseConnect(reply.data) };
}

/** Resolves with the [reason] of socket's next 'disconnect' (bounded). */
const disconnected = (s, ms = 3000) => s.rec.next('disconnect', ms).then(([reason]) => reason);

for (const mode of MODES) {
  describe(`socket.io-client disconnects, ${mode.name}`, () => {
    itest('server disconnect-me(false): "io server disconnect", the session stays open for other namespaces', async (h) => {
      const srv = await startSio(h);
      const observer = await connect(h, srv, mode, '/rooms');
      const root = await connect(h, srv, mode, '/');
      const rooms = await connectSibling(root, '/rooms');
      const id = rooms.id;
      rooms.emit('disconnect-me', false);
      assert.equal(await disconnected(rooms), 'io server disconnect');
      assert.equal(rooms.connected, false);
      const [left] = await observer.rec.next('left', 3000, (a) => a[0].id === id);
      assert.deepEqual(left, { id, reason: 'server namespace disconnect' });
      // The Engine.IO session and the "/" socket are untouched.
      await sleep(100);
      assert.equal(root.io.engine.readyState, 'open');
      assert.ok(root.connected);
      assert.equal(root.rec.count('disconnect'), 0);
      assert.equal(await ask(root, 2000, 'message-with-ack', 'alive'), 'alive');
      // The server forgot the socket: fetch no longer lists it.
      const list = await ask(observer, 2000, 'fetch', {});
      assert.deepEqual(list.map((s) => s.id), [observer.id]);
    });

    itest('server disconnect-me(true) closes the whole session', async (h) => {
      const srv = await startSio(h);
      const observer = await connect(h, srv, mode, '/rooms');
      const root = await connect(h, srv, mode, '/');
      const rooms = await connectSibling(root, '/rooms');
      const admin = await connectSibling(root, '/admin', { auth: { token: 'secret' } });
      const ids = { rooms: rooms.id, root: root.id };
      const engineClosed = new Promise((resolve) => root.io.engine.once('close', (reason) => resolve(reason)));
      rooms.emit('disconnect-me', true);
      assert.equal(await disconnected(rooms), 'io server disconnect');
      // Node's server sends a DISCONNECT for every namespace of the session before closing it, so
      // the client reports "io server disconnect" for the siblings too.
      assert.equal(await disconnected(root), 'io server disconnect', 'the "/" socket on the same session');
      assert.equal(await disconnected(admin), 'io server disconnect', 'the "/admin" socket on the same session');
      await withTimeout(engineClosed, 5000, 'the Engine.IO session to close');
      const [left] = await observer.rec.next('left', 3000, (a) => a[0].id === ids.rooms);
      assert.deepEqual(left, { id: ids.rooms, reason: 'server namespace disconnect' });
      // The observer is fine.
      assert.ok(observer.connected);
      const list = await ask(observer, 2000, 'fetch', {});
      assert.deepEqual(list.map((s) => s.id), [observer.id]);
    });

    itest('client socket.disconnect(): others see "left" with "client namespace disconnect"', async (h) => {
      const srv = await startSio(h);
      const observer = await connect(h, srv, mode, '/rooms');
      const root = await connect(h, srv, mode, '/');
      const rooms = await connectSibling(root, '/rooms');
      await ask(rooms, 2000, 'join', 'gone-room');
      const id = rooms.id;
      rooms.disconnect();
      assert.equal(await disconnected(rooms), 'io client disconnect');
      const [left] = await observer.rec.next('left', 3000, (a) => a[0].id === id);
      assert.deepEqual(left, { id, reason: 'client namespace disconnect' });
      // It left its rooms.
      assert.equal((await ask(observer, 2000, 'emit-to', { rooms: ['gone-room'], event: 'x', args: [] })).count, 0);
      assert.equal((await ask(observer, 2000, 'emit-to', { rooms: [id], event: 'x', args: [] })).count, 0);
      // The session stays open for "/".
      assert.equal(await ask(root, 2000, 'message-with-ack', 'alive'), 'alive');

      // A lone socket: disconnecting it also closes its engine; the reason is the same.
      const lone = await connect(h, srv, mode, '/rooms');
      const loneId = lone.id;
      lone.disconnect();
      const [left2] = await observer.rec.next('left', 3000, (a) => a[0].id === loneId);
      assert.deepEqual(left2, { id: loneId, reason: 'client namespace disconnect' });
    });

    itest('client engine.close(): others see "left" with "transport close"', async (h) => {
      const srv = await startSio(h);
      const observer = await connect(h, srv, mode, '/rooms');
      const victim = await connect(h, srv, mode, '/rooms');
      const root = await connectSibling(victim, '/');
      const id = victim.id;
      victim.io.engine.close();
      const [left] = await observer.rec.next('left', 3000, (a) => a[0].id === id);
      assert.deepEqual(left, { id, reason: 'transport close' });
      assert.equal(root.connected, false);
      await sleep(50);
      const list = await ask(observer, 2000, 'fetch', {});
      assert.deepEqual(list.map((s) => s.id), [observer.id]);
    });

    itest('a client that stops answering pings is reaped: "left" with "ping timeout"', async (h) => {
      // A short interval keeps the test quick; the timeout leaves the observer (a real client that
      // does answer) 2.5 s of scheduling delay before its own session would be at risk.
      const PI = 500, PT = 2500;
      const srv = await startSio(h, { pingInterval: PI, pingTimeout: PT });
      const observer = await connect(h, srv, mode, '/rooms');
      const silent = await silentSession(h, srv, mode);
      const t0 = Date.now();
      const [left] = await observer.rec.next('left', PI + PT + 4000, (a) => a[0].id === silent.socketId);
      const after = Date.now() - t0;
      assert.deepEqual(left, { id: silent.socketId, reason: 'ping timeout' });
      // The server's own timer must fire at pingInterval + pingTimeout, no request needed.
      assert.ok(after <= PI + PT + 2000, `reaped ${after} ms after going silent (pingInterval ${PI} + pingTimeout ${PT})`);
      const list = await ask(observer, 2000, 'fetch', {});
      assert.deepEqual(list.map((s) => s.id), [observer.id]);
    });

    itest('connectTimeout: a session that never connects a namespace is closed after ~1 s', async (h) => {
      const srv = await startSio(h, { connectTimeout: 1000 });
      const idle = rawEngine(h, srv, mode);
      const good = rawEngine(h, srv, mode);
      const openedAt = await idle.opened;
      await good.opened;
      good.sock.send('0'); // Socket.IO CONNECT to "/" (Engine.IO adds the message type 4)
      const reply = await good.next(2000, (m) => typeof m === 'string' && m.startsWith('0{'), 'the CONNECT reply');
      const body = JSON.parse(reply.slice(1));
      assert.deepEqual(Object.keys(body), ['sid'], `CONNECT reply ${reply}`);
      assert.equal(typeof body.sid, 'string');
      assert.notEqual(body.sid, good.sock.id, 'socket id is not the Engine.IO sid');
      assert.equal(await good.next(2000), '2["auth",{}]', 'the event emitted from the connect handler');

      const closed = await withTimeout(idle.closed, 6000, 'the idle session to be closed by connectTimeout');
      const after = closed.at - openedAt;
      // Not before the timeout; well before the heartbeat (5 s + 5 s) could have closed it.
      assert.ok(after >= 800 && after <= 4000, `idle session closed ${after} ms after open (connectTimeout 1000)`);
      // The session that connected a namespace is still open well after the timeout.
      await sleep(Math.max(0, openedAt + 1600 - Date.now()));
      assert.equal(good.sock.readyState, 'open');
      good.sock.send('2["message","late"]');
      assert.equal(await good.next(2000), '2["message-back","late"]');
    });

    itest('parse error: an invalid Socket.IO packet closes the Engine.IO session', async (h) => {
      const srv = await startSio(h, { connectTimeout: 5000 });
      const bad = ['2"notanarray"', '2[]', '2{"a":1}', '2[', '9', '2["ok"]trailing'];
      const sessions = bad.map(() => rawEngine(h, srv, mode));
      await Promise.all(sessions.map((s) => s.opened));
      await Promise.all(sessions.map(async (s) => {
        s.sock.send('0');
        await s.next(2000, (m) => typeof m === 'string' && m.startsWith('0{'), 'the CONNECT reply');
      }));
      // On the final transport: a packet sent while engine.io-client pauses polling for its
      // upgrade can leave that client waiting forever when the session closes meanwhile (its probe
      // fails and polling stays paused), which is the client's affair, not what is tested here.
      await Promise.all(sessions.map((s) => s.upgraded));
      sessions.forEach((s, i) => s.sock.send(bad[i]));
      const results = await Promise.all(
        sessions.map((s, i) => withTimeout(s.closed, 5000, `the session to close after ${JSON.stringify(bad[i])}`)),
      );
      assert.equal(results.length, bad.length);
      // A well-formed session beside them is unaffected.
      const ok = rawEngine(h, srv, mode);
      await ok.opened;
      ok.sock.send('0');
      await ok.next(2000, (m) => typeof m === 'string' && m.startsWith('0{'));
      ok.sock.send('2["message",1]');
      assert.equal(await ok.next(2000, (m) => m.startsWith('2["message-back"')), '2["message-back",1]');
    });
  });
}
