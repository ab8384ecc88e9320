// Refused WebSocket upgrades are answered, the way engine.io answers them: HTTP 400 (403 for a
// refused origin) with the engine.io JSON error body and "Connection: close". Clients nobody here
// wrote (Node's `ws`, Python's websocket-client) report the status, never a hang-up. RFC 6455's
// own refusals (bad key 400, wrong version 426) and an unmasked client frame (close 1002). The
// same through a forwarding node: a relay refused by the owner gets the owner's answer.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe } from 'node:test';
import { HOST, RawPolling, WebSocket, itest, withTimeout } from '../lib/harness.mjs';
import { startCluster, waitOutput } from '../cluster/lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const PYTHON = process.env.PYTHON || '/usr/bin/python3';
const P = '/socket.io/';
const ERR = {
  0: '{"code":0,"message":"Transport unknown"}',
  1: '{"code":1,"message":"Session ID unknown"}',
  3: '{"code":3,"message":"Bad request"}',
  4: '{"code":4,"message":"Forbidden"}',
  5: '{"code":5,"message":"Unsupported protocol version"}',
};

/** What Node's `ws` sees: {status, body, connection} from 'unexpected-response', or a failure. */
function wsAttempt(url, headers = {}) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body, connection: res.headers.connection }));
    });
    ws.on('open', () => {
      ws.terminate();
      resolve({ opened: true });
    });
    ws.on('error', (err) => resolve({ error: err.message }));
  });
}

/** What Python's websocket-client sees. */
function pyAttempt(url, origin) {
  return new Promise((resolve, reject) => {
    const args = [path.join(here, 'clients.py'), 'ws', url];
    if (origin) args.push(origin);
    execFile(PYTHON, args, { timeout: 20000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout))));
  });
}

async function assertRefused(url, status, body, { origin } = {}) {
  const n = await withTimeout(wsAttempt(url, origin ? { origin } : {}), 5000, `ws ${url}`);
  assert.equal(n.status, status, `ws ${url}: ${JSON.stringify(n)}`);
  assert.equal(n.body, body, `ws ${url}: body`);
  assert.equal(n.connection, 'close', `ws ${url}: Connection: close`);
  const py = await withTimeout(pyAttempt(url, origin), 20000, `websocket-client ${url}`);
  assert.equal(py.refused, true, `websocket-client ${url}: ${JSON.stringify(py)}`);
  assert.equal(py.status, status, `websocket-client ${url}`);
  assert.match(py.message, new RegExp(`${status}`), `websocket-client ${url}: message`);
}

describe('refused upgrades are answered, with both clients', () => {
  itest('missing or bad EIO, unknown transport, unknown sid, a second WebSocket, a refused origin', { timeout: 60000 }, async (h) => {
    const srv = await h.daemon({ args: ['--cors-origin', 'http://a.example'] });
    const ws = (q) => `ws://${HOST}:${srv.port}${P}?${q}`;
    await assertRefused(ws('transport=websocket'), 400, ERR[5]);
    await assertRefused(ws('EIO=3&transport=websocket'), 400, ERR[5]);
    await assertRefused(ws('EIO=4&transport=flashsocket'), 400, ERR[0]);
    await assertRefused(ws('EIO=4&transport=websocket&sid=AAAAAAAAAAAAAAAAAAAAAAAAAAA'), 400, ERR[1]);
    await assertRefused(ws('EIO=4&transport=websocket'), 403, ERR[4], { origin: 'http://evil.example' });

    // A polling session upgraded once: a second WebSocket for its sid is refused.
    const rp = new RawPolling(h, srv.port, P);
    await rp.handshake();
    const first = new WebSocket(ws(`EIO=4&transport=websocket&sid=${rp.sid}`));
    h.defer(() => first.terminate());
    await withTimeout(new Promise((r, j) => (first.on('open', r), first.on('error', j))), 3000, 'first WebSocket');
    first.send('2probe');
    await withTimeout(new Promise((r) => first.once('message', r)), 3000, '3probe');
    first.send('5');
    await waitOutput(srv, `sid=${rp.sid} upgraded to websocket`).catch(() => {});
    await assertRefused(ws(`EIO=4&transport=websocket&sid=${rp.sid}`), 400, ERR[3]);

    // ...and the node still takes a good one
    const ok = await wsAttempt(ws('EIO=4&transport=websocket'), { origin: 'http://a.example' });
    assert.equal(ok.opened, true);
  });
});

