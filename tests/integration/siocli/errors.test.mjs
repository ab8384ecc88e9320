// siocli's help and its errors: bad arguments and an unreachable Redis exit 2 with one clear line
// on stderr; --help documents every command; a failed request never crashes.

import assert from 'node:assert/strict';
import { itest, freePort, runBinary } from '../lib/harness.mjs';
import { startRedis } from '../redis/cluster.mjs';

const COMMANDS = ['nodes', 'sessions', 'session', 'rooms', 'room', 'sockets', 'emit', 'join', 'leave', 'disconnect', 'monitor'];

async function cli(args, env = {}) {
  const r = await runBinary('siocli', args, { env, timeoutMs: 8000 });
  return { code: r.code, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Asserts exit 2, nothing on stdout and exactly one line on stderr matching re. */
function usageError(r, re, what) {
  assert.equal(r.code, 2, `${what}: exit ${r.code} (${r.stderr})`);
  assert.equal(r.stdout, '', `${what}: stdout`);
  const lines = r.stderr.split('\n').filter((l) => l);
  assert.equal(lines.length, 1, `${what}: one line on stderr, got ${JSON.stringify(r.stderr)}`);
  assert.match(lines[0], /^siocli: /, what);
  assert.match(lines[0], re, what);
}

itest('--help lists every command and option; COMMAND --help describes it', async () => {
  const r = await cli(['--help']);
  assert.equal(r.code, 0);
  for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c} `, 'm'), c);
  for (const o of ['--redis URL', '--key PREFIX', '--nsp NSP', '--timeout MS', '--json', 'SIO_REDIS_URL']) assert.ok(r.stdout.includes(o), o);
  assert.match(r.stdout, /may start with '-'/, 'arguments starting with - are documented');
  assert.match(r.stdout, /after `--`/, '-- is documented');
  const e = await cli(['emit', '--help']);
  assert.equal(e.code, 0);
  assert.match(e.stdout, /^usage: siocli emit EVENT \[JSON_ARG\.\.\.\] \[OPTIONS\]/);
  for (const o of ['--to ROOM...', '--except ROOM...', '--volatile', '--binary-file PATH...', '--ack MS', '--redis URL']) assert.ok(e.stdout.includes(o), o);
  for (const c of COMMANDS) {
    const h = await cli([c, '--help']);
    assert.equal(h.code, 0, c);
    assert.match(h.stdout, new RegExp(`^usage: siocli ${c}`), c);
  }
  const none = await cli([]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^usage: siocli/);
  const v = await cli(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^siocli \d+\.\d+\.\d+\n$/);
});

itest('bad arguments exit 2 with a one-line message, before touching Redis', async () => {
  const dead = `redis://127.0.0.1:${await freePort()}`;
  const cases = [
    [['frobnicate'], /unknown command "frobnicate"/],
    [['rooms', '--bogus'], /unknown option "--bogus" \(see siocli rooms --help\)/],
    [['--bogus', 'rooms'], /unknown option "--bogus" \(see siocli --help\)/],
    [['session'], /missing argument \(usage: siocli session SID\)/],
    [['room', 'a', 'b'], /unexpected argument "b" \(usage: siocli room NAME\)/],
    [['room', 'a', '-b'], /unknown option "-b" \(see siocli room --help\)/],
    [['emit'], /missing argument \(usage: siocli emit EVENT/],
    [['emit', 'x', '--to'], /--to needs a value \(ROOM\)/],
    [['rooms', '--all=maybe'], /invalid --all: expected true or false/],
    [['--timeout', '0', 'nodes'], /invalid --timeout: expected milliseconds from 1 to 86400000/],
    [['--timeout', 'soon', 'nodes'], /invalid --timeout: expected milliseconds/],
    [['--nsp', 'chat', 'rooms'], /invalid --nsp: must start with '\/'/],
    [['--key', '', 'rooms'], /invalid --key: must not be empty/],
    [['--redis', 'http://x', 'nodes'], /expected redis:\/\//],
    [['--redis', 'redis://127.0.0.1:99999', 'nodes'], /bad port/],
  ];
  for (const [args, re] of cases) usageError(await cli(['--redis', dead, ...args].filter((a, i) => !(i < 2 && args[0] === '--redis'))), re, args.join(' '));
});

itest('an unreachable Redis exits 2 with a clear message, from the flag or SIO_REDIS_URL', async () => {
  const port = await freePort();
  const r = await cli(['--redis', `redis://127.0.0.1:${port}`, 'nodes']);
  usageError(r, new RegExp(`cannot reach Redis at 127\\.0\\.0\\.1:${port}: Connection refused`), 'flag');
  const e = await cli(['--json', 'rooms'], { SIO_REDIS_URL: `redis://127.0.0.1:${port}` });
  usageError(e, new RegExp(`cannot reach Redis at 127\\.0\\.0\\.1:${port}`), 'env');
  const m = await cli(['--redis', `redis://127.0.0.1:${port}`, 'monitor']);
  usageError(m, /cannot reach Redis/, 'monitor');
});

itest('usage errors that need Redis (bad JSON argument, reserved event) and an empty cluster', async (h) => {
  const redis = await startRedis(h);
  const base = ['--redis', redis.url, '--timeout', '1000'];
  usageError(await cli([...base, 'emit', 'news', 'hello']), /emit: argument 1 is not JSON .*: hello \(write strings with quotes/, 'bare word');
  usageError(await cli([...base, 'emit', 'disconnect']), /"disconnect" cannot be emitted/, 'reserved');
  usageError(await cli([...base, 'emit', 'x', '--binary-file', '/no/such/file']), /--binary-file \/no\/such\/file: No such file/, 'file');
  usageError(await cli([...base, 'emit', 'x', '--ack', '-5']), /invalid --ack: expected milliseconds/, 'ack');
  usageError(await cli([...base, 'monitor', '--count', 'x']), /invalid --count: expected a number/, 'count');
  // A cluster without servers: nothing matched (exit 1), never a hang or a crash.
  for (const args of [['nodes'], ['sessions'], ['rooms'], ['sockets'], ['room', 'r'], ['session', 'abc'], ['session', '-KqK3xQ9aZ_bYcWdEfGh'], ['room', '--', '--to'], ['join', 'r'], ['disconnect'], ['emit', 'x', '--ack', '300']]) {
    const r = await cli([...base, ...args]);
    assert.equal(r.code, 1, `${args.join(' ')}: exit ${r.code} ${r.stderr}`);
    assert.match(r.stderr, /^siocli: /m, args.join(' '));
  }
  // Redis going away in the middle of monitor: exit 2.
  const { spawnBinary } = await import('../lib/harness.mjs');
  const { waitOutput, kill9 } = await import('../redis/cluster.mjs');
  const mon = spawnBinary('siocli', [...base, 'monitor']);
  h.servers.push(mon);
  await waitOutput(mon, 'siocli: monitoring');
  await kill9(redis);
  const st = await mon.exited;
  assert.equal(st.code, 2);
  assert.match(mon.stderr, /connection to Redis lost/);
});
