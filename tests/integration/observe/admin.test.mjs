// The admin UI's server side (@socket.io/admin-ui 0.5's protocol on /admin) with the official
// socket.io-client in the UI's place: basic auth with a bcrypt hash and the session token, the
// configuration, server stats of every node of a cluster (a Node server instrumented with
// admin-ui included), the socket sample with live updates, the UI's actions across the cluster,
// and the bounds (sample size, update budget) counted in /metrics.

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { eventually, httpRequest, itest, runBinary, sleep } from '../lib/harness.mjs';
import { io } from '../lib/sio.mjs';
import { Recorder, ask, connect } from '../lib/sio.mjs';
import { WS, POLL, join } from '../redis/cluster.mjs';
import { startCluster } from '../cluster/lib.mjs';
import { ADMIN_ARGS, ADMIN_HASH, ADMIN_PASSWORD, ADMIN_USER, parseMetrics, scrape, startNodeAdminPeer, value } from './lib.mjs';

/** A UI stand-in: a socket.io-client socket on srv's /admin with auth; `.rec` records events. */
function ui(h, srv, auth, { transports = ['websocket'] } = {}) {
  const s = io(`http://127.0.0.1:${srv.port}/admin`, { path: '/socket.io/', auth, transports, forceNew: true, reconnection: false, timeout: 5000 });
  h.defer(() => s.disconnect());
  s.rec = new Recorder(s);
  return s;
}

/** Resolves 'connect', or rejects with the connect_error's message. */
async function connected(s) {
  const [ev] = await Promise.race([s.rec.next('connect', 8000).then(() => ['connect']), s.rec.next('connect_error', 8000).then((a) => ['error', a[0]])]);
  return ev;
}

async function refusedWith(s) {
  const [err] = await s.rec.next('connect_error', 8000);
  return err.message;
}