/** Sends raw bytes, returns everything the node sent until it closed (or 3 s). */
function rawExchange(port, bytes, { afterOpen } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, HOST);
    let buf = Buffer.alloc(0);
    let sentMore = false;
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ data: buf, closed: false });
    }, 3000);
    sock.on('connect', () => sock.write(bytes));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (afterOpen && !sentMore && buf.includes('\r\n\r\n')) {
        sentMore = true;
        sock.write(afterOpen);
      }
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve({ data: buf, closed: true });
    });
    sock.on('error', (e) => (e.code === 'ECONNRESET' ? null : reject(e)));
  });
}

const upgradeReq = (q, { key = 'dGhlIHNhbXBsZSBub25jZQ==', version = '13' } = {}) =>
  `GET ${P}?${q} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: ${version}\r\n\r\n`;

describe('RFC 6455 refusals', () => {
  itest('a Sec-WebSocket-Key that is not 16 bytes of base64 gets 400, and the connection closes', async (h) => {
    const srv = await h.daemon();
    for (const key of ['!!notbase64!!', 'c2hvcnQ=', 'dGhlIHNhbXBsZSBub25jZQ==xx']) {
      const r = await rawExchange(srv.port, upgradeReq('EIO=4&transport=websocket', { key }));
      const text = r.data.toString('latin1');
      assert.match(text, /^HTTP\/1\.1 400 /, `key ${key}: ${text}`);
      assert.match(text, /\r\nConnection: close\r\n/i);
      assert.equal(r.closed, true);
    }
  });

  itest('Sec-WebSocket-Version 8 gets 426 with Sec-WebSocket-Version: 13', async (h) => {
    const srv = await h.daemon();
    const r = await rawExchange(srv.port, upgradeReq('EIO=4&transport=websocket', { version: '8' }));
    const text = r.data.toString('latin1');
    assert.match(text, /^HTTP\/1\.1 426 /);
    assert.match(text, /\r\nSec-WebSocket-Version: 13\r\n/i);
    assert.match(text, /\r\nConnection: close\r\n/i);
  });

  itest('an unmasked client frame closes the WebSocket with 1002', async (h) => {
    const srv = await h.daemon();
    const unmasked = Buffer.from([0x81, 0x02, 0x34, 0x32]); // "42", no mask
    const r = await rawExchange(srv.port, upgradeReq('EIO=4&transport=websocket'), { afterOpen: unmasked });
    const text = r.data.toString('latin1');
    assert.match(text, /^HTTP\/1\.1 101 /);
    const frames = r.data.subarray(r.data.indexOf('\r\n\r\n') + 4);
    // the open packet, then a close frame with code 1002
    const close = frames.indexOf(Buffer.from([0x88, 0x02, 0x03, 0xea]));
    assert.ok(close >= 0, `close 1002 among ${frames.toString('hex')}`);
    assert.equal(r.closed, true, 'the node closes the connection after its close frame');
  });
});

describe('through a forwarding node (relay)', () => {
  itest('an unknown sid, and an owner refusing the relay, both answered to the client', { timeout: 40000 }, async (h) => {
    const { nodes } = await startCluster(h, 2, { logLevel: 'info' });
    const [A, B] = nodes;
    const viaB = (q) => `ws://${HOST}:${B.port}${P}?${q}`;
    await assertRefused(viaB('EIO=4&transport=websocket&sid=AAAAAAAAAAAAAAAAAAAAAAAAAAA'), 400, ERR[1]);
    // A session on A, upgraded through A: a second WebSocket through B reaches A, whose refusal
    // (400 Bad request) is what the client gets from B.
    const rp = new RawPolling(h, A.port, P);
    await rp.handshake();
    await waitOutput(A, `sid=${rp.sid} open transport=polling`);
    const first = new WebSocket(`ws://${HOST}:${A.port}${P}?EIO=4&transport=websocket&sid=${rp.sid}`);
    h.defer(() => first.terminate());
    await withTimeout(new Promise((r, j) => (first.on('open', r), first.on('error', j))), 3000, 'first WebSocket');
    first.send('2probe');
    await withTimeout(new Promise((r) => first.once('message', r)), 3000, '3probe');
    first.send('5');
    await waitOutput(A, `sid=${rp.sid} upgraded to websocket`);
    await assertRefused(viaB(`EIO=4&transport=websocket&sid=${rp.sid}`), 400, ERR[3]);
  });
});
