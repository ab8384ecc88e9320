// HTTP/1.1 connection handling with clients nobody here wrote: every client does a sequence of
// error and success requests on one pooled connection and every request is answered with the
// right status and body; an answer after which the node closes says "Connection: close"; the
// connection is otherwise reused (pipelined requests included); HTTP/1.0 gets what it asks for.
// The same sequence also runs through a forwarding node of a cluster (misrouted sid).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe } from 'node:test';
import nodeFetch from 'node-fetch';
import { HOST, itest, withTimeout } from '../lib/harness.mjs';
import { startCluster, waitOutput } from '../cluster/lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const PYTHON = process.env.PYTHON || '/usr/bin/python3';
const P = '/socket.io/';
const E5 = '{"code":5,"message":"Unsupported protocol version"}';
const E1 = '{"code":1,"message":"Session ID unknown"}';

/**
 * The sequence: [method, target (with {sid} filled in from the open packet), body, expected
 * status, check(body)]. Errors and successes alternate on purpose.
 */
const SEQUENCE = [
  ['GET', `${P}?transport=polling`, null, 400, (b) => assert.equal(b, E5)],
  ['GET', `${P}?EIO=abc&transport=polling`, null, 400, (b) => assert.equal(b, E5)],
  ['GET', `${P}?EIO=4&transport=polling`, null, 200, (b) => assert.match(b, /^0\{"sid":"[^"]+"/)],
  ['POST', `${P}?EIO=4&transport=polling&sid={sid}`, '40', 200, (b) => assert.equal(b, 'ok')],
  ['GET', `${P}?EIO=4&transport=polling&sid={sid}`, null, 200, (b) => assert.match(b, /^40\{"sid":"/)],
  ['POST', `${P}?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAAAAAAAAA`, '40', 400, (b) => assert.equal(b, E1)],
  ['GET', '/no-such-page', null, 404, (b) => assert.equal(b, 'Not Found')],
  ['GET', '/healthz', null, 200, (b) => assert.equal(b, 'ok')],
];

const sidOf = (body) => JSON.parse(body.slice(1)).sid;

/** Runs SEQUENCE with send(method, url, body) → {status, body, headers?}; returns the answers. */
async function runSequence(send, { firstHeaders } = {}) {
  let sid = null;
  const out = [];
  for (const [i, [method, target, body, status, check]] of SEQUENCE.entries()) {
    const res = await withTimeout(send(method, target.replace('{sid}', sid), body, i === 0 ? firstHeaders : undefined), 5000, `${method} ${target}`);
    assert.equal(res.status, status, `${method} ${target}: status (body ${JSON.stringify(res.body)})`);
    check(res.body);
    if (i === 2) sid = sidOf(res.body);
    out.push(res);
  }
  return out;
}

describe('one pooled connection, errors and successes in turn', () => {
  itest('node-fetch 3 with the default agent (first request asks for close)', async (h) => {
    const srv = await h.daemon();
    const base = `http://${HOST}:${srv.port}`;
    const res = await runSequence(
      async (method, target, body, headers) => {
        const r = await nodeFetch(base + target, { method, body: body ?? undefined, headers });
        return { status: r.status, body: await r.text(), connection: r.headers.get('connection') };
      },
      { firstHeaders: { connection: 'close' } },
    );
    assert.equal(res[0].connection, 'close', 'the answer to a request that asked for close says so');
  });

  itest("Node's built-in fetch (undici)", async (h) => {
    const srv = await h.daemon();
    const base = `http://${HOST}:${srv.port}`;
    await runSequence(async (method, target, body) => {
      const r = await fetch(base + target, { method, body: body ?? undefined });
      return { status: r.status, body: await r.text() };
    });
  });

  itest('Node http with keepAlive: every request after the first reuses the socket', async (h) => {
    const srv = await h.daemon();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    h.defer(() => agent.destroy());
    const reused = [];
    const send = (method, target, body, headers = {}) =>
      new Promise((resolve, reject) => {
        const req = http.request({ host: HOST, port: srv.port, method, path: target, agent, headers }, (res) => {
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (c) => (data += c));
          res.on('end', () => resolve({ status: res.statusCode, body: data, connection: res.headers.connection }));
        });
        req.on('error', reject);
        reused.push(req.reusedSocket);
        req.end(body ?? undefined);
      });
    await runSequence(send);
    assert.deepEqual(reused, SEQUENCE.map((_, i) => i > 0), 'one connection carried the whole sequence');
    // A request that asks for close is answered "Connection: close"; the next gets a new socket.
    const closing = await send('GET', '/healthz', null, { connection: 'close' });
    assert.equal(closing.connection, 'close');
    const after = await send('GET', '/healthz', null);
    assert.equal(after.status, 200);
    assert.equal(reused.at(-1), false, 'a closed connection is not reused');
  });

  itest('Python requests.Session: one socket for the whole sequence', async (h) => {
    const srv = await h.daemon();
    const items = SEQUENCE.map(([m, t, b]) => `${m} ${t}${b ? ` ${b}` : ''}`);
    const out = await new Promise((resolve, reject) => {
      execFile(PYTHON, [path.join(here, 'clients.py'), 'session', `http://${HOST}:${srv.port}`, ...items], { timeout: 20000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout)),
      );
    });
    assert.equal(out.results.length, SEQUENCE.length, JSON.stringify(out));
    for (const [i, r] of out.results.entries()) {
      assert.equal(r.status, SEQUENCE[i][3], `${SEQUENCE[i][0]} ${SEQUENCE[i][1]}: ${JSON.stringify(r)}`);
      SEQUENCE[i][4](r.body);
    }
    assert.equal(new Set(out.results.map((r) => r.sock)).size, 1, `one socket: ${JSON.stringify(out.results.map((r) => r.sock))}`);
  });

  itest('curl with several URLs on one connection', async (h) => {
    const srv = await h.daemon();
    const base = `http://${HOST}:${srv.port}`;
    const urls = [`${P}?transport=polling`, `${P}?EIO=abc&transport=polling`, '/no-such-page', '/healthz', `${P}?EIO=4&transport=polling`];
    const out = await new Promise((resolve, reject) => {
      const args = ['-s', '-w', '%{http_code} %{num_connects}\\n', ...urls.flatMap((u) => ['-o', '/dev/null', base + u])];
      execFile('curl', args, { timeout: 20000 }, (err, stdout) =>
        err ? reject(err) : resolve(stdout.trim().split('\n')),
      );
    });
    assert.deepEqual(out, ['400 1', '400 0', '404 0', '200 0', '200 0'], 'statuses, and one connection made');
  });
});

/** Reads HTTP/1.1 answers from a raw socket: returns a reader with next() → {head, body}. */
function rawReader(sock) {
  let buf = Buffer.alloc(0);
  let ended = false;
  const waiters = [];
  const poke = () => waiters.splice(0).forEach((w) => w());
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    poke();
  });
  sock.on('end', () => {
    ended = true;
    poke();
  });
  sock.on('close', () => {
    ended = true;
    poke();
  });
  async function next() {
    for (;;) {
      const end = buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        const head = buf.subarray(0, end).toString('latin1');
        const m = /content-length: (\d+)/i.exec(head);
        const len = m ? Number(m[1]) : 0;
        if (buf.length >= end + 4 + len) {
          const body = buf.subarray(end + 4, end + 4 + len).toString('utf8');
          buf = buf.subarray(end + 4 + len);
          return { head, status: Number(head.split(' ')[1]), body };
        }
      }
      if (ended) return null;
      await new Promise((r) => waiters.push(r));
    }
  }
  return { next, ended: () => ended, rest: () => buf };
}

