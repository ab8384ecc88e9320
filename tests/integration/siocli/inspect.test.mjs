// siocli's read-only commands against a live mixed cluster (two siobroker daemons, one Node
// socket.io server with @socket.io/redis-adapter, clients in rooms): nodes, sessions, session,
// rooms, room and sockets, as tables and as JSON, checked against what the clients really are.

import assert from 'node:assert/strict';
import { itest } from '../lib/harness.mjs';
import { until, kill9, expectCleanExit } from '../redis/cluster.mjs';
import { siocli, siocliJson, table, startCluster } from './cli.mjs';

itest('nodes, sessions and session SID show the siobroker nodes and their sessions', { timeout: 60000 }, async (h) => {
  const c = await startCluster(h);
  const { redis, a1, a2, b1, n1 } = c;

  // nodes: both daemons (not the Node server: it has no registry record), counts after a heartbeat.
  const nodes = await until(
    async () => {
      const d = await siocliJson(redis, ['nodes']);
      const alpha = d.nodes.find((n) => n.id === 'alpha');
      return alpha && alpha.sockets === 2 && alpha.sessions === 2 ? d : null;
    },
    8000,
    'alpha to report 2 sessions and 2 sockets',
  );
  assert.deepEqual(nodes.nodes.map((n) => n.id), ['alpha', 'beta']);
  for (const n of nodes.nodes) {
    assert.equal(n.status, 'ok');
    assert.equal(n.answers, true);
    assert.equal(n.address, `127.0.0.1:${n.id === 'alpha' ? c.alpha.port : c.beta.port}`);
    assert.match(n.version, /^\d+\.\d+\.\d+$/);
    assert.ok(n.uptime_ms >= 0 && n.heartbeat_age_ms >= 0 && n.heartbeat_age_ms < 4500, JSON.stringify(n));
  }
  const t = await siocli(redis, ['nodes']);
  assert.equal(t.code, 0, t.stderr);
  const rows = table(t.stdout);
  assert.deepEqual(rows[0], ['ID', 'ADDRESS', 'VERSION', 'UPTIME', 'SESSIONS', 'SOCKETS', 'HEARTBEAT', 'STATUS']);
  assert.deepEqual(rows.slice(1).map((r) => [r[0], r[1], r[7]]), [
    ['alpha', `127.0.0.1:${c.alpha.port}`, 'ok'],
    ['beta', `127.0.0.1:${c.beta.port}`, 'ok'],
  ]);
  // Columns are aligned: every row starts its second column at the same offset.
  const lines = t.stdout.split('\n').filter((l) => l);
  assert.equal(new Set(lines.map((l) => l.indexOf(l.split(/ {2,}/)[1]))).size, 1, t.stdout);

  // sessions: the sid -> node map of the daemons' sessions (n1 is on the Node server).
  const sessions = await siocliJson(redis, ['sessions']);
  const bySid = Object.fromEntries(sessions.sessions.map((s) => [s.sid, s.node]));
  assert.deepEqual(bySid, { [a1.io.engine.id]: 'alpha', [a2.io.engine.id]: 'alpha', [b1.io.engine.id]: 'beta' });
  const onBeta = await siocliJson(redis, ['sessions', '--node', 'beta']);
  assert.deepEqual(onBeta.sessions, [{ sid: b1.io.engine.id, node: 'beta' }]);
  const st = await siocli(redis, ['sessions', '--node', 'beta']);
  assert.deepEqual(table(st.stdout), [['SID', 'NODE'], [b1.io.engine.id, 'beta']]);
  const none = await siocli(redis, ['sessions', '--node', 'gamma']);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^siocli: no session on node gamma\n$/);

  // session SID: from the owning node, over the control channel.
  const s2 = (await siocliJson(redis, ['session', a2.io.engine.id])).session;
  assert.equal(s2.sid, a2.io.engine.id);
  assert.equal(s2.node, 'alpha');
  assert.equal(s2.transport, 'polling');
  assert.equal(s2.state, 'open');
  assert.match(s2.remote, /127\.0\.0\.1/);
  assert.ok(s2.age_ms >= 0 && s2.age_ms < 60000, `age ${s2.age_ms}`);
  assert.deepEqual(s2.sockets, [{ nsp: '/', id: a2.id, rooms: [a2.id, 'red'] }]);
  const s1 = (await siocliJson(redis, ['session', a1.io.engine.id])).session;
  assert.equal(s1.transport, 'websocket');
  assert.deepEqual(s1.sockets, [{ nsp: '/', id: a1.id, rooms: [a1.id, 'red', 'blue'] }]);
  const sb = await siocli(redis, ['session', b1.io.engine.id]);
  assert.equal(sb.code, 0, sb.stderr);
  const [head, ...rest] = sb.stdout.split('\n\n');
  assert.deepEqual(table(head)[0], ['SID', 'NODE', 'TRANSPORT', 'STATE', 'REMOTE', 'AGE']);
  assert.deepEqual(table(head)[1].slice(0, 4), [b1.io.engine.id, 'beta', 'websocket', 'open']);
  assert.deepEqual(table(rest.join('\n\n')), [['NSP', 'SOCKET', 'ROOMS'], ['/', b1.id, 'blue']]);

  const unknown = await siocli(redis, ['session', 'no-such-sid']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no session no-such-sid in the cluster/);
  assert.equal(n1.connected, true);

  // A node killed without a goodbye: silent at once (no answer to the ping), dead once its record
  // expired (6 s TTL) while K:nodes still lists it.
  await kill9(c.beta);
  const silent = await siocliJson(redis, ['nodes']);
  assert.deepEqual(silent.nodes.map((n) => [n.id, n.status, n.answers]), [['alpha', 'ok', true], ['beta', 'silent', false]]);
  const dead = await until(
    async () => {
      const d = await siocliJson(redis, ['nodes']);
      return d.nodes.find((n) => n.id === 'beta' && n.status === 'dead') ? d : null;
    },
    10000,
    'beta to be reported dead',
  );
  assert.deepEqual(dead.nodes.find((n) => n.id === 'beta'), {
    id: 'beta', status: 'dead', address: null, version: null, started: null, uptime_ms: null,
    sessions: null, sockets: null, heartbeat: null, heartbeat_age_ms: null, answers: false,
  });
  const dt = await siocli(redis, ['nodes']);
  assert.deepEqual(table(dt.stdout)[2], ['beta', '-', '-', '-', '-', '-', '-', 'dead']);
  // The control channel's teardown is part of a clean shutdown.
  await expectCleanExit(assert, c.alpha);
});

