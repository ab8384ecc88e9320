// GET /metrics on live cluster nodes: the exposition passes Debian's `promtool check metrics`,
// counts what the test did (sessions by transport, sockets and rooms by namespace, a forwarded
// POST and a refused one, peer requests, Redis up), moves to an internal port with
// --metrics-listen, and a real Prometheus (Debian's) scraping three nodes returns the series
// through its HTTP API.

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { HOST, RawPolling, eventually, freePort, httpRequest, itest, wsUrl } from '../lib/harness.mjs';
import { WS, POLL, join } from '../redis/cluster.mjs';
import { connect } from '../lib/sio.mjs';
import { startCluster, startDaemon } from '../cluster/lib.mjs';
import { parseMetrics, promQuery, promtoolCheck, scrape, startPrometheus, value } from './lib.mjs';

const P = '/socket.io/';

/** Scrapes port and checks the exposition with promtool; returns the parsed samples. */
async function checkedScrape(port, label) {
  const m = await scrape(port);
  assert.equal(m.status, 200, `${label}: /metrics status`);
  assert.match(m.type, /^text\/plain; version=0\.0\.4/, `${label}: content type`);
  const check = await promtoolCheck(m.text);
  assert.equal(check.code, 0, `${label}: promtool check metrics:\n${check.output}`);
  assert.equal(check.output.trim(), '', `${label}: promtool has remarks:\n${check.output}`);
  return parseMetrics(m.text);
}

