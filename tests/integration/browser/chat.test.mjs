// Browser end-to-end: the chat page (web/chat) served by `siobroker --static`, in two headless Chromium tabs.
//
// Needs build/share/siobroker (staged by the siobroker_web target: the browser client and www/),
// the npm package playwright-core, and Debian's chromium (SIO_CHROMIUM overrides /usr/bin/chromium).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe } from 'node:test';
import { chromium } from 'playwright-core';
import { itest, BIN_DIR, HOST, httpRequest, withTimeout } from '../lib/harness.mjs';

const SHARE_DIR = path.resolve(BIN_DIR, '../share/siobroker');
const WWW_DIR = path.join(SHARE_DIR, 'www');
const CLIENT_JS = path.join(SHARE_DIR, 'socket.io.min.js');
const CHROMIUM = process.env.SIO_CHROMIUM || '/usr/bin/chromium';
const ROOM = 'lobby';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** siobroker serving the chat page from the staged www directory. */
function startDaemon(h) {
  return h.daemon({ args: ['--static', WWW_DIR] });
}

/** Launches a headless Chromium with a fresh profile; closed when the test ends. */
async function launchBrowser(h) {
  const browser = await withTimeout(
    chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS }),
    20000,
    `chromium (${CHROMIUM}) to start`,
  );
  h.defer(() => browser.close());
  return browser;
}

