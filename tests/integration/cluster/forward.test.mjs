// Misrouted requests: a polling GET or POST that reaches a node which does not hold the session is
// forwarded to the owner and answered unchanged; a WebSocket is relayed to it. Cluster
// authentication (401), unknown and dead owners (400/502), Redis going away, the start-up rule.
//
// Nodes are siobroker daemons A, B, C on one private redis-server (lib.mjs); every request is raw
// HTTP / WebSocket on 127.0.0.1, or the official socket.io-client for a room member.

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { RawPolling, decodePayload, httpRequest, itest, openWs, runBinary, sleep, startRequest, withTimeout, wsUrl } from '../lib/harness.mjs';
import { connect } from '../lib/sio.mjs';
import { WS, kill9, until } from '../redis/cluster.mjs';
import { CLUSTER_SECRET, forwardHeaders, ownerOf, startCluster, startDaemon, startRedis, waitOutput } from './lib.mjs';

const P = '/socket.io/';

/** A raw polling session whose requests go to whichever node `via` names. */
class Session {
  constructor(h, nodes) {
    this.h = h;
    this.nodes = nodes;
  }

  async open(node) {
    const rp = new RawPolling(this.h, node.port, P);
    await rp.handshake();
    this.sid = rp.sid;
    this.rp = rp;
    return this;
  }

  at(node) {
    const rp = new RawPolling(this.h, node.port, P);
    rp.sid = this.sid;
    return rp;
  }
}

const WS_WAIT = 3000;