describe('metrics', () => {
  itest('a scrape passes promtool and counts sessions, sockets, rooms, forwards and Redis', { timeout: 90000 }, async (h) => {
    const { redis, nodes } = await startCluster(h, 2, { logLevel: 'info' });
    const [a, b] = nodes;
    const mport = await freePort();
    const c = await startDaemon(h, redis, { name: 'siobroker-C', args: ['--node-id', 'C', '--metrics-listen', `${HOST}:${mport}`] });

    const ws = await connect(h, a, WS, '/', { auth: { name: 'w' } });
    ws.label = 'w';
    await join(ws, 'lobby');
    const poll = await connect(h, a, POLL, '/', { auth: { name: 'p' } });
    poll.label = 'p';
    await join(poll, 'lobby', 'other');

    // A raw polling session on A whose POST (a CONNECT) reaches B: forwarded; one for no session: 400.
    const rp = new RawPolling(h, a.port, P);
    await rp.handshake();
    const viaB = new RawPolling(h, b.port, P);
    viaB.sid = rp.sid;
    const fwd = await viaB.post('40'); // a Socket.IO CONNECT to /
    assert.equal(fwd.status, 200, `forwarded POST: ${fwd.body}`);
    viaB.sid = 'AAAAAAAAAAAAAAAAAAAA';
    const bad = await viaB.post('4x');
    assert.equal(bad.status, 400);
    // Its WebSocket upgrade through B: relayed to A (a probe, never completed here).
    const relayed = h.ws(b.port, wsUrl(P, { sid: rp.sid }));
    await relayed.opened;

    const ma = await checkedScrape(a.port, 'A');
    assert.equal(value(ma, 'siobroker_engineio_sessions', { transport: 'websocket' }), 1);
    assert.equal(value(ma, 'siobroker_engineio_sessions', { transport: 'polling' }), 2);
    assert.equal(value(ma, 'siobroker_engineio_sessions_opened_total', { transport: 'websocket' }), 1);
    assert.equal(value(ma, 'siobroker_socketio_sockets', { namespace: '/' }), 3);
    assert.equal(value(ma, 'siobroker_socketio_rooms', { namespace: '/' }), 2);
    assert.equal(value(ma, 'siobroker_socketio_connects_total'), 3);
    assert.ok(value(ma, 'siobroker_socketio_events_received_total') >= 3, 'three joins received');
    assert.equal(value(ma, 'siobroker_redis_up'), 1);
    assert.equal(value(ma, 'siobroker_redis_stalled'), 0);
    assert.ok(value(ma, 'siobroker_memory_used_bytes') > 0, 'the sessions are charged to the budget');
    assert.ok(value(ma, 'siobroker_memory_budget_bytes') > 0, 'a budget by default (half the RAM)');
    assert.equal(value(ma, 'siobroker_memory_over_budget'), 0);
    assert.ok(value(ma, 'siobroker_redis_connects_total') >= 1);
    assert.ok(value(ma, 'siobroker_redis_publishes_total') >= 0);
    assert.equal(value(ma, 'siobroker_cluster_peer_requests_total', { result: 'verified' }), 2, 'the forwarded POST and the relay');
    assert.ok(value(ma, 'siobroker_engineio_messages_received_total') >= 4, 'the CONNECTs and the joins');
    assert.ok(value(ma, 'siobroker_received_bytes_total') > 0);
    assert.ok(value(ma, 'process_resident_memory_bytes') > 1e6);
    assert.ok(value(ma, 'process_open_fds') > 5);
    assert.ok([...ma.keys()].some((k) => k.startsWith('siobroker_info{') && k.includes('node_id="A"')), 'siobroker_info names the node');

    const mb = await checkedScrape(b.port, 'B');
    assert.equal(value(mb, 'siobroker_cluster_requests_total', { kind: 'polling_post', outcome: 'ok' }), 1);
    assert.equal(value(mb, 'siobroker_cluster_requests_total', { kind: 'polling_post', outcome: '400' }), 1);
    assert.equal(value(mb, 'siobroker_cluster_request_duration_seconds_count', { kind: 'polling_post' }), 2);
    assert.equal(value(mb, 'siobroker_cluster_request_duration_seconds_bucket', { kind: 'polling_post', le: '+Inf' }), 2);
    assert.equal(value(mb, 'siobroker_cluster_requests_total', { kind: 'websocket', outcome: 'ok' }), 1);
    assert.equal(value(mb, 'siobroker_cluster_request_duration_seconds_count', { kind: 'websocket' }), 1);
    assert.equal(value(mb, 'siobroker_cluster_relays'), 1);
    assert.equal(value(ma, 'siobroker_cluster_peer_requests_total', { result: 'refused' }), 0);

    // A client that goes away is counted by reason.
    ws.io.engine.close();
    await eventually(
      async () => {
        const m = parseMetrics((await scrape(a.port)).text);
        assert.equal(value(m, 'siobroker_engineio_sessions_closed_total', { reason: 'transport close' }), 1);
        assert.equal(value(m, 'siobroker_socketio_disconnects_total'), 1);
      },
      5000,
      'the closed WebSocket counted',
    );

    // --metrics-listen: /metrics on the internal port only; health checks there too.
    assert.equal((await httpRequest(c.port, { path: '/metrics' })).status, 404);
    const mc = await checkedScrape(mport, 'C (internal port)');
    assert.equal(value(mc, 'siobroker_redis_up'), 1);
    assert.equal((await httpRequest(mport, { path: '/readyz' })).status, 200);
    assert.equal((await httpRequest(mport, { path: '/socket.io/?EIO=4&transport=polling' })).status, 404);
  });

  itest('Prometheus scrapes three nodes and returns their series', { timeout: 120000 }, async (h) => {
    const { nodes } = await startCluster(h, 3, { logLevel: 'info' });
    const socks = [];
    for (const [i, n] of nodes.entries()) {
      const s = await connect(h, n, i === 1 ? POLL : WS, '/', { auth: { name: `s${i}` } });
      s.label = `s${i}`;
      await join(s, 'lobby');
      socks.push(s);
    }
    const prom = await startPrometheus(h, nodes.map((n) => `${HOST}:${n.port}`));
    await eventually(
      async () => {
        const up = await promQuery(prom, 'siobroker_redis_up == 1');
        assert.equal(up.length, 3, `redis up on 3 targets: ${JSON.stringify(up)}`);
        const scraped = await promQuery(prom, 'up{job="siobroker"} == 1');
        assert.equal(scraped.length, 3);
      },
      30000,
      'three targets scraped',
      250,
    );
    const sockets = await promQuery(prom, 'sum(siobroker_socketio_sockets{namespace="/"})');
    assert.equal(sockets[0].value, 3);
    const rooms = await promQuery(prom, 'siobroker_socketio_rooms{namespace="/"}');
    assert.deepEqual(rooms.map((r) => r.value), [1, 1, 1]);
    const polling = await promQuery(prom, 'sum(siobroker_engineio_sessions{transport="polling"})');
    assert.equal(polling[0].value, 1);
    const info = await promQuery(prom, 'siobroker_info');
    assert.deepEqual(info.map((r) => r.metric.node_id).sort(), ['A', 'B', 'C']);
    // A counter read back as a rate: the joins' events.
    const events = await promQuery(prom, 'sum(siobroker_socketio_events_received_total)');
    assert.equal(events[0].value, 3);
  });
});
