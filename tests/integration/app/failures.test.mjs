// Every failure of the app bridge against a scriptable stand-in app: each has the outcome and the
// log line docs/app-bridge.md gives, the node keeps serving, and an answer that fails validation
// is dropped whole. Also: batching under a slow app, the per-socket queue bound, a client that
// leaves while its connect is with the app.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { eventually, itest, sleep } from '../lib/harness.mjs';
import { waitOutput } from '../redis/cluster.mjs';
import { ask, askAll, connect, fakeApp, io, next, startNode } from './lib.mjs';

const accept = (extra = {}) => ({ accept: true, ...extra });

/** A stand-in app: connect accepted, events answered by onEvent(call) (default: ack the args). */
function app(h, { onConnect = () => accept(), onEvent = (c) => ({ actions: c.ack ? [{ type: 'ack', args: c.args, attachments: c.attachments }] : [] }) } = {}) {
  return fakeApp(h, async (calls) => {
    const out = [];
    for (const c of calls) {
      if (c.type === 'connect') out.push(await onConnect(c));
      else if (c.type === 'event') out.push(await onEvent(c));
      else out.push({});
    }
    return out;
  });
}

/** A socket that must not connect: resolves with its first disconnect reason (session closed). */
function closedBeforeConnect(h, url, nsp = '/app') {
  const s = io(url + nsp, { transports: ['websocket'], reconnection: false, forceNew: true });
  h.defer(() => s.disconnect());
  return new Promise((resolve, reject) => {
    s.once('connect', () => reject(new Error('connected')));
    s.once('connect_error', (e) => reject(new Error(`connect_error ${e.message}`)));
    s.once('disconnect', (reason) => resolve(reason));
  });
}

