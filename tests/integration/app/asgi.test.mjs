// The same consumer under ASGI servers (Debian's uvicorn and daphne): connect, broadcasts,
// binary acks, async handlers running while others wait, the session user; python-socketio as
// the client once per server.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { itest } from '../lib/harness.mjs';
import { ask, askAll, connect, connectError, loginCookie, makeDatabase, next, runPython, startDjango, startNode } from './lib.mjs';

for (const server of ['uvicorn', 'daphne']) {
  describe(`app bridge: Django under ${server} (ASGI)`, () => {
    itest('welcome, broadcast, binary ack, async handlers, session user, python-socketio', { timeout: 90000 }, async (h) => {
      const db = makeDatabase(h);
      const django = await startDjango(h, { server, db, workers: 2 });
      const node = await startNode(h, { appUrl: `${django.url}/socket.io-app/` });
      const cookie = await loginCookie(django, 'carol');
      const a = await connect(h, node.url, { auth: { mode: 'login', name: 'a' }, headers: { cookie } });
      assert.deepEqual(await ask(a, 'whoami'), { username: 'carol', id: 1 });
      const b = await connect(h, node.url, { auth: { name: 'b' }, transports: ['polling'] });
      const said = next(b, 'said');
      assert.deepEqual(await ask(a, 'say', 'hi'), { status: 'ok' });
      assert.deepEqual((await said)[0], { from: 'a', text: 'hi' });
      const back = await askAll(a, 'echo', Buffer.from([1, 2, 3]), 'x');
      assert.deepEqual(Buffer.from(back[0]), Buffer.from([1, 2, 3]));
      assert.equal(back[1], 'x');
      // Two sockets' async handlers sleeping at once.
      const t0 = Date.now();
      const both = await Promise.all([askAll(a, 'aslow', 0.3), askAll(b, 'aslow', 0.3)]);
      assert.deepEqual(both, [['slept'], ['slept']]);
      assert.ok(Date.now() - t0 < 8000);
      const anon = await connectError(h, node.url, { auth: { mode: 'login' } });
      assert.equal(anon.message, 'login required');
      const py = await runPython('py_client.py', [node.url]);
      assert.equal(py.code, 0, py.out);
      assert.match(py.out, /^ok$/m);
    });
  });
}