/** Opens the chat page in a new tab, recording page errors and console errors. */
async function openChat(context, url, label) {
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (err) => page.errors.push(`${label}: page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') page.errors.push(`${label}: console error: ${msg.text()}`);
  });
  await page.goto(url, { waitUntil: 'load', timeout: 10000 });
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: 10000 });
  return page;
}

async function joinRoom(page, name, room) {
  await page.fill('#name', name);
  await page.fill('#room', room);
  await page.click('#join');
  await page.locator(`body[data-room="${room}"]`).waitFor({ timeout: 5000 });
  await page.locator('#send:not([disabled])').waitFor({ timeout: 5000 });
}

async function send(page, text) {
  await page.fill('#text', text);
  await page.click('#send');
}

/** Log entries (chat) of a page as {own, text, delivered}. */
function chatEntries(page) {
  return page.$$eval('#log li[data-kind="chat"]', (lis) =>
    lis.map((li) => ({
      own: li.dataset.own === 'true',
      who: li.querySelector('.who')?.textContent ?? '',
      text: li.querySelector('.text')?.textContent ?? '',
      delivered: li.dataset.delivered,
    })),
  );
}

describe('browser: chat page on siobroker --static', () => {
  before(() => assert.ok(fs.existsSync(CHROMIUM), `no chromium at ${CHROMIUM}: make deps installs it`));
  itest('serves the page and the browser client, refuses paths outside the static directory', async (h) => {
    assert.ok(fs.existsSync(path.join(WWW_DIR, 'index.html')), `${WWW_DIR}/index.html is staged (build the siobroker_web target)`);
    assert.ok(fs.existsSync(CLIENT_JS), `${CLIENT_JS} is staged`);
    const srv = await startDaemon(h);

    const index = await httpRequest(srv.port, { path: '/' });
    assert.equal(index.status, 200, 'GET /');
    assert.match(index.headers['content-type'], /^text\/html\b/, 'GET /: content-type');
    assert.equal(index.headers['cache-control'], 'no-cache', 'GET /: cache-control');
    assert.equal(index.body, fs.readFileSync(path.join(WWW_DIR, 'index.html'), 'utf8'), 'GET /: body is www/index.html');

    const js = await httpRequest(srv.port, { path: '/socket.io/socket.io.min.js' });
    assert.equal(js.status, 200, 'GET /socket.io/socket.io.min.js');
    assert.equal(js.headers['content-type'].split(';')[0].trim(), 'application/javascript', 'client: content-type');
    assert.ok(js.raw.equals(fs.readFileSync(CLIENT_JS)), 'client: body is the staged socket.io.min.js');

    const head = await httpRequest(srv.port, { method: 'HEAD', path: '/socket.io/socket.io.min.js' });
    assert.equal(head.status, 200, 'HEAD client');
    assert.equal(Number(head.headers['content-length']), fs.statSync(CLIENT_JS).size, 'HEAD client: content-length');
    assert.equal(head.raw.length, 0, 'HEAD client: no body');

    const css = await httpRequest(srv.port, { path: '/chat.css' });
    assert.equal(css.status, 200, 'GET /chat.css');
    assert.match(css.headers['content-type'], /^text\/css\b/, 'GET /chat.css: content-type');

    for (const p of [
      '/../../etc/passwd',
      '/..%2f..%2fetc/passwd',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/chat.js/../../../../etc/passwd',
      '/..%5c..%5cetc%5cpasswd',
      '/socket.io/../../../etc/passwd',
      '/no-such-file.html',
    ]) {
      const res = await httpRequest(srv.port, { path: p });
      assert.equal(res.status, 404, `GET ${p}: status (body ${JSON.stringify(res.body.slice(0, 80))})`);
      assert.doesNotMatch(res.body, /root:/, `GET ${p}: no /etc/passwd content`);
    }

    const health = await httpRequest(srv.port, { path: '/healthz' });
    assert.equal(health.status, 200, 'the daemon still answers after the refused paths');
    const st = await srv.stop();
    assert.deepEqual(st, { code: 0, signal: null }, 'siobroker exits with 0 on SIGTERM');
    assert.doesNotMatch(srv.stderr, /Sanitizer|runtime error/, 'no sanitizer reports');
  });

  itest('two tabs in room "lobby": presence and messages reach the other tab only', { timeout: 60000 }, async (h) => {
    const srv = await startDaemon(h);
    const url = `http://${HOST}:${srv.port}/`;
    const browser = await launchBrowser(h);
    const context = await browser.newContext();
    h.defer(() => context.close());

    const a = await openChat(context, url, 'tab A');
    const b = await openChat(context, url, 'tab B');
    await joinRoom(a, 'Alice', ROOM);
    await joinRoom(b, 'Bob', ROOM);

    // B's page announces itself after its join ack; A shows it.
    await a.locator('#log li[data-kind="presence"]', { hasText: `Bob joined #${ROOM}` }).waitFor({ timeout: 5000 });

    await send(a, 'hello from A');
    await b.locator('#log li[data-kind="chat"]', { hasText: 'hello from A' }).waitFor({ timeout: 5000 });

    // A shows its own message once, marked as its own, acknowledged as delivered to B only.
    await a.locator('#log li[data-kind="chat"][data-own="true"][data-delivered]').waitFor({ timeout: 5000 });
    assert.equal(await a.inputValue('#text'), '', 'A: the input is cleared after sending');
    await b.locator('#log li[data-kind="chat"]', { hasText: 'hello from A' }).waitFor({ timeout: 5000 });

    // B answers; A receives it.
    await send(b, 'hi from B');
    await a.locator('#log li[data-kind="chat"][data-own="false"]', { hasText: 'hi from B' }).waitFor({ timeout: 5000 });
    await b.locator('#log li[data-kind="chat"][data-own="true"][data-delivered]').waitFor({ timeout: 5000 });

    const aChat = await chatEntries(a);
    const bChat = await chatEntries(b);
    assert.deepEqual(
      aChat,
      [
        { own: true, who: 'Alice (you):', text: 'hello from A', delivered: '1' },
        { own: false, who: 'Bob:', text: 'hi from B', delivered: undefined },
      ],
      'A: its own message once (not echoed back), then B’s',
    );
    assert.deepEqual(
      bChat,
      [
        { own: false, who: 'Alice:', text: 'hello from A', delivered: undefined },
        { own: true, who: 'Bob (you):', text: 'hi from B', delivered: '1' },
      ],
      'B: A’s message once, then its own',
    );
    const bPresence = await b.$$eval('#log li[data-kind="presence"]', (lis) => lis.map((li) => li.textContent));
    assert.ok(!bPresence.some((t) => t.includes('Bob joined')), `B does not hear its own presence: ${JSON.stringify(bPresence)}`);

    assert.deepEqual([...a.errors, ...b.errors], [], 'no page or console errors');

    // The daemon shuts down cleanly with the tabs gone (sanitizer builds report here).
    await context.close();
    const st = await srv.stop();
    assert.deepEqual(st, { code: 0, signal: null }, 'siobroker exits with 0 on SIGTERM');
    assert.doesNotMatch(srv.stderr, /Sanitizer|runtime error/, 'no sanitizer reports');
  });
});
