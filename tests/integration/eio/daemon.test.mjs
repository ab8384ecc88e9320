// siobroker daemon configuration and lifecycle, seen through its Engine.IO endpoint.

import assert from 'node:assert/strict';
import net from 'node:net';
import { describe } from 'node:test';
import { itest, runBinary, freePort, HOST, httpRequest, eioUrl, parseOpen, RawPolling, sleep, withTimeout, wsUrl } from '../lib/harness.mjs';

const FLAGS = ['--listen', '--path', '--ping-interval', '--ping-timeout', '--max-payload', '--cors-origin', '--log-level', '--log-format', '--help'];

/** Non-empty lines of a stream capture. */
const lines = (s) => s.split('\n').map((l) => l.trimEnd()).filter((l) => l.trim() !== '');

/** Runs siobroker with a configuration error and checks: exit 2, exactly one stderr line, never listened. */
async function assertConfigError(args, env = {}, what = args.join(' ')) {
  const port = await freePort();
  const hasListen = args.includes('--listen') || env.SIO_LISTEN;
  const full = hasListen ? args : ['--listen', `${HOST}:${port}`, ...args];
  const r = await runBinary('siobroker', full, { env, timeoutMs: 10000 });
  const diag = `\n--- stderr ---\n${r.stderr}\n--- stdout ---\n${r.stdout}`;
  assert.equal(r.code, 2, `${what}: exit code (signal ${r.signal})${diag}`);
  assert.equal(lines(r.stderr).length, 1, `${what}: expected a one-line message on stderr${diag}`);
  assert.ok(!r.stderr.includes('listening on'), `${what}: must not start listening${diag}`);
  return r;
}

