// Static files and the browser client share one cache policy: "Cache-Control: no-cache" with an
// ETag, so a browser keeps a copy and revalidates it (304 when unchanged); a changed file gets a
// new ETag. HEAD carries GET's headers without the body.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe } from 'node:test';
import { httpRequest, itest } from '../lib/harness.mjs';

function staticDir(h) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'siobroker-static-'));
  h.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>x</title>');
  fs.writeFileSync(path.join(dir, 'app.css'), 'body{}');
  return dir;
}

describe('static files and the browser client', () => {
  itest('page, asset and client: no-cache + ETag, 304 on If-None-Match, a new ETag after a change', async (h) => {
    const dir = staticDir(h);
    const srv = await h.daemon({ args: ['--static', dir] });
    for (const p of ['/', '/app.css', '/socket.io/socket.io.min.js']) {
      const a = await httpRequest(srv.port, { path: p });
      assert.equal(a.status, 200, p);
      assert.equal(a.headers['cache-control'], 'no-cache', `${p}: one cache policy`);
      const etag = a.headers.etag;
      assert.match(etag, /^"[0-9a-f]+-[0-9a-f]+"$/, `${p}: ETag`);
      const b = await httpRequest(srv.port, { path: p, headers: { 'if-none-match': etag } });
      assert.equal(b.status, 304, `${p}: revalidated`);
      assert.equal(b.body, '');
      assert.equal(b.headers.etag, etag);
      const c = await httpRequest(srv.port, { path: p, headers: { 'if-none-match': `"other", W/${etag}` } });
      assert.equal(c.status, 304, `${p}: a weak match in a list`);
      const d = await httpRequest(srv.port, { path: p, headers: { 'if-none-match': '"other"' } });
      assert.equal(d.status, 200, `${p}: no match`);
      const head = await httpRequest(srv.port, { method: 'HEAD', path: p });
      assert.equal(head.status, 200);
      assert.equal(head.body, '');
      assert.equal(head.headers['content-length'], a.headers['content-length']);
    }
    const before = (await httpRequest(srv.port, { path: '/app.css' })).headers.etag;
    fs.writeFileSync(path.join(dir, 'app.css'), 'body{color:red}');
    const after = await httpRequest(srv.port, { path: '/app.css', headers: { 'if-none-match': before } });
    assert.equal(after.status, 200, 'a changed file is sent again');
    assert.notEqual(after.headers.etag, before);
    assert.equal(after.body, 'body{color:red}');
  });

  itest('paths outside the directory and odd targets are 404', async (h) => {
    const dir = staticDir(h);
    const srv = await h.daemon({ args: ['--static', dir] });
    for (const p of ['/../etc/passwd', '/%2e%2e/etc/passwd', '/app.css%00.html', '/nope.css']) {
      const r = await httpRequest(srv.port, { path: p });
      assert.ok(r.status === 404 || r.status === 400, `${p}: ${r.status}`);
    }
  });
});
