// The official admin UI (@socket.io/admin-ui 0.5.1's built page, served by siobroker at /admin/)
// in a headless Chromium against a live three-node cluster: it logs in with the basic auth
// credentials, lists the three nodes on its Servers page and the room the test's sockets joined
// (one socket per node) on its Rooms page, and disconnects one socket from its Socket page; the
// socket.io-client socket sees the disconnect. Screenshots of each step go to the test's output
// directory (SIO_TEST_OUTPUT_DIR, build/Testing/observe under ctest).
//
// Needs build/share/siobroker/admin-ui (staged by the siobroker_web target), the npm package
// playwright-core, and Debian's chromium (SIO_CHROMIUM overrides /usr/bin/chromium).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe } from 'node:test';
import { chromium } from 'playwright-core';
import { itest, httpRequest, withTimeout } from '../lib/harness.mjs';
import { connect } from '../lib/sio.mjs';
import { WS, POLL, join } from '../redis/cluster.mjs';
import { startCluster } from '../cluster/lib.mjs';
import { ADMIN_ARGS, ADMIN_PASSWORD, ADMIN_USER } from './lib.mjs';

const CHROMIUM = process.env.SIO_CHROMIUM || '/usr/bin/chromium';
const OUT_DIR = process.env.SIO_TEST_OUTPUT_DIR || path.join(os.tmpdir(), 'siobroker-observe');
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe('admin UI in Chromium', () => {
  itest('logs in, sees the nodes and a room of a live cluster, disconnects a socket', { timeout: 150000 }, async (h) => {
    fs.mkdirSync(OUT_DIR, { recursive: true });
    const shot = (page, name) => page.screenshot({ path: path.join(OUT_DIR, `admin-ui-${name}.png`), fullPage: true });
    const { nodes } = await startCluster(h, 3, { logLevel: 'info', args: ADMIN_ARGS });
    const [a] = nodes;
    const socks = [];
    for (const [i, n] of nodes.entries()) {
      const s = await connect(h, n, i === 2 ? POLL : WS, '/', {});
      s.label = `s${n.id}`;
      await join(s, 'lobby');
      socks.push(s);
    }
    const victim = socks[1]; // on node B; the UI is served by, and connected to, node A
    const victimId = victim.id;

    // The page and its assets are served from the staged copy, with the static files' policy.
    const index = await httpRequest(a.port, { path: '/admin/' });
    assert.equal(index.status, 200);
    assert.match(index.body, /Socket\.IO Admin UI/);
    const redirect = await httpRequest(a.port, { path: '/admin' });
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.location, '/admin/');
    assert.equal((await httpRequest(a.port, { path: '/admin/js/none.js' })).status, 404);
    assert.equal((await httpRequest(a.port, { path: '/admin/../../etc/passwd' })).status, 404);

    const browser = await withTimeout(chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS }), 30000, 'chromium to start');
    h.defer(() => browser.close());
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (err) => errors.push(err.message));
    const elsewhere = []; // the page must load nothing from outside the node (no internet needed)
    page.on('request', (req) => {
      if (!req.url().startsWith(`http://127.0.0.1:${a.port}/`) && !req.url().startsWith('ws://127.0.0.1:')) elsewhere.push(req.url());
    });
    await page.goto(`http://127.0.0.1:${a.port}/admin/`, { waitUntil: 'load', timeout: 20000 });
    h.defer(() => shot(page, 'last')); // what the page showed when the test ended
    let step = 'login';
    h.defer(() => console.log(`admin UI test: last step ${step}`));

    // Log in through the UI's connection dialog.
    await page.getByLabel('Server URL').waitFor({ timeout: 15000 });
    await page.waitForFunction(() => document.fonts.check('24px "Material Design Icons"'), null, { timeout: 15000 });
    await shot(page, '1-login');
    await page.getByLabel('Server URL').fill(`http://127.0.0.1:${a.port}`); // 0.5: the namespace (/admin) is an advanced option
    await page.getByLabel('Username').fill(ADMIN_USER);
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Connect' }).click();
    step = 'session';
    await page.waitForFunction(() => !!localStorage.getItem('session_id'), null, { timeout: 15000 });
    step = 'dialog closed';
    await page.getByLabel('Server URL').waitFor({ state: 'hidden', timeout: 15000 });

    // Servers: the three nodes (serverId HOSTNAME#A ...), reported through the adapter.
    step = 'servers';
    await page.getByRole('link', { name: 'Sockets' }).waitFor({ timeout: 15000 }); // pages shown
    await page.getByRole('link', { name: 'Servers' }).click();
    for (const id of ['A', 'B', 'C']) await page.getByText(new RegExp(`#${id}$`)).first().waitFor({ timeout: 15000 });
    await shot(page, '2-servers');

    // Rooms: "lobby", with the sockets of the three nodes.
    step = 'rooms';
    await page.getByRole('link', { name: 'Rooms' }).click();
    await page.getByText('lobby', { exact: true }).first().waitFor({ timeout: 15000 });
    await shot(page, '3-rooms');
    step = 'room';
    await page.evaluate(() => (location.hash = `#/n/${encodeURIComponent('/')}/rooms/lobby`));
    for (const s of socks) await page.getByText(s.id, { exact: true }).first().waitFor({ timeout: 15000 });
    await shot(page, '4-room-lobby');

    // The socket on B: disconnect it from its page (the second logout button: the socket's; the
    // first disconnects its whole client).
    step = 'socket';
    await page.evaluate((id) => (location.hash = `#/n/${encodeURIComponent('/')}/sockets/${id}`), victimId);
    await page.getByText(victimId, { exact: true }).first().waitFor({ timeout: 15000 });
    await shot(page, '5-socket');
    const disconnected = victim.rec.next('disconnect', 15000);
    step = 'disconnect';
    await page.locator('button:has(i.mdi-logout)').nth(1).click();
    const [reason] = await disconnected;
    assert.equal(reason, 'io server disconnect');
    await page.getByText('disconnected', { exact: true }).first().waitFor({ timeout: 15000 });
    await shot(page, '6-socket-disconnected');
    assert.ok(socks[0].connected && socks[2].connected, 'the other sockets stay');
    assert.deepEqual(errors, [], 'no page errors');
    assert.deepEqual(elsewhere, [], 'no request outside the node');
  });
});
