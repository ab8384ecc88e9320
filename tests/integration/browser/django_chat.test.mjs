// examples/django_chat in headless Chromium: Django (gunicorn) serves the login and the chat page,
// one siobroker node (no Redis) holds the connections and serves the socket.io client, the
// ChatConsumer runs in Django. Two logged-in users chat; an anonymous visitor is refused with
// connect_error.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe } from 'node:test';
import { chromium } from 'playwright-core';
import { BIN_DIR, HOST, ServerProcess, freePort, httpRequest, itest, sleep, withTimeout } from '../lib/harness.mjs';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
const EXAMPLE = path.join(ROOT, 'examples/django_chat');
const CLIENT_JS = path.resolve(BIN_DIR, '../share/siobroker/socket.io.min.js');
const CHROMIUM = process.env.SIO_CHROMIUM || '/usr/bin/chromium';
const PYTHON = '/usr/bin/python3';
const SECRET = 'django-chat-browser-test-secret';

async function startExample(h) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sio-djchat-'));
  h.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
  const djPort = await freePort();
  // The node first (on a port of its choosing): the page Django serves must name it.
  const node = await h.start('siobroker', (port) => ['--listen', `${HOST}:${port}`, '--namespace', '/chat:app', '--app-url', `http://${HOST}:${djPort}/socket.io-app/`, '--client-js', CLIENT_JS], {
    envFor: () => ({ SIO_APP_SECRET: SECRET }),
  });
  const env = {
    ...process.env,
    DJANGO_DB: path.join(dir, 'db.sqlite3'),
    SIO_APP_SECRET: SECRET,
    SIO_PUBLIC_URL: `http://${HOST}:${node.port}`,
    PYTHONPATH: path.join(ROOT, 'clients/python'),
    PYTHONDONTWRITEBYTECODE: '1',
  };
  for (const cmd of [['migrate', '--noinput', '-v', '0'], ['demo_users']]) {
    const r = spawnSync(PYTHON, ['manage.py', ...cmd], { cwd: EXAMPLE, env, encoding: 'utf8', timeout: 60000 });
    assert.equal(r.status, 0, `manage.py ${cmd[0]}: ${r.stdout}${r.stderr}`);
  }
  const args = ['--bind', `${HOST}:${djPort}`, '--workers', '2', '--chdir', EXAMPLE, 'chatsite.wsgi'];
  const proc = spawn('gunicorn', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const django = new ServerProcess('gunicorn', args, proc);
  h.servers.push(django);
  for (let i = 0; ; i++) {
    const res = await httpRequest(djPort, { path: '/accounts/login/' }).catch(() => ({ status: 0 }));
    if (res.status === 200) break;
    if (i > 300 || !django.running) throw new Error(`django did not start\n${django.diagnostics()}`);
    await sleep(50);
  }
  return { django, node, url: `http://${HOST}:${djPort}` };
}

async function browserPage(h, browser, label) {
  const context = await browser.newContext();
  h.defer(() => context.close());
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (err) => page.errors.push(`${label}: ${err.message}`));
  return page;
}

async function login(page, url, user) {
  await page.goto(`${url}/accounts/login/?next=/`, { waitUntil: 'load', timeout: 10000 });
  await page.fill('#id_username', user);
  await page.fill('#id_password', 'chat-demo');
  await page.click('#submit');
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: 15000 });
  assert.equal(await page.textContent('#me'), user);
}

describe('examples/django_chat in Chromium', () => {
  itest('two logged-in users chat; an anonymous visitor gets connect_error', { timeout: 120000 }, async (h) => {
    const { url } = await startExample(h);
    const browser = await withTimeout(chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] }), 20000, 'chromium');
    h.defer(() => browser.close());
    const alice = await browserPage(h, browser, 'alice');
    const bob = await browserPage(h, browser, 'bob');
    await login(alice, url, 'alice');
    await login(bob, url, 'bob');
    await alice.locator('#log li.system', { hasText: 'Welcome, alice!' }).waitFor({ timeout: 5000 });
    await alice.fill('#text', 'hello bob');
    await alice.click('#send');
    await bob.locator('#log li.chat', { hasText: 'hello bob' }).waitFor({ timeout: 10000 });
    assert.equal(await bob.locator('#log li.chat .who').first().textContent(), 'alice: ');
    await bob.fill('#text', 'hi alice');
    await bob.click('#send');
    await alice.locator('#log li.chat', { hasText: 'hi alice' }).waitFor({ timeout: 10000 });
    const anon = await browserPage(h, browser, 'anonymous');
    await anon.goto(`${url}/`, { waitUntil: 'load', timeout: 10000 });
    await anon.locator('#status[data-state="refused"]').waitFor({ timeout: 15000 });
    assert.equal(await anon.textContent('#status'), 'refused: login required');
    // Bob leaves: alice is told by the disconnect handler.
    await bob.close();
    await alice.locator('#log li.system', { hasText: 'bob left' }).waitFor({ timeout: 10000 });
    assert.deepEqual([...alice.errors, ...anon.errors], []);
  });
});