describe('app bridge failures', () => {
  itest('connect: timeout, HTTP 500, nonsense bodies, invalid answers close the session; the node keeps serving', { timeout: 60000 }, async (h) => {
    let mode = 'hang';
    const fake = await fakeApp(h, (calls) => {
      switch (mode) {
        case 'hang': return new Promise(() => {});
        case '500': return { status: 500, body: 'oops' };
        case 'notjson': return { status: 200, body: 'hello' };
        case 'count': return { status: 200, body: '{"answers":[]}' };
        case 'invalid': return calls.map(() => ({ accept: 'yes' }));
        case 'badaction': return calls.map(() => ({ accept: true, actions: [{ type: 'emit', event: 'connect', args: [] }] }));
        default: return calls.map(() => accept());
      }
    });
    const node = await startNode(h, { appUrl: fake.url, args: ['--app-timeout', '600'] });
    // While the app hangs, another namespace of the node answers at once.
    const pending = closedBeforeConnect(h, node.url);
    const rooms = await connect(h, node.url, { nsp: '/' });
    assert.deepEqual(await ask(rooms, 'join', 'x'), { ok: true });
    assert.equal(await pending, 'transport close');
    await waitOutput(node, 'the peer did not answer in time');
    await waitOutput(node, 'session closed');
    const cases = [
      ['500', 'the app answered HTTP 500'],
      ['notjson', 'invalid answer: answer body is not JSON'],
      ['count', 'invalid answer: answer count differs from the call count'],
      ['invalid', 'invalid app answer to connect'],
      ['badaction', 'reserved event name'],
    ];
    for (const [m, line] of cases) {
      mode = m;
      assert.equal(await closedBeforeConnect(h, node.url), 'transport close', m);
      await waitOutput(node, line);
    }
    mode = 'ok';
    await connect(h, node.url);
  });

  itest('events: an invalid answer is dropped whole, an error answer gets no ack, logs are rate-limited', { timeout: 60000 }, async (h) => {
    const fake = await app(h, {
      onEvent: (c) => {
        switch (c.event) {
          case 'half': return { actions: [{ type: 'emit', event: 'partial', args: [1] }, { type: 'bogus' }] };
          case 'range': return { actions: [{ type: 'ack', args: [{ _placeholder: true, num: 1 }], attachments: ['AAE='] }] };
          case 'b64': return { actions: [{ type: 'ack', args: [{ _placeholder: true, num: 0 }], attachments: ['***'] }] };
          case 'twice': return { actions: [{ type: 'ack', args: [1] }, { type: 'ack', args: [2] }] };
          case 'err': return { error: 'Traceback: boom' };
          case 'bin': return { actions: [{ type: 'ack', args: [{ _placeholder: true, num: 0 }, 'x'], attachments: ['AAEC/w=='] }] };
          default: return { actions: c.ack ? [{ type: 'ack', args: c.args }] : [] };
        }
      },
    });
    const node = await startNode(h, { appUrl: fake.url });
    const s = await connect(h, node.url);
    let partial = 0;
    s.on('partial', () => partial++);
    for (const ev of ['half', 'range', 'b64', 'twice', 'err']) await assert.rejects(s.timeout(800).emitWithAck(ev), /timed out/, ev);
    assert.deepEqual(await askAll(s, 'echo', 'still', 'here'), ['still', 'here']);
    assert.equal(partial, 0, 'nothing of an invalid answer is applied');
    await waitOutput(node, 'unknown action type');
    await waitOutput(node, "a placeholder's num is out of range");
    await waitOutput(node, 'an attachment is not valid base64');
    await waitOutput(node, 'without an ack to send');
    await waitOutput(node, 'app handler failed on event');
    const bin = await askAll(s, 'bin');
    assert.deepEqual(Buffer.from(bin[0]), Buffer.from([0, 1, 2, 255]));
    // A burst of invalid answers from three sockets: at most 5 lines a second, then one line with
    // the count of those suppressed (the next invalid answer, in a later second, carries it).
    const more = [s, await connect(h, node.url), await connect(h, node.url)];
    for (let i = 0; i < 15; i++) for (const m of more) m.emit('half');
    await Promise.all(more.map((m) => askAll(m, 'echo', 1)));
    await eventually(
      async () => {
        s.emit('half');
        await askAll(s, 'echo', 2);
        assert.match(node.stderr, /such lines suppressed\)/);
      },
      10000,
      'a line counting the suppressed ones',
      300,
    );
    // What the client sent reached the app as sent (binary as base64 attachments).
    await askAll(s, 'echo', Buffer.from([7, 8]));
    const call = fake.calls.findLast((c) => c.event === 'echo');
    assert.deepEqual(call.args, [{ _placeholder: true, num: 0 }]);
    assert.deepEqual(call.attachments, ['Bwg=']);
    assert.equal(call.ack, true);
    assert.equal(call.data, null);
    assert.ok(!JSON.stringify(fake.calls).includes(s.io.engine.id), 'the Engine.IO sid never reaches the app');
  });

  itest('a full queue drops the event and disconnects the socket; what was accepted is still delivered in order', { timeout: 60000 }, async (h) => {
    let release;
    const held = new Promise((r) => (release = r));
    const fake = await app(h, {
      onEvent: async (c) => {
        if (c.args[0] === 0) await held;
        return {};
      },
    });
    const node = await startNode(h, { appUrl: fake.url, args: ['--app-queue', '2'] });
    const s = await connect(h, node.url);
    const gone = next(s, 'disconnect');
    for (let i = 0; i < 5; i++) s.emit('n', i);
    assert.equal((await gone)[0], 'io server disconnect');
    await waitOutput(node, 'events waiting for the app (--app-queue)');
    release();
    await eventually(() => assert.ok(fake.calls.some((c) => c.type === 'disconnect')), 5000, 'the disconnect call');
    const mine = fake.calls.filter((c) => c.sid === fake.calls[0].sid).map((c) => (c.type === 'event' ? c.args[0] : c.type));
    assert.deepEqual(mine, ['connect', 0, 1, 2, 'disconnect']);
    assert.equal(fake.calls.at(-1).reason, 'server namespace disconnect');
  });

  itest('calls pile up into batches while the app is slow; each socket keeps its order', { timeout: 60000 }, async (h) => {
    const fake = await app(h, {
      onConnect: async () => {
        await sleep(150);
        return accept({ data: { n: 0 } });
      },
    });
    const node = await startNode(h, { appUrl: fake.url, args: ['--app-concurrency', '1', '--app-batch', '8'] });
    const socks = await Promise.all(Array.from({ length: 6 }, () => connect(h, node.url)));
    assert.ok(fake.posts.some((p) => p.calls.length > 1), `some POST carried several calls: ${fake.posts.map((p) => p.calls.length)}`);
    assert.ok(fake.posts.every((p) => p.calls.length <= 8));
    const res = await Promise.all(socks.map((s, i) => askAll(s, 'e', i)));
    assert.deepEqual(res, socks.map((_, i) => [i]));
    for (const p of fake.posts) assert.equal(new Set(p.calls.map((c) => c.sid)).size, p.calls.length, 'one call per socket per POST');
    assert.ok(fake.calls.filter((c) => c.type === 'event').every((c) => c.data && c.data.n === 0), 'data of the connect answer sent with every call');
  });

  itest('a client that leaves while its connect is with the app: the app, having accepted, hears the disconnect', { timeout: 60000 }, async (h) => {
    let release;
    const held = new Promise((r) => (release = r));
    const fake = await app(h, { onConnect: async () => (await held, accept()) });
    const node = await startNode(h, { appUrl: fake.url });
    const s = io(node.url + '/app', { transports: ['websocket'], reconnection: false, forceNew: true });
    await eventually(() => assert.ok(fake.calls.length === 1), 5000, 'the connect call');
    s.disconnect();
    await waitOutput(node, /closed: transport close|closed: client/);
    release();
    await eventually(() => assert.ok(fake.calls.length === 2), 5000, 'the disconnect call');
    assert.equal(fake.calls[1].type, 'disconnect');
    assert.equal(fake.calls[1].sid, fake.calls[0].sid);
    assert.equal(fake.calls[1].reason, 'transport close');
  });
});
