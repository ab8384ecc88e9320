// The official engine.io-client (6.6.3) against echo-server: polling, websocket, and polling→websocket upgrade.

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { Socket } from 'engine.io-client';
import { itest, HOST, withTimeout, waitBound, sleep, eventually, httpRequest, eioUrl } from '../lib/harness.mjs';

// The heartbeat test's interval: short to be quick, with a timeout that leaves 2.5 s of margin
// for a busy machine (engine.io-client closes when no ping comes within PI + PT).
const PI = 500;
const PT = 2500;
const UNKNOWN_SID = '{"code":1,"message":"Session ID unknown"}';

const MODES = [
  { name: 'polling only', transports: ['polling'], final: 'polling' },
  { name: 'websocket only', transports: ['websocket'], final: 'websocket' },
  { name: 'polling then upgrade to websocket', transports: ['polling', 'websocket'], final: 'websocket', upgrade: true },
];

/**
 * Creates an engine.io-client Socket on echo-server and records its events. Resolves once the
 * socket is open (and, in upgrade mode, upgraded), bounded.
 */
async function connect(h, srv, mode) {
  const sock = new Socket(`http://${HOST}:${srv.port}`, {
    path: '/engine.io/',
    transports: mode.transports,
    upgrade: !!mode.upgrade,
    rememberUpgrade: false,
    reconnection: false,
  });
  const rec = { pings: 0, closes: [], errors: [], messages: [], upgrades: [], upgradeErrors: [] };
  let waiter = null;
  sock.on('ping', () => rec.pings++);
  sock.on('close', (reason, desc) => rec.closes.push({ reason, desc: desc && String(desc.message ?? desc.description ?? desc) }));
  sock.on('error', (e) => rec.errors.push(String(e && e.message ? e.message : e)));
  sock.on('upgrade', (t) => rec.upgrades.push({ name: t.name, at: Date.now() }));
  sock.on('upgradeError', (e) => rec.upgradeErrors.push(String(e && e.message ? e.message : e)));
  sock.on('message', (m) => {
    rec.messages.push(m);
    if (waiter) waiter();
  });
  h.defer(() => sock.close());
  const fail = () => `errors=${JSON.stringify(rec.errors)} closes=${JSON.stringify(rec.closes)} upgradeErrors=${JSON.stringify(rec.upgradeErrors)}`;

  await withTimeout(new Promise((resolve, reject) => {
    sock.once('open', resolve);
    sock.once('close', (r) => reject(new Error(`closed before open: ${r}; ${fail()}`)));
  }), 3000, `engine.io-client (${mode.name}) to open`);
  rec.openAt = Date.now();
  if (mode.upgrade) {
    await withTimeout(new Promise((resolve, reject) => {
      if (rec.upgrades.length) return resolve();
      sock.once('upgrade', resolve);
      sock.once('upgradeError', (e) => reject(new Error(`upgradeError: ${e && e.message}; ${fail()}`)));
    }), 3000, `the 'upgrade' event within 3 s of open (the first test's pingInterval is 5 s, so only a prompt noop lets it finish); ${fail()}`);
  }
  /** Next message (bounded). */
  const nextMessage = async (ms, what) => {
    if (!rec.messages.length) {
      await withTimeout(new Promise((resolve) => (waiter = resolve)), waitBound(ms), `${what}; ${fail()}`).finally(() => (waiter = null));
    }
    return rec.messages.shift();
  };
  return { sock, rec, nextMessage, fail };
}

for (const mode of MODES) {
  describe(`engine.io-client, ${mode.name}`, () => {
    itest('opens on the expected transport and echoes text and binary', async (h) => {
      // Long heartbeat here: the upgrade must not depend on a ping releasing the held GET.
      const srv = await h.echo({ pingInterval: 5000, pingTimeout: 5000 });
      const { sock, rec, nextMessage } = await connect(h, srv, mode);
      assert.equal(typeof sock.id, 'string');
      assert.ok(sock.id.length >= 20, `sid ${sock.id}`);
      assert.equal(sock.transport.name, mode.final);
      if (mode.upgrade) assert.deepEqual(rec.upgrades.map((u) => u.name), ['websocket']);
      else assert.equal(rec.upgrades.length, 0);

      sock.send('hello');
      assert.equal(await nextMessage(2000, 'text echo'), 'hello');
      sock.send('héllo €𝄞');
      assert.equal(await nextMessage(2000, 'utf-8 echo'), 'héllo €𝄞');

      const u8 = Uint8Array.from([0, 1, 2, 3, 254, 255]);
      sock.send(u8);
      const m1 = await nextMessage(2000, 'Uint8Array echo');
      assert.equal(typeof m1, 'object', `binary must come back as binary, got ${typeof m1}: ${JSON.stringify(m1)}`);
      assert.deepEqual(Buffer.from(m1), Buffer.from(u8));

      const buf = Buffer.from('binary \x00 buffer', 'latin1');
      sock.send(buf);
      const m2 = await nextMessage(2000, 'Buffer echo');
      assert.equal(typeof m2, 'object', `binary must come back as binary, got ${typeof m2}`);
      assert.deepEqual(Buffer.from(m2), buf);

      // Many messages in a burst arrive complete and in order.
      const burst = Array.from({ length: 100 }, (_, i) => `burst-${i}`);
      for (const m of burst) sock.send(m);
      const got = [];
      for (let i = 0; i < burst.length; i++) got.push(await nextMessage(3000, `burst message #${i}`));
      assert.deepEqual(got, burst);
      assert.equal(sock.transport.name, mode.final);
      assert.equal(rec.closes.length, 0, `unexpected close: ${JSON.stringify(rec.closes)}`);
    });

    itest('heartbeat: stays connected over several ping intervals', async (h) => {
      const srv = await h.echo({ pingInterval: PI, pingTimeout: PT });
      const { sock, rec, nextMessage } = await connect(h, srv, mode);
      const span = 4 * PI + PT; // four pings, and longer than PI + PT in all
      await sleep(span);
      assert.equal(rec.closes.length, 0, `closed during heartbeat test: ${JSON.stringify(rec.closes)}`);
      assert.equal(sock.readyState, 'open');
      assert.ok(rec.pings >= 4, `expected >= 4 'ping' events in ${span} ms, got ${rec.pings}`);
      assert.equal(sock.transport.name, mode.final);
      sock.send('after heartbeats');
      assert.equal(await nextMessage(2000, 'echo after heartbeats'), 'after heartbeats');
    });

    itest('client close: the socket closes and the server forgets the session', async (h) => {
      const srv = await h.echo({ pingInterval: 5000, pingTimeout: 5000 });
      const { sock, rec } = await connect(h, srv, mode);
      const sid = sock.id;
      sock.close();
      await withTimeout(eventually(async () => assert.equal(rec.closes.length, 1), 1000, 'close event'), 1500, 'close event');
      assert.equal(rec.closes[0].reason, 'forced close');
      await eventually(
        async () => {
          const res = await httpRequest(srv.port, { path: eioUrl('/engine.io/', { sid }) }, 1000);
          assert.equal(res.status, 400, `GET with the closed sid: ${res.status} ${res.body}`);
          assert.equal(res.body, UNKNOWN_SID);
        },
        1500,
        'the server to drop the session after the client closed',
        100,
      );
    });
  });
}
