// CORS on the siobroker daemon's Engine.IO endpoint (--cors-origin / SIO_CORS_ORIGINS).

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { itest, httpRequest, eioUrl, parseOpen } from '../lib/harness.mjs';

const PATH = '/socket.io/';
const ALLOWED = 'http://a.example';
const FORBIDDEN = '{"code":4,"message":"Forbidden"}';

function methodsOf(res) {
  return String(res.headers['access-control-allow-methods'] ?? '')
    .split(',')
    .map((m) => m.trim().toUpperCase())
    .filter(Boolean);
}

function preflight(port, origin, method = 'POST') {
  return httpRequest(port, {
    method: 'OPTIONS',
    path: eioUrl(PATH),
    headers: { origin, 'access-control-request-method': method },
  });
}

describe('CORS with --cors-origin http://a.example', () => {
  itest('OPTIONS preflight from the allowed origin → 204/200 with the CORS headers', async (h) => {
    const srv = await h.daemon({ args: ['--cors-origin', ALLOWED] });
    const res = await preflight(srv.port, ALLOWED);
    assert.ok(res.status === 204 || res.status === 200, `preflight status ${res.status} body ${JSON.stringify(res.body)}`);
    assert.equal(res.headers['access-control-allow-origin'], ALLOWED);
    assert.equal(res.headers['access-control-allow-credentials'], 'true');
    const methods = methodsOf(res);
    assert.ok(methods.includes('GET') && methods.includes('POST'), `Access-Control-Allow-Methods: ${res.headers['access-control-allow-methods']}`);
  });

  itest('handshake GET and POST from the allowed origin carry Access-Control-Allow-Origin and credentials', async (h) => {
    const srv = await h.daemon({ args: ['--cors-origin', ALLOWED] });
    const hs = await httpRequest(srv.port, { path: eioUrl(PATH), headers: { origin: ALLOWED } });
    assert.equal(hs.status, 200, `handshake: ${hs.status} ${hs.body}`);
    const { sid } = parseOpen(hs.body);
    assert.equal(hs.headers['access-control-allow-origin'], ALLOWED);
    assert.equal(hs.headers['access-control-allow-credentials'], 'true');
    const post = await httpRequest(srv.port, { method: 'POST', path: eioUrl(PATH, { sid }), body: '6', headers: { origin: ALLOWED, 'content-type': 'text/plain;charset=UTF-8' } });
    assert.equal(post.status, 200, `POST: ${post.status} ${post.body}`);
    assert.equal(post.body, 'ok');
    assert.equal(post.headers['access-control-allow-origin'], ALLOWED);
    assert.equal(post.headers['access-control-allow-credentials'], 'true');
  });

  itest('handshake from a refused origin → 403 {"code":4,"message":"Forbidden"}', async (h) => {
    const srv = await h.daemon({ args: ['--cors-origin', ALLOWED] });
    const res = await httpRequest(srv.port, { path: eioUrl(PATH), headers: { origin: 'http://evil.example' } });
    assert.equal(res.status, 403, `status; body ${JSON.stringify(res.body)}`);
    assert.equal(res.body, FORBIDDEN);
    assert.notEqual(res.headers['access-control-allow-origin'], 'http://evil.example', 'a refused origin must not be echoed');
    assert.notEqual(res.headers['access-control-allow-origin'], '*');
  });

  itest('an origin that only shares a prefix with the allowed one is refused', async (h) => {
    const srv = await h.daemon({ args: ['--cors-origin', ALLOWED] });
    for (const origin of ['http://a.example.evil.com', 'http://a.exampl', 'https://a.example', 'http://a.example:8080']) {
      const res = await httpRequest(srv.port, { path: eioUrl(PATH), headers: { origin } });
      assert.equal(res.status, 403, `origin ${origin}: status ${res.status}`);
      assert.equal(res.body, FORBIDDEN);
    }
  });

  itest('a comma-separated list allows each listed origin', async (h) => {
    const srv = await h.daemon({ args: ['--cors-origin', `${ALLOWED},http://b.example`] });
    for (const origin of [ALLOWED, 'http://b.example']) {
      const res = await httpRequest(srv.port, { path: eioUrl(PATH), headers: { origin } });
      assert.equal(res.status, 200, `origin ${origin}: ${res.status} ${res.body}`);
      assert.equal(res.headers['access-control-allow-origin'], origin);
    }
    const res = await httpRequest(srv.port, { path: eioUrl(PATH), headers: { origin: 'http://c.example' } });
    assert.equal(res.status, 403);
    assert.equal(res.body, FORBIDDEN);
  });

  itest('SIO_CORS_ORIGINS is honoured when no flag is given', async (h) => {
    const srv = await h.daemon({ env: { SIO_CORS_ORIGINS: ALLOWED } });
    const ok = await httpRequest(srv.port, { path: eioUrl(PATH), headers: { origin: ALLOWED } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['access-control-allow-origin'], ALLOWED);
    const bad = await httpRequest(srv.port, { path: eioUrl(PATH), headers: { origin: 'http://evil.example' } });
    assert.equal(bad.status, 403);
    assert.equal(bad.body, FORBIDDEN);
  });
});

describe('CORS with --cors-origin *', () => {
  itest('any origin is allowed, preflight and handshake', async (h) => {
    const srv = await h.daemon({ args: ['--cors-origin', '*'] });
    for (const origin of ['http://b.example', 'https://whatever.test:8443']) {
      const pf = await preflight(srv.port, origin);
      assert.ok(pf.status === 204 || pf.status === 200, `preflight from ${origin}: ${pf.status}`);
      assert.ok([origin, '*'].includes(pf.headers['access-control-allow-origin']), `preflight ACAO: ${pf.headers['access-control-allow-origin']}`);
      const methods = methodsOf(pf);
      assert.ok(methods.includes('GET') && methods.includes('POST'), `Access-Control-Allow-Methods: ${pf.headers['access-control-allow-methods']}`);
      const hs = await httpRequest(srv.port, { path: eioUrl(PATH), headers: { origin } });
      assert.equal(hs.status, 200, `handshake from ${origin}: ${hs.status} ${hs.body}`);
      parseOpen(hs.body);
      assert.ok([origin, '*'].includes(hs.headers['access-control-allow-origin']), `handshake ACAO: ${hs.headers['access-control-allow-origin']}`);
    }
  });
});

describe('CORS not configured', () => {
  itest('no CORS headers are sent, and requests without Origin work', async (h) => {
    const srv = await h.daemon();
    const hs = await httpRequest(srv.port, { path: eioUrl(PATH) });
    assert.equal(hs.status, 200, `handshake: ${hs.status} ${hs.body}`);
    const { sid } = parseOpen(hs.body);
    const post = await httpRequest(srv.port, { method: 'POST', path: eioUrl(PATH, { sid }), body: '6' });
    assert.equal(post.status, 200);
    assert.equal(post.body, 'ok');
    for (const res of [hs, post]) {
      const cors = Object.keys(res.headers).filter((k) => k.startsWith('access-control-'));
      assert.deepEqual(cors, [], `unexpected CORS headers: ${cors.join(', ')}`);
    }
    // Even a request that carries an Origin gets no Access-Control-Allow-* grant.
    const withOrigin = await httpRequest(srv.port, { path: eioUrl(PATH), headers: { origin: 'http://a.example' } });
    assert.equal(withOrigin.headers['access-control-allow-origin'], undefined, 'no CORS grant without --cors-origin');
  });
});

describe('CORS configured, non-browser clients', () => {
  itest('requests without an Origin header still work when a CORS list is set', async (h) => {
    const srv = await h.daemon({ args: ['--cors-origin', ALLOWED] });
    const hs = await httpRequest(srv.port, { path: eioUrl(PATH) });
    assert.equal(hs.status, 200, `handshake without Origin: ${hs.status} ${hs.body}`);
    parseOpen(hs.body);
  });
});
