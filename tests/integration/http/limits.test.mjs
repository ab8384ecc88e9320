// The node's limits under hostile clients, each answered: oversized headers (431) and request
// targets (414), requests that never finish (408), --max-connections (503), and a process out
// of descriptors (EMFILE): no spinning, bounded logs, established clients served meanwhile, and
// new clients accepted again as soon as descriptors are free.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { describe } from 'node:test';
import { HOST, RawPolling, itest, openWs, sleep, withTimeout } from '../lib/harness.mjs';

const P = '/socket.io/';

/** Sends bytes on a new connection; resolves with what the node sent until it closed (or ms). */
function exchange(port, bytes, ms = 5000) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, HOST);
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ text: buf.toString('latin1'), closed: false });
    }, ms);
    sock.on('connect', () => sock.write(bytes));
    sock.on('data', (d) => (buf = Buffer.concat([buf, d])));
    sock.on('close', () => {
      clearTimeout(timer);
      resolve({ text: buf.toString('latin1'), closed: true });
    });
    sock.on('error', (e) => (['ECONNRESET', 'EPIPE'].includes(e.code) ? null : reject(e)));
  });
}

/** CPU seconds (user + system) the process has used so far. */
function cpuSeconds(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (100/s)
}

const countLines = (text, needle) => text.split('\n').filter((l) => l.includes(needle)).length;

async function handshakeOk(port) {
  const rp = new RawPolling(null, port, P);
  await rp.handshake();
  return rp.sid;
}

describe('request size limits', () => {
  itest('a 64 KB header gets 431, a 100 KB request line 414, each with Connection: close', async (h) => {
    const srv = await h.daemon();
    const big = await exchange(srv.port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(64 * 1024)}\r\n\r\n`);
    assert.match(big.text, /^HTTP\/1\.1 431 /);
    assert.match(big.text, /\r\nConnection: close\r\n/i);
    assert.equal(big.closed, true);
    const long = await exchange(srv.port, `GET /${'a'.repeat(100 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.match(long.text, /^HTTP\/1\.1 414 /);
    assert.equal(long.closed, true);
    // a header block just under the default bound is fine
    const ok = await exchange(srv.port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(15 * 1024)}\r\nConnection: close\r\n\r\n`);
    assert.match(ok.text, /^HTTP\/1\.1 200 /);
    assert.ok(await handshakeOk(srv.port));
  });

  itest('--max-header-size moves the 431 bound', async (h) => {
    const srv = await h.daemon({ args: ['--max-header-size', '2048'] });
    const r = await exchange(srv.port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(3000)}\r\n\r\n`);
    assert.match(r.text, /^HTTP\/1\.1 431 /);
  });
});

describe('slow and idle clients', () => {
  itest('a request whose headers never end gets 408 after --http-idle-timeout; an idle connection is closed', async (h) => {
    const srv = await h.daemon({ args: ['--http-idle-timeout', '1000'] });
    const started = Date.now();
    const slow = await exchange(srv.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ', 8000);
    assert.match(slow.text, /^HTTP\/1\.1 408 /);
    assert.match(slow.text, /\r\nConnection: close\r\n/i);
    assert.equal(slow.closed, true);
    assert.ok(Date.now() - started < 6000, 'answered within a few seconds of the timeout');
    const idle = await exchange(srv.port, '', 8000);
    assert.equal(idle.closed, true, 'an idle connection is closed');
    assert.equal(idle.text, '', 'without an answer: no request was made');
    // A held long-poll is not an idle connection: it stays open past the timeout.
    const rp = new RawPolling(h, srv.port, P);
    await rp.handshake();
    const held = rp.get();
    await sleep(2500);
    let done = false;
    held.done.then(() => (done = true), () => (done = true));
    assert.equal(done, false, 'the held GET outlives the idle timeout');
  });
});

describe('connection limits', () => {
  itest('--max-connections: the connection past the limit gets 503 and one log line; room again once one closes', async (h) => {
    const srv = await h.daemon({ args: ['--max-connections', '4'] });
    const socks = [];
    for (let i = 0; i < 4; i++) {
      const s = net.connect(srv.port, HOST);
      h.defer(() => s.destroy());
      await withTimeout(new Promise((r) => s.once('connect', r)), 2000, 'connect');
      socks.push(s);
    }
    await sleep(200);
    const refused = [];
    for (let i = 0; i < 3; i++) refused.push(await exchange(srv.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'));
    for (const r of refused) {
      assert.match(r.text, /^HTTP\/1\.1 503 /);
      assert.match(r.text, /Too many connections/);
      assert.equal(r.closed, true);
    }
    assert.equal(countLines(srv.stderr, '--max-connections reached'), 1, 'one log line for the three refusals');
    socks[0].destroy();
    await sleep(300);
    const ok = await exchange(srv.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(ok.text, /^HTTP\/1\.1 200 /);
  });

  itest('out of descriptors: no spin, few log lines, established clients served, new ones accepted once descriptors free up', { timeout: 40000 }, async (h) => {
    // 64 descriptors; --max-connections above what they allow, so accept() meets EMFILE.
    const srv = await h.daemon({ nofile: 64, args: ['--max-connections', '1000', '--log-level', 'info'] });
    assert.match(srv.stderr, /descriptor limit 64/);
    const ws = openWs(srv.port, `${P}?EIO=4&transport=websocket`);
    h.defer(() => ws.terminate());
    await withTimeout(ws.opened, 3000, 'WebSocket before the flood');
    assert.match((await ws.next(2000, 'open packet')).data, /^0\{/);
    ws.send('40');
    assert.match((await ws.nextNonPing(2000, 'CONNECT reply')).data, /^40\{"sid"/);

    const flood = [];
    for (let i = 0; i < 120; i++) {
      const s = net.connect(srv.port, HOST);
      s.on('error', () => {});
      flood.push(s);
    }
    h.defer(() => flood.forEach((s) => s.destroy()));
    await sleep(1000);
    const cpuBefore = cpuSeconds(srv.pid);
    await sleep(3000);
    const cpu = cpuSeconds(srv.pid) - cpuBefore;
    assert.ok(cpu < 1.0, `the node used ${cpu.toFixed(2)} s of CPU in 3 s while out of descriptors (a spin uses ~3)`);
    const lines = countLines(srv.stderr, 'Too many open files');
    assert.ok(lines >= 1 && lines <= 2, `EMFILE logged ${lines} times (one line per 10 s, with a count)`);

    // The established client is served meanwhile.
    ws.send('420["join","news"]');
    assert.match((await ws.nextNonPing(3000, 'join ack during the flood')).data, /^430\[/);

    // Free the descriptors: a fresh handshake succeeds soon after.
    flood.forEach((s) => s.destroy());
    const sid = await withTimeout(
      (async () => {
        for (;;) {
          try {
            return await handshakeOk(srv.port);
          } catch {
            await sleep(100);
          }
        }
      })(),
      5000,
      'a fresh handshake after the flood',
    );
    assert.ok(sid);
  });
});