function rawConnect(h, port) {
  const sock = net.connect(port, HOST);
  h.defer(() => sock.destroy());
  return new Promise((resolve, reject) => {
    sock.once('connect', () => resolve(sock));
    sock.once('error', reject);
  });
}

describe('raw HTTP/1.1 and HTTP/1.0', () => {
  itest('two pipelined requests in one write are answered in order on the same connection', async (h) => {
    const srv = await h.daemon();
    const sock = await rawConnect(h, srv.port);
    const rd = rawReader(sock);
    sock.write(
      `GET ${P}?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n` +
        `GET ${P}?EIO=9&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n` +
        'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    const a = await withTimeout(rd.next(), 3000, 'first answer');
    const b = await withTimeout(rd.next(), 3000, 'second answer');
    const c = await withTimeout(rd.next(), 3000, 'third answer');
    assert.equal(a.status, 200);
    assert.match(a.body, /^0\{"sid"/);
    assert.equal(b.status, 400);
    assert.equal(b.body, E5);
    assert.equal(c.status, 200);
    assert.equal(c.body, 'ok');
    assert.doesNotMatch(a.head + b.head + c.head, /connection: close/i);
    // ...and the connection is still usable
    sock.write('GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal((await withTimeout(rd.next(), 3000, 'fourth answer')).body, 'ready');
  });

  itest('a POST and a GET pipelined behind it on one connection', async (h) => {
    const srv = await h.daemon();
    const sock = await rawConnect(h, srv.port);
    const rd = rawReader(sock);
    sock.write(`GET ${P}?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n`);
    const open = await withTimeout(rd.next(), 3000, 'handshake');
    const sid = sidOf(open.body);
    sock.write(
      `POST ${P}?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n40` +
        `GET ${P}?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    assert.equal((await withTimeout(rd.next(), 3000, 'POST answer')).body, 'ok');
    assert.match((await withTimeout(rd.next(), 3000, 'GET answer')).body, /^40\{"sid"/);
  });

  itest('a chunked POST body is read (as Node reads it), and the connection goes on', async (h) => {
    const srv = await h.daemon();
    const sock = await rawConnect(h, srv.port);
    const rd = rawReader(sock);
    sock.write(`GET ${P}?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n`);
    const sid = sidOf((await withTimeout(rd.next(), 3000, 'handshake')).body);
    sock.write(`POST ${P}?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n4\r\n1\r\n0\r\n0\r\n\r\n`);
    assert.equal((await withTimeout(rd.next(), 3000, 'chunked POST answer')).body, 'ok');
    sock.write(`GET ${P}?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.match((await withTimeout(rd.next(), 3000, 'GET answer')).body, /^40\{"sid"/);
  });

  itest('Expect: 100-continue gets "100 Continue" before the body is sent', async (h) => {
    const srv = await h.daemon();
    const sock = await rawConnect(h, srv.port);
    const rd = rawReader(sock);
    sock.write(`GET ${P}?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n`);
    const sid = sidOf((await withTimeout(rd.next(), 3000, 'handshake')).body);
    sock.write(`POST ${P}?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n`);
    const cont = await withTimeout(rd.next(), 3000, '100 Continue');
    assert.equal(cont.status, 100);
    sock.write('40');
    assert.equal((await withTimeout(rd.next(), 3000, 'POST answer')).body, 'ok');
  });

  itest('HTTP/1.0 without keep-alive: answered with Connection: close, then closed', async (h) => {
    const srv = await h.daemon();
    const sock = await rawConnect(h, srv.port);
    const rd = rawReader(sock);
    sock.write('GET /healthz HTTP/1.0\r\n\r\n');
    const a = await withTimeout(rd.next(), 3000, 'answer');
    assert.equal(a.status, 200);
    assert.match(a.head, /\r\nConnection: close/i);
    await withTimeout(new Promise((r) => (rd.ended() ? r() : sock.once('close', r))), 3000, 'the node closes');
  });

  itest('HTTP/1.0 with keep-alive: answered with Connection: keep-alive, connection kept', async (h) => {
    const srv = await h.daemon();
    const sock = await rawConnect(h, srv.port);
    const rd = rawReader(sock);
    sock.write('GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    const a = await withTimeout(rd.next(), 3000, 'answer');
    assert.match(a.head, /\r\nConnection: keep-alive/i);
    sock.write(`GET ${P}?transport=polling HTTP/1.0\r\nConnection: keep-alive\r\n\r\n`);
    const b = await withTimeout(rd.next(), 3000, 'second answer');
    assert.equal(b.status, 400);
    assert.equal(b.body, E5);
  });

  itest('an error the node closes after (413) says Connection: close', async (h) => {
    const srv = await h.daemon({ args: ['--max-payload', '100'] });
    const sock = await rawConnect(h, srv.port);
    const rd = rawReader(sock);
    sock.write(`GET ${P}?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n`);
    const sid = sidOf((await withTimeout(rd.next(), 3000, 'handshake')).body);
    sock.write(`POST ${P}?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n`);
    const a = await withTimeout(rd.next(), 3000, '413');
    assert.equal(a.status, 413);
    assert.match(a.head, /\r\nConnection: close/i);
  });
});

describe('through a forwarding node (misrouted sid)', () => {
  itest('Node http keepAlive and Python requests.Session on one connection to B for a session on A', { timeout: 40000 }, async (h) => {
    const { nodes } = await startCluster(h, 2, { logLevel: 'info' });
    const [A, B] = nodes;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    h.defer(() => agent.destroy());
    const send = (port, method, target, body) =>
      new Promise((resolve, reject) => {
        const req = http.request({ host: HOST, port, method, path: target, agent }, (res) => {
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (c) => (data += c));
          res.on('end', () => resolve({ status: res.statusCode, body: data, reused: req.reusedSocket }));
        });
        req.on('error', reject);
        req.end(body ?? undefined);
      });
    const open = await send(A.port, 'GET', `${P}?EIO=4&transport=polling`);
    const sid = sidOf(open.body);
    await waitOutput(A, `sid=${sid} open transport=polling`);
    const viaB = [
      ['POST', `${P}?EIO=4&transport=polling&sid=${sid}`, '40', 200, (b) => assert.equal(b, 'ok')],
      ['GET', `${P}?EIO=abc&transport=polling&sid=${sid}`, null, 400, (b) => assert.equal(b, E5)],
      ['GET', `${P}?EIO=4&transport=polling&sid=${sid}`, null, 200, (b) => assert.match(b, /^40\{"sid"/)],
      ['GET', `${P}?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAAAAAAAAA`, null, 400, (b) => assert.equal(b, E1)],
      ['POST', `${P}?EIO=4&transport=polling&sid=${sid}`, '42["ping"]', 200, (b) => assert.equal(b, 'ok')],
      ['POST', `${P}?EIO=4&transport=polling&sid=BBBBBBBBBBBBBBBBBBBBBBBBBBB`, '40', 400, (b) => assert.equal(b, E1)],
      ['GET', '/healthz', null, 200, (b) => assert.equal(b, 'ok')],
    ];
    const reused = [];
    for (const [method, target, body, status, check] of viaB) {
      const r = await withTimeout(send(B.port, method, target, body), 5000, `${method} ${target} via B`);
      assert.equal(r.status, status, `${method} ${target} via B: ${r.body}`);
      check(r.body);
      reused.push(r.reused);
    }
    assert.deepEqual(reused, viaB.map((_, i) => i > 0), 'one connection to B carried the whole sequence');

    // Python requests.Session through B, on one socket.
    const out = await new Promise((resolve, reject) => {
      const items = [`POST ${P}?EIO=4&transport=polling&sid=${sid} 42["again"]`, `GET ${P}?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAAAAAAAAA`, `GET /healthz`];
      execFile(PYTHON, [path.join(here, 'clients.py'), 'session', `http://${HOST}:${B.port}`, ...items], { timeout: 20000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout)),
      );
    });
    assert.deepEqual(out.results.map((r) => r.status), [200, 400, 200]);
    assert.equal(out.results[1].body, E1);
    assert.equal(new Set(out.results.map((r) => r.sock)).size, 1);
  });
});