describe('misrouted polling requests are forwarded to the owner', () => {
  itest('GET and POST through other nodes reach the session, answered unchanged', { timeout: 30000 }, async (h) => {
    const { nodes } = await startCluster(h, 3);
    const [A, B, C] = nodes;
    const s = await new Session(h, nodes).open(A);
    await waitOutput(A, `sid=${s.sid} open transport=polling`);
    assert.equal(ownerOf(nodes, s.sid), 'A');

    const post = await s.at(B).post('40');
    assert.equal(post.status, 200);
    assert.equal(post.body, 'ok');
    assert.match(post.headers['content-type'], /text\/html/);

    const get = await s.at(C).getNow(3000, 'GET through C');
    assert.equal(get.status, 200);
    assert.match(get.headers['content-type'], /text\/plain/);
    const pk = decodePayload(get.body);
    assert.equal(pk.length, 1);
    assert.match(pk[0].data, /^0\{"sid":"[^"]+"\}$/, 'the owner answered the CONNECT');

    // A long-poll held through B stays open end to end until the owner has something: the ack
    // of a join POSTed through C.
    const held = s.at(B).get();
    await waitOutput(B, `sid=${s.sid} GET forwarded`);
    await sleep(300); // it reaches the owner (which says nothing when it holds a GET)
    let answered = false;
    held.done.then(() => (answered = true));
    assert.equal(answered, false, 'the forwarded GET is held');
    assert.equal((await s.at(C).post('420["join","room1"]')).status, 200);
    const res = await withTimeout(held.done, 5000, 'the held GET through B');
    assert.equal(res.status, 200);
    assert.deepEqual(decodePayload(res.body).map((p) => p.raw), ['430[{"ok":true}]']);

    // The forwarders logged what they did; the owner served everything.
    await waitOutput(B, `sid=${s.sid} GET forwarded to 127.0.0.1:${A.port}`);
    await waitOutput(C, `sid=${s.sid} POST forwarded to 127.0.0.1:${A.port}`);
  });

  itest('the owner applies the one-GET rule to forwarded GETs', async (h) => {
    const { nodes } = await startCluster(h, 3);
    const [A, B, C] = nodes;
    const s = await new Session(h, nodes).open(A);
    const held = s.at(B).get();
    await waitOutput(B, `sid=${s.sid} GET forwarded`);
    await sleep(500); // it reaches the owner (which says nothing when it holds a GET)
    const second = await s.at(C).getNow(3000, 'the overlapping GET');
    assert.equal(second.status, 400);
    assert.deepEqual(JSON.parse(second.body), { code: 3, message: 'Bad request' });
    // The session is closed: the held GET gets the close packet, and the sid is unknown after.
    const first = await withTimeout(held.done, 5000, 'the first GET');
    assert.equal(first.status, 200);
    await until(async () => (await s.at(A).getNow()).status === 400, 3000, 'the session to be gone');
  });

  itest('a client abort of a forwarded GET is passed on: the owner frees the GET slot', async (h) => {
    const { nodes } = await startCluster(h, 3);
    const [A, B, C] = nodes;
    const s = await new Session(h, nodes).open(A);
    const held = s.at(B).get();
    await waitOutput(B, `sid=${s.sid} GET forwarded`);
    await sleep(300);
    held.abort();
    await waitOutput(B, `sid=${s.sid} forwarded GET abandoned by the client`);
    await waitOutput(A, `sid=${s.sid} forwarded GET released by its node`);
    // The next GET (through C) is accepted and held, not refused as overlapping.
    const next = s.at(C).get();
    await sleep(200);
    assert.equal((await s.at(B).post('40')).status, 200);
    const res = await withTimeout(next.done, 5000, 'the GET after the abort');
    assert.equal(res.status, 200);
    assert.match(res.body, /^40\{"sid"/);
  });

  itest('a forwarding node that dies (kill -9) with a GET in flight does not end the session', async (h) => {
    const { nodes } = await startCluster(h, 3);
    const [A, B, C] = nodes;
    const s = await new Session(h, nodes).open(A);
    assert.equal((await s.at(A).post('40')).status, 200);
    assert.match((await s.at(A).getNow()).body, /^40/);
    const held = s.at(B).get();
    await waitOutput(B, `sid=${s.sid} GET forwarded`);
    await kill9(B);
    await assert.rejects(withTimeout(held.done, 5000, 'the GET through the dead node'));
    // The client's retry through another node is held by the owner, not refused as overlapping,
    // even if it arrives before the owner has processed the dead connection.
    const retry = s.at(C).get();
    await sleep(100);
    assert.equal((await s.at(C).post('421["join","r"]')).status, 200);
    const res = await withTimeout(retry.done, 5000, 'the retried GET');
    assert.equal(res.status, 200);
    assert.equal(res.body, '431[{"ok":true}]');
    assert.ok(!A.stderr.includes(`sid=${s.sid} closed`), 'the session lives on');
  });

  itest('a GET retried before the owner has seen the forwarding connection close is held, not refused', async (h) => {
    // HAProxy retries a GET whose node died (retry-on empty-response); the retry can reach the
    // owner before the owner has read the close of the dead node's connection. Played here by a
    // signed GET standing for the forwarding node, closed 50 ms after the retry arrived.
    const { nodes } = await startCluster(h, 2);
    const [A] = nodes;
    const s = await new Session(h, nodes).open(A);
    const q = `EIO=4&transport=polling&sid=${s.sid}`;
    const viaPeer = startRequest(A.port, { path: `${P}?${q}`, headers: forwardHeaders('GET', P, q) });
    await sleep(500); // the owner holds it (and says nothing)
    const retry = s.at(A).get();
    await waitOutput(A, `sid=${s.sid} GET while one is held through another node: waiting`);
    await sleep(50);
    viaPeer.abort();
    await waitOutput(A, `sid=${s.sid} forwarded GET released by its node`);
    assert.equal((await s.at(A).post('40')).status, 200);
    const res = await withTimeout(retry.done, 5000, 'the retried GET');
    assert.equal(res.status, 200);
    assert.match(res.body, /^40\{"sid"/);
    assert.ok(!A.stderr.includes(`sid=${s.sid} closed`), 'the session lives on');
  });

  itest('successive POSTs through different nodes keep their order', { timeout: 30000 }, async (h) => {
    const { nodes } = await startCluster(h, 3);
    const [A, B, C] = nodes;
    // Y: an official client on A in room "order". X: a raw session owned by A, driven through A, B, C.
    const y = await connect(h, A, WS, '/');
    assert.deepEqual(await y.emitWithAck('join', 'order'), { ok: true });
    const got = [];
    y.on('seq', (i) => got.push(i));
    const x = await new Session(h, nodes).open(A);
    assert.equal((await x.at(B).post('40')).status, 200);
    assert.match((await x.at(C).getNow()).body, /^40/);
    assert.equal((await x.at(A).post('42["join","order"]')).status, 200);
    const via = [B, C, A];
    for (let i = 0; i < 30; i++) assert.equal((await x.at(via[i % 3]).post(`42["seq",${i}]`)).status, 200);
    await until(() => got.length === 30, 3000, '30 events at Y');
    assert.deepEqual(got, [...Array(30).keys()]);
  });

  itest('maxPayload: an oversized POST through another node gets 413 and the owner closes the session', async (h) => {
    const { nodes } = await startCluster(h, 2, { args: ['--max-payload', '1000'] });
    const [A, B] = nodes;
    const s = await new Session(h, nodes).open(A);
    const res = await s.at(B).post(`4${'x'.repeat(2000)}`);
    assert.equal(res.status, 413);
    await waitOutput(A, `sid=${s.sid} closed: transport error`);
    const after = await s.at(A).getNow();
    assert.equal(after.status, 400);
  });
});

describe('unknown, forged and dead owners', () => {
  itest('a sid no node holds gets 400 "Session ID unknown" at once', async (h) => {
    const { nodes } = await startCluster(h, 2);
    for (const sid of ['forged', 'AAAAAAAAAAAAAAAAAAAAAAAAAAA']) {
      const t0 = Date.now();
      const res = await httpRequest(nodes[1].port, { path: `${P}?EIO=4&transport=polling&sid=${sid}` });
      assert.equal(res.status, 400);
      assert.deepEqual(JSON.parse(res.body), { code: 1, message: 'Session ID unknown' });
      assert.ok(Date.now() - t0 < 3000, 'answered at once (not after the 10 s cluster timeout)');
    }
    // A WebSocket for such a sid is refused too (closed right after it opens, or not opened).
    const ws = openWs(nodes[1].port, wsUrl(P, { sid: 'forged' }));
    await ws.waitClosed(WS_WAIT, 'the WebSocket for a forged sid to be closed');
  });

  itest('the owner dies (kill -9): 400 "Session ID unknown" at once, before and after its record expires', { timeout: 30000 }, async (h) => {
    const { nodes } = await startCluster(h, 2);
    const [A, B] = nodes;
    const s = await new Session(h, nodes).open(A);
    assert.equal((await s.at(B).post('40')).status, 200);
    await kill9(A);
    // Its record still lives (6 s TTL) but nothing listens at its address: the session is gone.
    const t0 = Date.now();
    const first = await s.at(B).getNow(3000, 'a GET for the dead owner');
    assert.equal(first.status, 400, first.body);
    assert.deepEqual(JSON.parse(first.body), { code: 1, message: 'Session ID unknown' });
    assert.ok(Date.now() - t0 < 3000, 'at once, not after the record expires (6 s)');
    await waitOutput(B, `sid=${s.sid}: its owner cannot be reached: session lost`);
    // Once the record has expired, the lookup alone says so.
    await until(async () => B.stderr.includes(`sid=${s.sid} GET not forwarded: its owner is not alive`) || (await s.at(B).getNow()).status !== 400, 12000, 'the owner to be known dead from Redis', 500);
    assert.equal((await s.at(B).getNow()).status, 400);
  });

  itest('an owner that does not answer in time gets 504, one that fails mid-request 502, each logged', { timeout: 30000 }, async (h) => {
    const { nodes } = await startCluster(h, 2, { args: ['--cluster-timeout', '800'] });
    const [A, B] = nodes;
    const s = await new Session(h, nodes).open(A);
    assert.equal((await s.at(B).post('40')).status, 200, 'B reaches the owner and keeps a connection to it');
    // A stopped process: its kernel still accepts connections and reads requests, nothing answers.
    process.kill(A.pid, 'SIGSTOP');
    let res;
    const t0 = Date.now();
    try {
      res = await httpRequest(B.port, { method: 'POST', path: `${P}?EIO=4&transport=polling&sid=${s.sid}`, body: '42["x"]', headers: { 'content-type': 'text/plain' } }, 5000);
    } finally {
      process.kill(A.pid, 'SIGCONT');
    }
    const took = Date.now() - t0;
    assert.equal(res.status, 504, res.body);
    assert.deepEqual(JSON.parse(res.body), { code: 0, message: 'the peer did not answer in time' });
    assert.ok(took >= 700 && took < 3000, `answered after the 800 ms bound (${took} ms)`);
    await waitOutput(B, `sid=${s.sid} POST not forwarded: the peer did not answer in time (504)`);
    // A forwarded GET held by the owner when the owner dies: the connection fails mid-request.
    assert.match((await s.at(A).getNow()).body, /^40/, 'the CONNECT reply is collected first');
    const held = s.at(B).get();
    await waitOutput(B, `sid=${s.sid} GET forwarded`);
    await sleep(300);
    await kill9(A);
    const cut = await withTimeout(held.done, 5000, 'the GET whose owner died');
    assert.equal(cut.status, 502, cut.body);
    assert.deepEqual(JSON.parse(cut.body), { code: 0, message: 'connection to the peer failed' });
    await waitOutput(B, `sid=${s.sid} GET not forwarded: connection to the peer failed (502)`);
  });

  itest('Redis goes away: local sessions keep working, known owners are still reached', { timeout: 30000 }, async (h) => {
    const { redis, nodes } = await startCluster(h, 2);
    const [A, B] = nodes;
    const s = await new Session(h, nodes).open(A);
    assert.equal((await s.at(B).post('40')).status, 200); // B learns the owner
    assert.match((await s.at(A).getNow()).body, /^40/);
    await kill9(redis);
    await waitOutput(A, 'cluster not ready');
    await sleep(2200); // past B's 2 s address cache: B now cannot confirm A is alive
    assert.equal((await s.at(A).post('421["join","r"]')).status, 200);
    assert.match((await s.at(A).getNow()).body, /^43/);
    assert.equal((await s.at(B).post('422["leave","r"]')).status, 200, 'B still reaches the owner it knew');
    assert.match((await s.at(B).getNow()).body, /^43/);
    // A new sid B has never seen cannot be looked up: 502, with a log line.
    const fresh = await new Session(h, nodes).open(A);
    const res = await fresh.at(B).getNow();
    assert.equal(res.status, 502);
    await waitOutput(B, 'owner lookup failed');
  });
});

describe('cluster authentication', () => {
  itest('a forwarded request without a valid, fresh signature gets 401', async (h) => {
    const { nodes } = await startCluster(h, 2);
    const [A] = nodes;
    const s = await new Session(h, nodes).open(A);
    const q = `EIO=4&transport=polling&sid=${s.sid}`;
    const url = `${P}?${q}`;
    const bad = [
      { 'x-siobroker-from': 'x' }, // no signature at all
      { ...forwardHeaders('GET', P, q), 'x-siobroker-sig': 'f'.repeat(64) }, // wrong signature
      forwardHeaders('GET', P, q, { secret: 'another-secret-0123456789' }), // wrong secret
      forwardHeaders('GET', P, q, { ts: Date.now() - 120000 }), // stale
      forwardHeaders('GET', P, `${q}&x=1`), // signed for another query
      forwardHeaders('POST', P, q), // signed for another method
    ];
    for (const headers of bad) {
      const res = await httpRequest(A.port, { path: url, headers });
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.deepEqual(JSON.parse(res.body), { code: 4, message: 'Unauthorized cluster request' });
    }
    await waitOutput(A, 'refused: missing cluster signature');
    await waitOutput(A, 'refused: invalid cluster signature');
    await waitOutput(A, 'refused: cluster signature timestamp outside the allowed window');
    // Correctly signed: served (and the session is unharmed by the refused ones).
    const ok = await httpRequest(A.port, { method: 'POST', path: url, body: '40', headers: { ...forwardHeaders('POST', P, q), 'content-type': 'text/plain' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body, 'ok');
    // A signed request for a sid this node does not hold is answered here, never forwarded again.
    const q2 = 'EIO=4&transport=polling&sid=elsewhere';
    const res = await httpRequest(nodes[1].port, { path: `${P}?${q2}`, headers: forwardHeaders('GET', P, q2) });
    assert.equal(res.status, 400);
    assert.ok(!nodes[1].stderr.includes('sid=elsewhere GET forwarded'));
    // A relayed WebSocket must be signed too.
    const qw = `EIO=4&transport=websocket&sid=${s.sid}`;
    const ws = openWs(A.port, `${P}?${qw}`, { headers: { 'x-siobroker-from': 'x', 'x-siobroker-ts': String(Date.now()), 'x-siobroker-sig': '0'.repeat(64) } });
    await assert.rejects(ws.opened);
  });

  itest('--redis without a secret refuses to start unless --insecure-cluster is given', async (h) => {
    const redis = await startRedis(h);
    const r = await runBinary('siobroker', ['--listen', '127.0.0.1:0', '--redis', redis.url], { timeoutMs: 5000 });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--redis needs --cluster-secret/);
    const short = await runBinary('siobroker', ['--listen', '127.0.0.1:0', '--redis', redis.url, '--cluster-secret', 'short'], { timeoutMs: 5000 });
    assert.equal(short.code, 2);
    assert.match(short.stderr, /invalid --cluster-secret: a cluster secret has at least 16 characters/);
    const insecure = await startDaemon(h, redis, { secret: null, logLevel: 'info' });
    await waitOutput(insecure, '--insecure-cluster: forwarded requests are neither signed nor checked');
  });
});

describe('misrouted WebSockets are relayed to the owner', () => {
  itest('upgrade through another node: probe, text and binary both ways, close both ways', { timeout: 30000 }, async (h) => {
    // Z is reaped by a ping timeout at the end: short enough to keep the test quick, long enough
    // for a busy machine (Y is a real client and must not time out).
    const { nodes } = await startCluster(h, 2, { args: ['--ping-interval', '1000', '--ping-timeout', '4000'] });
    const [A, B] = nodes;
    // Y: an official client on A in room "r".
    const y = await connect(h, A, WS, '/');
    assert.deepEqual(await y.emitWithAck('join', 'r'), { ok: true });
    // X: a raw session owned by A, upgraded on B.
    const x = await new Session(h, nodes).open(A);
    assert.equal((await x.at(A).post('40')).status, 200);
    assert.match((await x.at(A).getNow()).body, /^40/);
    const held = x.at(A).get();
    const ws = h.ws(B.port, wsUrl(P, { sid: x.sid }));
    await ws.opened;
    ws.send('2probe');
    assert.equal((await ws.nextNonPing(WS_WAIT, '3probe')).data, '3probe');
    assert.equal((await withTimeout(held.done, 5000, 'the noop for the held GET')).body, '6');
    ws.send('5');
    ws.send('420["join","r"]');
    assert.equal((await ws.nextNonPing(WS_WAIT, 'the join ack')).data, '430[{"ok":true}]');
    await waitOutput(A, `sid=${x.sid} upgraded to websocket`);
    // X -> Y: text and binary.
    const gotY = new Promise((resolve) => y.once('blob', (t, b) => resolve([t, b])));
    ws.send('451-["blob","from-x",{"_placeholder":true,"num":0}]');
    ws.send(Buffer.from([0, 1, 2, 255]));
    const [t, b] = await withTimeout(gotY, 5000, 'X\'s binary event at Y');
    assert.equal(t, 'from-x');
    assert.deepEqual([...Buffer.from(b)], [0, 1, 2, 255]);
    // Y -> X: the owner's frames come back through the relay, binary kept.
    y.emit('blob', 'from-y', Buffer.from([9, 8, 7]));
    const head = await ws.nextNonPing(WS_WAIT, 'Y\'s event header at X');
    assert.equal(head.data, '451-["blob","from-y",{"_placeholder":true,"num":0}]');
    const att = await ws.nextNonPing(WS_WAIT, 'Y\'s attachment at X');
    assert.equal(att.binary, true);
    assert.deepEqual([...att.data], [9, 8, 7]);
    // The client closes: the owner's session ends.
    ws.terminate();
    await waitOutput(A, `sid=${x.sid} closed: transport close`);
    await waitOutput(B, `sid=${x.sid} relay to 127.0.0.1:${A.port} closed`);

    // The owner closes (ping timeout: Z answers no pings): the client's WebSocket is closed.
    const z = await new Session(h, nodes).open(A);
    const wz = h.ws(B.port, wsUrl(P, { sid: z.sid }));
    await wz.opened;
    wz.send('2probe');
    assert.equal((await wz.nextNonPing(WS_WAIT, '3probe', { pong: false })).data, '3probe');
    wz.send('5');
    await wz.waitClosed(10000, 'the relayed WebSocket to close after the owner timed the session out');
    await waitOutput(A, `sid=${z.sid} closed: ping timeout`);
  });
});
