// socket.io-client 4.8 against sio-test-server: namespaces: a connect handler that accepts or
// refuses with data, unknown namespaces, several namespaces multiplexed on one Engine.IO session.

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { itest, sleep } from '../lib/harness.mjs';
import { MODES, startSio, connect, connectSibling, transportOf, ask } from '../lib/sio.mjs';

for (const mode of MODES) {
  describe(`socket.io-client namespaces, ${mode.name}`, () => {
    itest('/admin accepts the right auth token', async (h) => {
      const srv = await startSio(h);
      const s = await connect(h, srv, mode, '/admin', { auth: { token: 'secret' } });
      assert.ok(s.connected);
      assert.equal(transportOf(s), mode.final);
      assert.deepEqual(await s.rec.next('welcome'), ['admin']);
      assert.deepEqual(await ask(s, 2000, 'whoami'), { nsp: '/admin', id: s.id });
      // "/" handlers are not reachable from /admin: an unhandled event gets no ack.
      await assert.rejects(s.timeout(200).emitWithAck('message-with-ack', 1), /operation has timed out/);
      assert.equal(s.rec.count('message-back'), 0);
    });

    itest('/admin refuses without the token: connect_error "unauthorized" with data {code:401}', async (h) => {
      const srv = await startSio(h);
      for (const auth of [undefined, { token: 'wrong' }, { token: 1 }]) {
        const s = await connect(h, srv, mode, '/admin', { auth, expectConnect: false });
        const [err] = await s.rec.next('connect_error', 3000);
        assert.ok(err instanceof Error, 'connect_error carries an Error');
        assert.equal(err.message, 'unauthorized', `auth ${JSON.stringify(auth)}`);
        assert.deepEqual(err.data, { code: 401 });
        assert.equal(s.connected, false);
        assert.equal(s.id, undefined);
        assert.equal(s.rec.count('connect'), 0);
        assert.equal(s.rec.count('welcome'), 0, 'no event from a refused connect');
      }
    });

    itest('an unknown namespace gets connect_error "Invalid namespace"', async (h) => {
      const srv = await startSio(h);
      for (const nsp of ['/nope', '/admin/x', '/ROOMS']) {
        const s = await connect(h, srv, mode, nsp, { expectConnect: false });
        const [err] = await s.rec.next('connect_error', 3000);
        assert.equal(err.message, 'Invalid namespace', nsp);
        assert.equal(s.connected, false);
      }
    });

    itest('two namespaces multiplexed on one manager share one Engine.IO session', async (h) => {
      const srv = await startSio(h);
      const root = await connect(h, srv, mode, '/', { auth: { who: 'root' } });
      const rooms = await connectSibling(root, '/rooms');
      assert.equal(rooms.io, root.io, 'one manager');
      assert.equal(rooms.io.engine, root.io.engine, 'one engine');
      assert.equal(root.io.engine.readyState, 'open');
      assert.ok(root.connected && rooms.connected);
      assert.notEqual(root.id, rooms.id, 'one socket id per namespace');
      assert.notEqual(rooms.id, root.io.engine.id);
      assert.deepEqual((await root.rec.next('auth'))[0], { who: 'root' });

      // Traffic on both, interleaved.
      root.emit('message', 'on-root');
      const joined = await ask(rooms, 2000, 'join', 'r');
      assert.deepEqual(joined.rooms.slice().sort(), [rooms.id, 'r'].sort());
      assert.deepEqual(await root.rec.next('message-back'), ['on-root']);
      // Events of one namespace do not leak into the other.
      await ask(rooms, 2000, 'emit-to', { rooms: ['r'], event: 'only-rooms', args: [1] });
      assert.deepEqual(await rooms.rec.next('only-rooms'), [1]);
      root.emit('message', 'sync');
      await root.rec.next('message-back', 2000, (a) => a[0] === 'sync');
      assert.equal(root.rec.count('only-rooms'), 0);
      assert.equal(rooms.rec.count('message-back'), 0);

      // A third namespace with its own auth on the same manager, and a refused one beside it.
      const admin = await connectSibling(root, '/admin', { auth: { token: 'secret' } });
      assert.equal(admin.io.engine, root.io.engine);
      assert.deepEqual(await ask(admin, 2000, 'whoami'), { nsp: '/admin', id: admin.id });
      const bad = await connectSibling(root, '/nope', { expectConnect: false });
      assert.equal((await bad.rec.next('connect_error', 3000))[0].message, 'Invalid namespace');
      // The refusal did not hurt the session nor the other namespaces.
      await sleep(50);
      assert.ok(root.connected && rooms.connected && admin.connected);
      assert.equal(await ask(root, 2000, 'message-with-ack', 'still'), 'still');
      assert.equal((await ask(rooms, 2000, 'join', 'r2')).ok, true);
      assert.equal(transportOf(root), mode.final);
    });

    itest('a namespace can be left and joined again on the same session', async (h) => {
      const srv = await startSio(h);
      const root = await connect(h, srv, mode, '/');
      const rooms = await connectSibling(root, '/rooms');
      const firstId = rooms.id;
      rooms.disconnect();
      await sleep(100);
      assert.equal(root.io.engine.readyState, 'open', 'the engine stays open while / is connected');
      assert.equal(await ask(root, 2000, 'message-with-ack', 'x'), 'x');
      rooms.connect();
      await new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no reconnect of /rooms within 3 s')), 3000);
        rooms.once('connect', () => {
          clearTimeout(t);
          resolve();
        });
      });
      assert.notEqual(rooms.id, firstId, 'a new socket id');
      assert.equal(rooms.io.engine, root.io.engine, 'same engine');
      assert.equal((await ask(rooms, 2000, 'join', 'again')).ok, true);
    });
  });
}