itest('rooms, room and sockets list what the clients of both kinds of server have', { timeout: 60000 }, async (h) => {
  const c = await startCluster(h);
  const { redis, a1, a2, b1, n1 } = c;

  // rooms: across the cluster (the Node server answers ALL_ROOMS and REMOTE_FETCH too).
  const rooms = await siocliJson(redis, ['rooms']);
  assert.equal(rooms.servers, 3);
  assert.deepEqual(rooms.rooms, [
    { members: 2, name: 'blue' },
    { members: 3, name: 'red' },
  ].map(({ name, members }) => ({ members, name })));
  const all = await siocliJson(redis, ['rooms', '--all']);
  const allNames = all.rooms.map((r) => r.name).sort();
  assert.deepEqual(allNames, ['blue', 'red', a1.id, a2.id, b1.id, n1.id].sort());
  for (const r of all.rooms) if (r.name !== 'red' && r.name !== 'blue') assert.equal(r.members, 1);
  const rt = await siocli(redis, ['rooms']);
  assert.equal(rt.code, 0, rt.stderr);
  assert.deepEqual(table(rt.stdout), [['ROOM', 'MEMBERS'], ['blue', '2'], ['red', '3']]);

  // room NAME: members with their node (siobroker nodes) and address.
  const red = await siocliJson(redis, ['room', 'red']);
  assert.equal(red.room, 'red');
  const byId = Object.fromEntries(red.members.map((m) => [m.id, m]));
  assert.deepEqual(Object.keys(byId).sort(), [a1.id, a2.id, n1.id].sort());
  assert.equal(byId[a1.id].node, 'alpha');
  assert.equal(byId[a1.id].sid, a1.io.engine.id);
  assert.equal(byId[a2.id].node, 'alpha');
  assert.equal(byId[n1.id].node, null, 'a Node server has no siobroker node id');
  for (const m of red.members) assert.match(m.address, /127\.0\.0\.1/);
  const blueT = await siocli(redis, ['room', 'blue']);
  assert.equal(blueT.code, 0, blueT.stderr);
  const blueRows = table(blueT.stdout);
  assert.deepEqual(blueRows[0], ['SOCKET', 'NODE', 'ADDRESS']);
  assert.deepEqual(blueRows.slice(1).map((r) => [r[0], r[1]]).sort(), [[a1.id, 'alpha'], [b1.id, 'beta']].sort());
  const empty = await siocli(redis, ['room', 'nobody-here']);
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /room nobody-here has no member/);

  // sockets: fetchSockets across the cluster, with filters.
  const socks = await siocliJson(redis, ['sockets']);
  assert.equal(socks.servers, 3);
  assert.deepEqual(socks.sockets.map((s) => s.id), [a1.id, a2.id, b1.id, n1.id].sort());
  const n1row = socks.sockets.find((s) => s.id === n1.id);
  assert.deepEqual(n1row.rooms, [n1.id, 'red']);
  assert.deepEqual(n1row.auth_keys, ['name']);
  assert.deepEqual(n1row.data, { name: 'n1' });
  assert.equal(n1row.handshake.auth.name, 'n1');
  const a1row = socks.sockets.find((s) => s.id === a1.id);
  assert.equal(a1row.node, 'alpha');
  assert.deepEqual(a1row.rooms, [a1.id, 'red', 'blue']);
  assert.deepEqual(a1row.auth_keys, ['name']);
  const blue = await siocliJson(redis, ['sockets', '--room', 'blue']);
  assert.deepEqual(blue.sockets.map((s) => s.id), [a1.id, b1.id].sort());
  const blueNotRed = await siocliJson(redis, ['sockets', '--room', 'blue', '--except', 'red']);
  assert.deepEqual(blueNotRed.sockets.map((s) => s.id), [b1.id]);
  const st = await siocli(redis, ['sockets', '--room', 'blue', '--except', 'red']);
  assert.equal(st.code, 0, st.stderr);
  const srows = table(st.stdout);
  assert.deepEqual(srows[0], ['SOCKET', 'NODE', 'ROOMS', 'ADDRESS', 'AUTH', 'DATA']);
  assert.deepEqual([srows[1][0], srows[1][1], srows[1][2], srows[1][4]], [b1.id, 'beta', 'blue', 'name']);
  const nobody = await siocli(redis, ['sockets', '--room', 'nobody-here']);
  assert.equal(nobody.code, 1);
  assert.match(nobody.stderr, /no socket matched/);

  // Another namespace: nothing there.
  const chat = await siocli(redis, ['--nsp', '/chat', 'rooms']);
  assert.equal(chat.code, 1, chat.stdout + chat.stderr);
});