describe('command line', () => {
  itest('--help exits 0 and lists every flag', async () => {
    const r = await runBinary('siobroker', ['--help'], { timeoutMs: 10000 });
    const diag = `\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
    assert.equal(r.code, 0, `exit code${diag}`);
    for (const f of FLAGS) assert.ok(r.stdout.includes(f), `--help output on stdout does not mention ${f}${diag}`);
    assert.ok(!r.stderr.includes('listening on'), `--help must not start the server${diag}`);
    // Each flag's entry (its line and the indented lines under it) states its default once.
    const entries = r.stdout.split(/\n(?=  --)/).filter((e) => e.startsWith('  --'));
    assert.ok(entries.length >= 20, `one entry per flag${diag}`);
    for (const e of entries) assert.ok((e.match(/default/gi) ?? []).length <= 1, `default stated twice:\n${e}`);
  });

  itest('--ping-interval abc → exit 2 with a one-line message', async () => {
    const r = await assertConfigError(['--ping-interval', 'abc']);
    assert.match(r.stderr, /ping-interval|abc/i, 'the message should name the bad option or value');
  });

  for (const args of [
    ['--ping-timeout', 'abc'],
    ['--ping-interval', '-5'],
    ['--ping-interval', '12abc'],
    ['--max-payload', 'lots'],
    ['--log-level', 'loud'],
    ['--log-format', 'xml'],
    ['--listen', 'not-an-address'],
    ['--listen', `${HOST}:99999`],
    ['--no-such-flag'],
  ]) {
    itest(`${args.join(' ')} → exit 2 with a one-line message`, async () => {
      await assertConfigError(args);
    });
  }

  itest('an invalid value in an environment variable → exit 2 (SIO_ENGINEIO_PING_INTERVAL_MS=abc)', async () => {
    await assertConfigError([], { SIO_ENGINEIO_PING_INTERVAL_MS: 'abc' }, 'SIO_ENGINEIO_PING_INTERVAL_MS=abc');
  });

  itest('a port already in use → exit 2 with a one-line message', async (h) => {
    const blocker = net.createServer();
    await new Promise((resolve, reject) => {
      blocker.once('error', reject);
      blocker.listen(0, HOST, resolve);
    });
    h.defer(() => new Promise((r) => blocker.close(r)));
    const { port } = blocker.address();
    await assertConfigError(['--listen', `${HOST}:${port}`], {}, `--listen on busy port ${port}`);
  });
});

describe('configuration precedence', () => {
  itest('defaults: pingInterval 25000, pingTimeout 20000, maxPayload 1000000, path /socket.io/', async (h) => {
    const srv = await h.daemon();
    const res = await httpRequest(srv.port, { path: eioUrl('/socket.io/') });
    assert.equal(res.status, 200, `${res.status} ${res.body}`);
    const open = parseOpen(res.body);
    assert.deepEqual(Object.keys(open).sort(), ['maxPayload', 'pingInterval', 'pingTimeout', 'sid', 'upgrades']);
    assert.deepEqual(open.upgrades, ['websocket']);
    assert.equal(open.pingInterval, 25000);
    assert.equal(open.pingTimeout, 20000);
    assert.equal(open.maxPayload, 1000000);
  });

  itest('SIO_ENGINEIO_* environment variables appear in the open packet', async (h) => {
    const srv = await h.daemon({
      env: { SIO_ENGINEIO_PING_INTERVAL_MS: '1234', SIO_ENGINEIO_PING_TIMEOUT_MS: '567', SIO_ENGINEIO_MAX_PAYLOAD_BYTES: '4321' },
    });
    const open = parseOpen((await httpRequest(srv.port, { path: eioUrl('/socket.io/') })).body);
    assert.equal(open.pingInterval, 1234);
    assert.equal(open.pingTimeout, 567);
    assert.equal(open.maxPayload, 4321);
  });

  itest('flags beat environment variables', async (h) => {
    const srv = await h.daemon({
      args: ['--ping-interval', '4321', '--ping-timeout', '765', '--max-payload', '2222'],
      env: { SIO_ENGINEIO_PING_INTERVAL_MS: '1234', SIO_ENGINEIO_PING_TIMEOUT_MS: '567', SIO_ENGINEIO_MAX_PAYLOAD_BYTES: '4321' },
    });
    const open = parseOpen((await httpRequest(srv.port, { path: eioUrl('/socket.io/') })).body);
    assert.equal(open.pingInterval, 4321);
    assert.equal(open.pingTimeout, 765);
    assert.equal(open.maxPayload, 2222);
  });

  itest('SIO_LISTEN is honoured when --listen is absent', async (h) => {
    const srv = await h.daemon({ listenViaEnv: true });
    const res = await httpRequest(srv.port, { path: eioUrl('/socket.io/') });
    assert.equal(res.status, 200);
    parseOpen(res.body);
  });

  itest('--path /custom/ serves Engine.IO there and not at /socket.io/', async (h) => {
    const srv = await h.daemon({ args: ['--path', '/custom/'] });
    const res = await httpRequest(srv.port, { path: eioUrl('/custom/') });
    assert.equal(res.status, 200, `${res.status} ${res.body}`);
    const open = parseOpen(res.body);
    const post = await httpRequest(srv.port, { method: 'POST', path: eioUrl('/custom/', { sid: open.sid }), body: '6' });
    assert.equal(post.status, 200);
    assert.equal(post.body, 'ok');
    const old = await httpRequest(srv.port, { path: eioUrl('/socket.io/') });
    assert.notEqual(old.status, 200, `the default path must not serve Engine.IO when --path is set (got ${old.status} ${old.body})`);
    const ws = h.ws(srv.port, wsUrl('/custom/'));
    await withTimeout(ws.opened, 5000, 'WebSocket on /custom/ to open');
    const m = await ws.next(2000, 'open packet on the custom-path WebSocket');
    assert.deepEqual(parseOpen(m.data).upgrades, []);
  });

  itest('SIO_PATH is honoured, and --path beats it', async (h) => {
    const a = await h.daemon({ env: { SIO_PATH: '/envpath/' } });
    assert.equal((await httpRequest(a.port, { path: eioUrl('/envpath/') })).status, 200);
    const b = await h.daemon({ env: { SIO_PATH: '/envpath/' }, args: ['--path', '/flagpath/'] });
    assert.equal((await httpRequest(b.port, { path: eioUrl('/flagpath/') })).status, 200);
    assert.notEqual((await httpRequest(b.port, { path: eioUrl('/envpath/') })).status, 200);
  });

  itest('--log-format json writes JSON lines on stderr', async (h) => {
    const srv = await h.daemon({ args: ['--log-format', 'json', '--log-level', 'debug'] });
    const res = await httpRequest(srv.port, { path: eioUrl('/socket.io/') });
    assert.equal(res.status, 200);
    await sleep(100);
    const ls = lines(srv.stderr);
    assert.ok(ls.length >= 1);
    for (const l of ls) {
      let obj;
      assert.doesNotThrow(() => (obj = JSON.parse(l)), `not a JSON line: ${l}`);
      assert.equal(typeof obj, 'object', `not a JSON object: ${l}`);
    }
  });
});

describe('shutdown', () => {
  for (const sig of ['SIGTERM', 'SIGINT']) {
    itest(`${sig} with a held polling GET and a WebSocket: GET gets "1", WebSocket closed, exit 0 within 5 s`, async (h) => {
      const srv = await h.daemon();
      const p = new RawPolling(h, srv.port, '/socket.io/');
      await p.handshake();
      const held = p.get();
      const ws = h.ws(srv.port, wsUrl('/socket.io/'));
      await withTimeout(ws.opened, 5000, 'WebSocket to open');
      const open = await ws.next(2000, 'open packet');
      assert.equal(open.data[0], '0');
      await sleep(500); // the GET is now pending (the server says nothing when it holds one)
      const t0 = Date.now();
      srv.kill(sig);
      const res = await withTimeout(held.done, 5000, `the held GET to complete after ${sig}`);
      assert.equal(res.status, 200);
      assert.equal(res.body, '1', `held GET after ${sig}`);
      await withTimeout(ws.closed, 5000, `the WebSocket to be closed after ${sig}`);
      const st = await withTimeout(srv.exited, 5000 - (Date.now() - t0) + 50, `siobroker to exit within 5 s of ${sig}`);
      assert.equal(st.signal, null, `killed by signal ${st.signal}`);
      assert.equal(st.code, 0, `exit code after ${sig}`);
      assert.ok(Date.now() - t0 <= 5100, `exit took ${Date.now() - t0} ms`);
    });
  }

  itest('SIGTERM with a polling session that holds no GET (client gone quiet) → exit 0 within 5 s', async (h) => {
    const srv = await h.daemon();
    const p = new RawPolling(h, srv.port, '/socket.io/');
    await p.handshake(); // the session exists, but no GET is held for its close packet
    const t0 = Date.now();
    srv.kill('SIGTERM');
    const st = await withTimeout(srv.exited, 5000, 'siobroker to exit within 5 s of SIGTERM');
    assert.equal(st.signal, null, `killed by signal ${st.signal}`);
    assert.equal(st.code, 0);
    assert.ok(Date.now() - t0 < 5000, `exit took ${Date.now() - t0} ms`);
  });

  itest('SIGTERM with no clients → exit 0 promptly', async (h) => {
    const srv = await h.daemon();
    const t0 = Date.now();
    srv.kill('SIGTERM');
    const st = await withTimeout(srv.exited, 5000, 'siobroker to exit within 5 s of SIGTERM');
    assert.equal(st.code, 0);
    assert.ok(Date.now() - t0 < 5000);
  });
});