describe('admin', () => {
  itest('basic auth with a bcrypt hash, the session token, config, and the refusals', { timeout: 60000 }, async (h) => {
    const srv = await h.daemon({ args: ADMIN_ARGS });
    assert.equal(await refusedWith(ui(h, srv, {})), 'invalid credentials');
    assert.equal(await refusedWith(ui(h, srv, { username: ADMIN_USER, password: 'wrong' })), 'invalid credentials');
    assert.equal(await refusedWith(ui(h, srv, { username: 'root', password: ADMIN_PASSWORD })), 'invalid credentials');
    assert.equal(await refusedWith(ui(h, srv, { sessionId: '99999999999.0123456789abcdef0123456789abcdef' })), 'invalid credentials');

    const u = ui(h, srv, { username: ADMIN_USER, password: ADMIN_PASSWORD });
    assert.equal(await connected(u), 'connect');
    const [token] = await u.rec.next('session');
    assert.match(token, /^\d+\.[0-9a-f]{32}$/);
    const [config] = await u.rec.next('config');
    assert.deepEqual(config.supportedFeatures, ['EMIT', 'JOIN', 'LEAVE', 'DISCONNECT', 'MJOIN', 'MLEAVE', 'MDISCONNECT', 'AGGREGATED_EVENTS', 'ALL_EVENTS']);
    const [all] = await u.rec.next('all_sockets');
    assert.ok(Array.isArray(all));
    const [stats] = await u.rec.next('server_stats', 5000);
    assert.equal(stats.pid, srv.pid);
    assert.equal(typeof stats.uptime, 'number');
    assert.deepEqual(stats.namespaces.map((n) => n.name).sort(), ['/', '/admin']);
    assert.equal(stats.clientsCount, 1);

    // A reload: the UI sends the stored token only.
    const again = ui(h, srv, { sessionId: token });
    assert.equal(await connected(again), 'connect');
    assert.equal(again.rec.count('session'), 0);
    const tampered = token.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
    assert.equal(await refusedWith(ui(h, srv, { sessionId: tampered })), 'invalid credentials');
    // A later expiry with the old MAC is not valid either.
    const [exp, mac] = token.split('.');
    assert.equal(await refusedWith(ui(h, srv, { sessionId: `${Number(exp) + 1}.${mac}` })), 'invalid credentials');

    const m = parseMetrics((await scrape(srv.port)).text);
    assert.equal(value(m, 'siobroker_admin_logins_total', { result: 'ok' }), 2);
    assert.equal(value(m, 'siobroker_admin_logins_total', { result: 'refused' }), 6);
    assert.equal(value(m, 'siobroker_admin_ui_sockets'), 2);

    // Read-only: no actions offered.
    const ro = await h.daemon({ args: ['--admin', '--admin-no-auth', '--admin-readonly'] });
    const r = ui(h, ro, {});
    assert.equal(await connected(r), 'connect');
    assert.deepEqual((await r.rec.next('config'))[0].supportedFeatures, ['AGGREGATED_EVENTS', 'ALL_EVENTS']);

    // On with no credentials: refused at start.
    const res = await runBinary('siobroker', ['--listen', '127.0.0.1:0', '--admin']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /--admin needs --admin-user and --admin-password-hash/);
    const bad = await runBinary('siobroker', ['--listen', '127.0.0.1:0', '--admin', '--admin-user', 'a', '--admin-password-hash', 'x'.repeat(60)]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /bcrypt/);
  });

  itest('one UI sees every node of a cluster, a Node server included, and acts across it', { timeout: 120000 }, async (h) => {
    const { redis, nodes } = await startCluster(h, 3, { logLevel: 'info', args: ADMIN_ARGS });
    const [a, b, c] = nodes;
    const peer = await startNodeAdminPeer(h, redis, { serverId: 'node-peer' });
    const u = ui(h, a, { username: ADMIN_USER, password: ADMIN_PASSWORD });
    assert.equal(await connected(u), 'connect');
    await u.rec.next('all_sockets', 5000);

    // server_stats of the four servers reach the UI connected to A.
    await eventually(
      async () => {
        const ids = new Set(u.rec.all('server_stats').map(([s]) => s.serverId));
        for (const id of ['A', 'B', 'C']) assert.ok([...ids].some((x) => x.endsWith(`#${id}`)), `stats of ${id}: ${[...ids]}`);
        assert.ok(ids.has('node-peer'), `stats of the Node server: ${[...ids]}`);
      },
      10000,
      'server_stats of every node',
      100,
    );

    // A socket on B joins a room: the UI on A hears it.
    const sb = await connect(h, b, WS, '/', { auth: { name: 'b1' } });
    sb.label = 'b1';
    await join(sb, 'lobby');
    const [conn] = await u.rec.next('socket_connected', 5000, ([s]) => s.id === sb.id);
    assert.equal(conn.nsp, '/');
    assert.equal(conn.transport, 'websocket');
    assert.equal(conn.clientId.length, 12);
    assert.equal(conn.handshake.address, '127.0.0.1');
    await u.rec.next('room_joined', 5000, ([nsp, room, id]) => nsp === '/' && room === 'lobby' && id === sb.id);

    // A polling socket on C upgrades: socket_updated.
    const sc = await connect(h, c, { name: 'upgrade', transports: ['polling', 'websocket'], upgrade: true }, '/', { auth: { name: 'c1' } });
    await u.rec.next('socket_updated', 5000, ([s]) => s.id === sc.id && s.transport === 'websocket');

    // A socket on the Node server is announced by its admin-ui, through the adapter.
    const sp = await connect(h, peer, POLL, '/', {});
    await u.rec.next('socket_connected', 5000, ([s]) => s.id === sp.id);

    // A second UI (on C) lists B's socket in its all_sockets (the samples of the other nodes).
    const u2 = ui(h, c, { username: ADMIN_USER, password: ADMIN_PASSWORD });
    assert.equal(await connected(u2), 'connect');
    const [list] = await u2.rec.next('all_sockets', 8000);
    const ids = list.map((s) => s.id);
    assert.ok(ids.includes(sb.id), `B's socket listed: ${ids}`);
    assert.ok(ids.includes(sc.id), `C's socket listed: ${ids}`);
    const listed = list.find((s) => s.id === sb.id);
    assert.ok(listed.rooms.includes('lobby'));
    assert.equal(listed.data._admin, undefined, 'the mark is not shown as data');

    // Actions from the UI on A, applied on B: join, leave, then disconnect the socket.
    u.emit('join', '/', 'vip', sb.id);
    await u.rec.next('room_joined', 5000, ([, room, id]) => room === 'vip' && id === sb.id);
    u.emit('leave', '/', 'vip', sb.id);
    await u.rec.next('room_left', 5000, ([, room, id]) => room === 'vip' && id === sb.id);
    u.emit('emit', '/', sb.id, 'hello', 'from the UI');
    const [hello] = await sb.rec.next('hello', 5000);
    assert.equal(hello, 'from the UI');
    const sbId = sb.id; // socket.io-client clears it at the disconnect
    u.emit('_disconnect', '/', false, sbId);
    await sb.rec.next('disconnect', 5000);
    await u.rec.next('socket_disconnected', 5000, ([nsp, id, reason]) => nsp === '/' && id === sbId && reason === 'server namespace disconnect');
    await u.rec.next('room_left', 5000, ([, room, id]) => room === 'lobby' && id === sbId);
    // The Node server's socket too (its adapter applies the cluster-wide disconnect).
    u.emit('_disconnect', '/', true, sp.id);
    await sp.rec.next('disconnect', 5000);
    const mb = parseMetrics((await scrape(b.port)).text);
    assert.equal(value(mb, 'siobroker_socketio_disconnects_total'), 1);
    const ma = parseMetrics((await scrape(a.port)).text);
    assert.equal(value(ma, 'siobroker_admin_actions_total'), 5);
  });

  itest('the sample is bounded and so are the updates per second', { timeout: 60000 }, async (h) => {
    const srv = await h.daemon({ args: ['--admin', '--admin-no-auth', '--admin-max-sockets', '5', '--admin-updates-per-second', '5'] });
    srv.url = `http://127.0.0.1:${srv.port}`;
    const u = ui(h, srv, {});
    assert.equal(await connected(u), 'connect'); // the UI's own socket is the first sampled
    const socks = [];
    for (let i = 0; i < 8; i++) socks.push(await connect(h, srv, WS, '/', {}));
    await eventually(async () => assert.equal(u.rec.count('socket_connected'), 5), 5000, 'five sockets announced');
    await sleep(300);
    assert.equal(u.rec.count('socket_connected'), 5, 'no more than the sample');
    let m = parseMetrics((await scrape(srv.port)).text);
    assert.equal(value(m, 'siobroker_admin_sampled_sockets'), 5);
    assert.equal(value(m, 'siobroker_admin_events_total', { result: 'dropped' }), 4);
    // A sampled socket that changes rooms faster than the budget (5/s, one second of debt) leaves
    // the sample; whatever the machine's speed, 120 changes are far more than it allows.
    const sampled = u.rec.all('socket_connected').map(([s]) => s.id);
    const busy = socks.find((s) => sampled.includes(s.id));
    const busyId = busy.id;
    for (let i = 0; i < 60; i++) {
      busy.emit('join', 'r');
      busy.emit('leave', 'r');
    }
    await u.rec.next('socket_disconnected', 5000, ([, id, reason]) => id === busyId && /admin sample/.test(reason));
    m = parseMetrics((await scrape(srv.port)).text);
    assert.equal(value(m, 'siobroker_admin_sample_dropped_total'), 1);
    assert.equal(value(m, 'siobroker_admin_sampled_sockets'), 4);
    await ask(busy, 5000, 'join', 'last'); // every change has been handled
    const updates = u.rec.log.filter((e) => (e.event === 'room_joined' || e.event === 'room_left') && e.args[2] === busyId && e.args[1] === 'r').length;
    assert.ok(updates < 60, `room updates within the budget and its debt: ${updates}`);
    assert.equal(u.rec.all('room_joined').filter(([, room, id]) => id === busyId && room === 'last').length, 0, 'no update once out of the sample');
  });
});
