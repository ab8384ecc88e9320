// Engine.IO v4 over a raw WebSocket (no polling first) against echo-server.

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { itest, withTimeout, wsUrl, parseOpen } from '../lib/harness.mjs';

const QUIET = { pingInterval: 10000, pingTimeout: 5000 };
const BASE = '/engine.io/';

async function open(h, port) {
  const c = h.ws(port, wsUrl(BASE));
  await withTimeout(c.opened, 5000, 'WebSocket to open');
  const m = await c.next(2000, 'open packet');
  return { c, m };
}

describe('raw WebSocket transport', () => {
  itest('first frame is a text open packet with upgrades [] and exactly the five keys', async (h) => {
    const srv = await h.echo({ pingInterval: 4321, pingTimeout: 3210, maxPayload: 5000 });
    const { m } = await open(h, srv.port);
    assert.equal(m.binary, false, 'open packet must be a text frame');
    const o = parseOpen(m.data);
    assert.deepEqual(Object.keys(o).sort(), ['maxPayload', 'pingInterval', 'pingTimeout', 'sid', 'upgrades']);
    assert.deepEqual(o.upgrades, []);
    assert.equal(o.pingInterval, 4321);
    assert.equal(o.pingTimeout, 3210);
    assert.equal(o.maxPayload, 5000);
    assert.ok(o.sid.length >= 20);
    assert.match(o.sid, /^[A-Za-z0-9_-]+$/);
  });

  itest('text frames echo as text frames, binary frames as binary frames with raw bytes', async (h) => {
    const srv = await h.echo(QUIET);
    const { c } = await open(h, srv.port);
    c.send('4hello');
    const t = await c.nextNonPing(3000, 'text echo');
    assert.equal(t.binary, false);
    assert.equal(t.data, '4hello');
    c.send('4héllo €𝄞');
    assert.equal((await c.nextNonPing(3000, 'utf-8 echo')).data, '4héllo €𝄞');
    const bytes = Buffer.from([0x62, 0x34, 0, 255, 0x1e, 1]); // starts with "b4": must not be mistaken for base64
    c.send(bytes);
    const b = await c.nextNonPing(3000, 'binary echo');
    assert.equal(b.binary, true, 'binary echo must be a binary frame');
    assert.deepEqual(b.data, bytes);
    c.send(Buffer.alloc(0));
    const e = await c.nextNonPing(3000, 'empty binary echo');
    assert.equal(e.binary, true);
    assert.equal(e.data.length, 0);
  });

  itest('a burst of 500 messages is echoed complete and in order', async (h) => {
    const srv = await h.echo(QUIET);
    const { c } = await open(h, srv.port);
    const sent = Array.from({ length: 500 }, (_, i) => (i % 5 === 4 ? Buffer.from(`bin-${i}`) : `4txt-${i}`));
    for (const s of sent) c.send(s);
    const got = [];
    for (let i = 0; i < sent.length; i++) got.push(await c.nextNonPing(3000, `burst echo #${i}`));
    assert.deepEqual(
      got.map((m) => (m.binary ? `B:${m.data.toString()}` : `T:${m.data}`)),
      sent.map((s) => (Buffer.isBuffer(s) ? `B:${s.toString()}` : `T:${s}`)),
    );
  });

  itest('a 500 kB message within maxPayload is echoed intact', async (h) => {
    const srv = await h.echo(QUIET);
    const { c } = await open(h, srv.port);
    const big = `4${'0123456789abcdef'.repeat(32 * 1024)}`;
    c.send(big);
    const m = await c.nextNonPing(3000, 'large text echo');
    assert.equal(m.data.length, big.length);
    assert.ok(m.data === big, 'large message content differs');
    const bin = Buffer.alloc(300 * 1024);
    for (let i = 0; i < bin.length; i++) bin[i] = (i * 31) & 0xff;
    c.send(bin);
    const mb = await c.nextNonPing(3000, 'large binary echo');
    assert.equal(mb.binary, true);
    assert.ok(mb.data.equals(bin), 'large binary content differs');
  });

  itest('many concurrent WebSocket sessions are independent', async (h) => {
    const srv = await h.echo(QUIET);
    const socks = await Promise.all(Array.from({ length: 20 }, () => open(h, srv.port)));
    const sids = new Set(socks.map(({ m }) => parseOpen(m.data).sid));
    assert.equal(sids.size, 20, 'sids must be unique');
    socks.forEach(({ c }, i) => c.send(`4from-${i}`));
    for (const [i, { c }] of socks.entries()) assert.equal((await c.nextNonPing(2000, `echo on socket ${i}`)).data, `4from-${i}`);
  });
});