itest('a Node server answering on per-requester response channels is heard too', { timeout: 60000 }, async (h) => {
  const { startRedis, startDaemon, startNodePeer, client, join } = await import('../redis/cluster.mjs');
  const { WS } = await import('./cli.mjs');
  const redis = await startRedis(h);
  const [alpha, peer] = await Promise.all([
    startDaemon(h, redis, { name: 'alpha', args: ['--node-id', 'alpha'] }),
    startNodePeer(h, redis, { name: 'peer-specific', specificResponseChannel: true }),
  ]);
  const [a, n] = await Promise.all([client(h, alpha, 'a', WS), client(h, peer, 'n', WS)]);
  await Promise.all([join(a, 'lobby'), join(n, 'lobby')]);
  const rooms = await siocliJson(redis, ['rooms']);
  assert.deepEqual(rooms.rooms, [{ members: 2, name: 'lobby' }]);
  const socks = await siocliJson(redis, ['sockets', '--room', 'lobby']);
  assert.deepEqual(socks.sockets.map((s) => s.id), [a.id, n.id].sort());
  for (const s of [a, n]) s.on('hey', (cb) => cb(s.label));
  const acks = await siocliJson(redis, ['emit', 'hey', '--to', 'lobby', '--ack', '3000']);
  assert.deepEqual([acks.servers, acks.servers_answered, acks.clients, acks.missing], [2, 2, 2, 0]);
  assert.deepEqual(acks.acks.sort(), ['a', 'n']);
});
