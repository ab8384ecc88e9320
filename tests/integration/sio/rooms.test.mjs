// socket.io-client 4.8 against sio-test-server's /rooms: join and leave, emits to rooms with
// except, each socket at most once, broadcast without the sender, fetchSockets, and a namespace
// broadcast asking every client for an ack (sio_nsp_emit_ack).

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { itest } from '../lib/harness.mjs';
import { MODES, startSio, connect, ask, flush, pattern } from '../lib/sio.mjs';

const sorted = (a) => [...a].sort();

/** Connects n clients to /rooms, each with auth {name}. */
function clients(h, srv, mode, names) {
  return Promise.all(names.map((name) => connect(h, srv, mode, '/rooms', { auth: { name } })));
}

for (const mode of MODES) {
  describe(`socket.io-client rooms, ${mode.name}`, () => {
    itest('join and leave report the socket rooms (its id room first)', async (h) => {
      const srv = await startSio(h);
      const [a] = await clients(h, srv, mode, ['A']);
      let r = await ask(a, 2000, 'join', 'r1');
      assert.equal(r.ok, true);
      assert.equal(r.rooms[0], a.id, 'the id room comes first');
      assert.deepEqual(sorted(r.rooms), sorted([a.id, 'r1']));
      r = await ask(a, 2000, 'join', 'r2');
      assert.deepEqual(sorted(r.rooms), sorted([a.id, 'r1', 'r2']));
      r = await ask(a, 2000, 'join', 'r2');
      assert.deepEqual(sorted(r.rooms), sorted([a.id, 'r1', 'r2']), 'joining twice is one membership');
      r = await ask(a, 2000, 'leave', 'r1');
      assert.equal(r.ok, true);
      assert.deepEqual(sorted(r.rooms), sorted([a.id, 'r2']));
      r = await ask(a, 2000, 'leave', 'not-joined');
      assert.deepEqual(sorted(r.rooms), sorted([a.id, 'r2']));
    });

    itest('emit-to a room reaches its members only; except excludes rooms', async (h) => {
      const srv = await startSio(h);
      const [a, b, c] = await clients(h, srv, mode, ['A', 'B', 'C']);
      await ask(a, 2000, 'join', 'r1');
      await ask(b, 2000, 'join', 'r1');
      await ask(b, 2000, 'join', 'r2');

      let r = await ask(c, 2000, 'emit-to', { rooms: ['r1'], event: 'hello', args: ['x', 1, { y: [2] }] });
      assert.deepEqual(r, { count: 2 });
      assert.deepEqual(await a.rec.next('hello'), ['x', 1, { y: [2] }]);
      assert.deepEqual(await b.rec.next('hello'), ['x', 1, { y: [2] }]);
      await flush(c, [a, b, c]);
      assert.equal(c.rec.count('hello'), 0, 'a non-member got the room emit');

      r = await ask(c, 2000, 'emit-to', { rooms: ['r1'], except: ['r2'], event: 'ex', args: [1] });
      assert.deepEqual(r, { count: 1 });
      assert.deepEqual(await a.rec.next('ex'), [1]);
      await flush(c, [a, b, c]);
      assert.equal(b.rec.count('ex'), 0, 'except r2 must exclude B');
      assert.equal(c.rec.count('ex'), 0);

      // except by a socket id (every socket is in its id room).
      r = await ask(c, 2000, 'emit-to', { rooms: ['r1'], except: [a.id], event: 'ex2', args: [] });
      assert.deepEqual(r, { count: 1 });
      assert.deepEqual(await b.rec.next('ex2'), []);
      await flush(c, [a, b, c]);
      assert.equal(a.rec.count('ex2'), 0);

      // No rooms: the whole namespace; except only.
      r = await ask(c, 2000, 'emit-to', { except: ['r1'], event: 'ex3', args: ['z'] });
      assert.deepEqual(r, { count: 1 });
      assert.deepEqual(await c.rec.next('ex3'), ['z']);
      await flush(c, [a, b, c]);
      assert.equal(a.rec.count('ex3') + b.rec.count('ex3'), 0);

      // To a socket id room.
      r = await ask(a, 2000, 'emit-to', { rooms: [c.id], event: 'direct', args: [c.id] });
      assert.deepEqual(r, { count: 1 });
      assert.deepEqual(await c.rec.next('direct'), [c.id]);

      // A room nobody is in.
      r = await ask(a, 2000, 'emit-to', { rooms: ['empty'], event: 'nobody', args: [] });
      assert.deepEqual(r, { count: 0 });

      // After leaving, no more room emits.
      await ask(a, 2000, 'leave', 'r1');
      r = await ask(c, 2000, 'emit-to', { rooms: ['r1'], event: 'after-leave', args: [] });
      assert.deepEqual(r, { count: 1 });
      await b.rec.next('after-leave');
      await flush(c, [a, b, c]);
      assert.equal(a.rec.count('after-leave'), 0);
    });

    itest('a burst of emits to 70 members arrives complete and in order, a direct emit in between', { timeout: 60000 }, async (h) => {
      // Past the node's burst threshold (a message reaching 64+ sessions): the server batches the
      // burst and may wait for the publisher's next reads before writing; nothing may change for
      // the clients but the number of writes.
      const srv = await startSio(h);
      const members = await clients(h, srv, mode, Array.from({ length: 70 }, (_, i) => `m${i}`));
      const [pub] = await clients(h, srv, mode, ['P']);
      await Promise.all(members.map((m) => ask(m, 5000, 'join', 'burst')));
      const N = 300;
      const acks = [];
      for (let i = 0; i < N; i++) {
        // Generous bounds: 21,000 deliveries to 70 polling clients can take long on a busy machine.
        if (i === 150) acks.push(ask(pub, 30000, 'emit-to', { rooms: [members[0].id], event: 'direct', args: [i] }));
        acks.push(ask(pub, 30000, 'emit-to', { rooms: ['burst'], event: 'seq', args: [i] }));
      }
      const counts = await Promise.all(acks);
      assert.deepEqual(counts.filter((c) => c.count !== 70).length, 1, 'every burst emit reached 70 sockets');
      await flush(pub, members, 30000);
      const want = Array.from({ length: N }, (_, i) => i);
      for (const m of members) {
        const got = m.rec.log.filter((e) => e.event === 'seq' || e.event === 'direct');
        const seq = got.filter((e) => e.event === 'seq').map((e) => e.args[0]);
        assert.deepEqual(seq, want, `${m.rec.socket.auth.name}: lost, duplicated or reordered events`);
        if (m === members[0]) {
          const at = got.findIndex((e) => e.event === 'direct');
          assert.equal(at, 150, 'the direct emit sits between seq 149 and seq 150');
        } else {
          assert.equal(m.rec.count('direct'), 0);
        }
      }
      assert.equal(pub.rec.count('seq'), 0, 'the publisher is not a member');
    });

    itest('a socket in several target rooms receives the emit once', async (h) => {
      const srv = await startSio(h);
      const [a, b] = await clients(h, srv, mode, ['A', 'B']);
      for (const room of ['r1', 'r2', 'r3']) await ask(a, 2000, 'join', room);
      await ask(b, 2000, 'join', 'r2');
      const r = await ask(b, 2000, 'emit-to', { rooms: ['r1', 'r2', 'r3', a.id], event: 'once', args: ['o'] });
      assert.deepEqual(r, { count: 2 });
      await flush(b, [a, b]);
      assert.equal(a.rec.count('once'), 1, 'A is in 4 of the target rooms, must get it once');
      assert.equal(b.rec.count('once'), 1);
    });

    itest('emit-to with binary arguments delivers Buffers to every member', async (h) => {
      const srv = await startSio(h);
      const [a, b, c] = await clients(h, srv, mode, ['A', 'B', 'C']);
      await ask(a, 2000, 'join', 'bin');
      await ask(b, 2000, 'join', 'bin');
      const buf = pattern(4096, 5);
      const r = await ask(c, 2000, 'emit-to', { rooms: ['bin'], event: 'bytes', args: [buf, { more: [buf.subarray(0, 3)] }] });
      assert.deepEqual(r, { count: 2 });
      for (const s of [a, b]) {
        const [x, y] = await s.rec.next('bytes');
        assert.ok(Buffer.isBuffer(x) && x.equals(buf), 'first arg');
        assert.ok(Buffer.isBuffer(y.more[0]) && y.more[0].equals(buf.subarray(0, 3)), 'nested arg');
      }
      await flush(c, [a, b, c]);
      assert.equal(c.rec.count('bytes'), 0);
    });

    itest('broadcast reaches every other socket of the namespace, not the sender', async (h) => {
      const srv = await startSio(h);
      const [a, b, c] = await clients(h, srv, mode, ['A', 'B', 'C']);
      // A root-namespace client must not get /rooms broadcasts.
      const other = await connect(h, srv, mode, '/');
      const r = await ask(a, 2000, 'broadcast', 'bc', 1, { x: 2 });
      assert.deepEqual(r, { count: 2 });
      assert.deepEqual(await b.rec.next('bc'), [1, { x: 2 }]);
      assert.deepEqual(await c.rec.next('bc'), [1, { x: 2 }]);
      await flush(b, [a, b, c]);
      assert.equal(a.rec.count('bc'), 0, 'the sender got its own broadcast');
      assert.equal(other.rec.count('bc'), 0);
      // Also when the sender is in rooms the others are in too.
      await ask(a, 2000, 'join', 'shared');
      await ask(b, 2000, 'join', 'shared');
      assert.deepEqual(await ask(a, 2000, 'broadcast', 'bc2'), { count: 2 });
      await b.rec.next('bc2');
      await c.rec.next('bc2');
      await flush(b, [a, b, c]);
      assert.equal(a.rec.count('bc2'), 0);
    });

    itest('fetch returns the selected sockets with ids, rooms and handshake', async (h) => {
      const srv = await startSio(h);
      const [a, b, c] = await clients(h, srv, mode, ['A', 'B', 'C']);
      await ask(a, 2000, 'join', 'f1');
      await ask(b, 2000, 'join', 'f1');
      await ask(b, 2000, 'join', 'f2');

      let list = await ask(c, 2000, 'fetch', { rooms: ['f1'] });
      assert.ok(Array.isArray(list), `fetch ack: ${JSON.stringify(list)}`);
      assert.deepEqual(sorted(list.map((s) => s.id)), sorted([a.id, b.id]));
      const byId = Object.fromEntries(list.map((s) => [s.id, s]));
      assert.deepEqual(sorted(byId[a.id].rooms), sorted([a.id, 'f1']));
      assert.deepEqual(sorted(byId[b.id].rooms), sorted([b.id, 'f1', 'f2']));
      for (const [s, name] of [[a, 'A'], [b, 'B']]) {
        const hs = byId[s.id].handshake;
        assert.equal(typeof hs, 'object', 'handshake');
        assert.deepEqual(hs.auth, { name }, 'handshake.auth');
        assert.equal(hs.query.EIO, '4', 'handshake.query.EIO');
        assert.match(String(hs.address), /127\.0\.0\.1/, 'handshake.address');
        assert.equal(typeof hs.headers, 'object');
        assert.equal(typeof hs.issued, 'number');
        assert.equal(typeof hs.url, 'string');
        assert.ok('data' in byId[s.id], 'data slot');
      }

      list = await ask(c, 2000, 'fetch', {});
      assert.deepEqual(sorted(list.map((s) => s.id)), sorted([a.id, b.id, c.id]));
      list = await ask(c, 2000, 'fetch', { rooms: ['f1'], except: ['f2'] });
      assert.deepEqual(list.map((s) => s.id), [a.id]);
      list = await ask(c, 2000, 'fetch', { rooms: ['none'] });
      assert.deepEqual(list, []);
    });

    itest('ask-all collects one reply per client (sio_nsp_emit_ack), and reports a timeout', async (h) => {
      const srv = await startSio(h);
      const names = ['A', 'B', 'C'];
      const socks = await clients(h, srv, mode, names);
      socks.forEach((s, i) => s.on('vote', (q, cb) => cb({ name: names[i], q }, 'second arg is not reported')));
      const [a, , c] = socks;

      assert.deepEqual(await ask(a, 2000, 'ask-all', { event: 'vote', args: ['q1'], timeout: 2000 }), { ok: true });
      let [res] = await a.rec.next('ask-all-result', 3000);
      assert.equal(res.expected, 3);
      assert.equal(res.timedOut, false);
      assert.deepEqual(
        sorted(res.replies.map((x) => JSON.stringify(x))),
        sorted(names.map((n) => JSON.stringify({ name: n, q: 'q1' }))),
      );
      for (const s of socks.slice(1)) assert.equal(s.rec.count('ask-all-result'), 0, 'only the asker gets the result');

      // One client never answers: the broadcast times out with the replies it got.
      socks.forEach((s, i) => s.on('vote2', (cb) => (i === 2 ? undefined : cb(names[i]))));
      const t0 = Date.now();
      await ask(c, 2000, 'ask-all', { event: 'vote2', args: [], timeout: 400 });
      [res] = await c.rec.next('ask-all-result', 3000);
      const elapsed = Date.now() - t0;
      assert.equal(res.expected, 3);
      assert.equal(res.timedOut, true);
      assert.deepEqual(sorted(res.replies), ['A', 'B']);
      assert.ok(elapsed >= 350 && elapsed < 2500, `completed after ${elapsed} ms, timeout was 400`);
    });
  });
}
