// cross_node: the load side of the cross-node broadcast benchmark (bench/redis/run.sh starts the
// servers and calls this once per scenario, then once more with --report).
//
// Measure mode:
//   node cross_node.mjs --pub URL --sub URL [--clients N] [--events M] [--size BYTES] [--rate R]
//        [--window W] [--warmup K] [--timeout S] [--label NAME] [--pids name=PID,...] [--out FILE]
// connects N socket.io-client sockets (websocket transport) to --sub, all joined to room "bench",
// and one publisher to --pub, joined to "bench" too. The publisher emits M "bench" events of
// {s: seq, t: send time (performance.now() of this process), p: BYTES of padding}, each with
// emitWithAck: at most W outstanding (default 16: as fast as acks allow), or paced at R events/s
// when --rate is given. Every client records each receipt, so this one process timestamps both
// ends. Writes one JSON result (stdout, or --out FILE): deliveries/s = N*M / (last delivery - first
// send), latency percentiles from send to receipt, lost / duplicated / unexpected deliveries, acks,
// and the CPU seconds of the listed PIDs (and of this process) over the measured window.
// Before measuring, a probe checks that an event from --pub reaches --sub (the cluster works), and
// K warm-up events (default 20, not measured) are delivered to every client.
//
// Report mode:
//   node cross_node.mjs --report RESULT.json... [--json] [--command CMD]
// prints the table and the ratios (or one JSON document with --json).

import fs from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';

const ROOM = 'bench';
const EVENT = 'bench';
const WARM_EVENT = 'bench-warmup';
const ACK_TIMEOUT_MS = 15000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (msg) => process.stderr.write(`cross_node: ${msg}\n`);

function withTimeout(p, ms, what) {
  let t;
  return Promise.race([
    p,
    new Promise((_, rej) => {
      t = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

function parseArgs(argv) {
  const o = {
    pub: null, sub: null, clients: 1000, events: 2000, size: 100, rate: 0, window: 16, warmup: 20,
    timeout: 60, label: 'run', pids: '', out: null, report: null, json: false, command: '',
  };
  const num = new Set(['clients', 'events', 'size', 'rate', 'window', 'warmup', 'timeout']);
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') o.json = true;
    else if (a === '--report') {
      o.report = [];
      while (i + 1 < argv.length && !argv[i + 1].startsWith('--')) o.report.push(argv[++i]);
    } else if (a.startsWith('--') && a.slice(2) in o && i + 1 < argv.length) {
      const k = a.slice(2);
      o[k] = num.has(k) ? Number(argv[++i]) : argv[++i];
      if (num.has(k) && !(Number.isFinite(o[k]) && o[k] >= 0)) throw new Error(`bad value for ${a}`);
    } else throw new Error(`unknown or incomplete argument ${a}`);
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// CPU and memory of the server processes, from /proc.

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux/x86-64 and arm64

function procCpu(pid) {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime + stime
  } catch {
    return NaN;
  }
}

function procRssKb(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

function parsePids(s) {
  const out = {};
  for (const kv of s.split(',').filter(Boolean)) {
    const [k, v] = kv.split('=');
    out[k] = Number(v);
  }
  return out;
}

function cpuSnapshot(pids) {
  const snap = {};
  for (const [k, pid] of Object.entries(pids)) snap[k] = procCpu(pid);
  const u = process.cpuUsage();
  snap.client = (u.user + u.system) / 1e6;
  return snap;
}

// ---------------------------------------------------------------------------------------------
// Measure mode.

async function connectOne(io, url, name, onEvent) {
  const s = io(url, { transports: ['websocket'], forceNew: true, reconnection: false, timeout: 10000 });
  if (onEvent) onEvent(s);
  await withTimeout(
    new Promise((resolve, reject) => {
      s.once('connect', resolve);
      s.once('connect_error', (e) => reject(new Error(`${name}: connect_error ${e.message}`)));
    }),
    15000,
    `${name} to connect to ${url}`,
  );
  const res = await s.timeout(10000).emitWithAck('join', ROOM);
  if (!res || res.ok !== true) throw new Error(`${name}: join ${ROOM} answered ${JSON.stringify(res)}`);
  return s;
}

/** Checks (bounded) that an event emitted on pub reaches a member of the room on sub. */
async function probe(io, pubUrl, subUrl) {
  const room = `probe-${process.pid}`;
  const a = io(pubUrl, { transports: ['websocket'], forceNew: true, reconnection: false, timeout: 5000 });
  const b = io(subUrl, { transports: ['websocket'], forceNew: true, reconnection: false, timeout: 5000 });
  const connected = [a, b].map((s) => new Promise((r, j) => (s.once('connect', r), s.once('connect_error', j))));
  try {
    let got = false;
    b.on('probe', () => {
      got = true;
    });
    for (const [i, s] of [a, b].entries()) {
      await withTimeout(connected[i], 10000, 'probe connect');
      const res = await s.timeout(5000).emitWithAck('join', room);
      if (!res?.ok) throw new Error(`probe join: ${JSON.stringify(res)}`);
    }
    const deadline = Date.now() + 10000;
    while (!got) {
      if (Date.now() > deadline) throw new Error(`probe: an event from ${pubUrl} never reached ${subUrl} in 10 s`);
      await a.timeout(5000).emitWithAck('probe', 1);
      for (let i = 0; i < 10 && !got; i++) await sleep(20);
    }
  } finally {
    a.disconnect();
    b.disconnect();
  }
}

function percentile(sorted, q) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

const round = (x, d = 3) => (x == null || !Number.isFinite(x) ? x : Number(x.toFixed(d)));

async function measure(o) {
  const { io } = await import('socket.io-client');
  const N = o.clients;
  const M = o.events;
  const W = Math.max(1, o.window);
  const pids = parsePids(o.pids);
  const pad = 'x'.repeat(o.size);

  const tStart = performance.now();
  await probe(io, o.pub, o.sub);
  log(`${o.label}: probe ok, connecting ${N} clients to ${o.sub}`);

  // Receipt state: one byte per (client, seq); latencies of first receipts.
  const seen = new Uint8Array(N * M);
  const lat = new Float64Array(N * M);
  let nLat = 0;
  let received = 0;
  let duplicated = 0;
  let unexpected = 0;
  let lastRecv = 0;
  let warmReceived = 0;
  let disconnects = 0;
  let onAllReceived = null;
  let finished = false;
  const expected = N * M;

  const clients = new Array(N);
  const attach = (ci) => (s) => {
    s.on(EVENT, (m) => {
      const now = performance.now();
      const seq = m && m.s;
      if (!Number.isInteger(seq) || seq < 0 || seq >= M || typeof m.t !== 'number') {
        unexpected++;
        return;
      }
      const idx = ci * M + seq;
      if (seen[idx]) {
        duplicated++;
        if (seen[idx] < 255) seen[idx]++;
        return;
      }
      seen[idx] = 1;
      lat[nLat++] = now - m.t;
      lastRecv = now;
      if (++received === expected && onAllReceived) onAllReceived();
    });
    s.on(WARM_EVENT, () => {
      warmReceived++;
    });
    s.onAny((ev) => {
      if (ev !== EVENT && ev !== WARM_EVENT) unexpected++;
    });
    s.on('disconnect', (reason) => {
      if (finished) return;
      disconnects++;
      if (disconnects <= 5) log(`${o.label}: client ${ci} disconnected: ${reason}`);
    });
  };
  const CONCURRENCY = 50;
  let nextClient = 0;
  const connectDeadline = Date.now() + Math.max(60000, N * 60);
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, N) }, async () => {
      while (nextClient < N) {
        if (Date.now() > connectDeadline) throw new Error(`connecting ${N} clients took too long (${nextClient} started)`);
        const ci = nextClient++;
        clients[ci] = await connectOne(io, o.sub, `client ${ci}`, attach(ci));
      }
    }),
  );
  const pub = await connectOne(io, o.pub, 'publisher', (s) => {
    s.onAny(() => {
      unexpected++;
    });
  });
  let pubDisconnected = null;
  pub.on('disconnect', (reason) => {
    pubDisconnected = reason;
  });
  const connectMs = performance.now() - tStart;
  log(`${o.label}: ${N} clients + publisher connected and joined in ${(connectMs / 1000).toFixed(1)} s`);

  // Warm-up (not measured): K events, waited for at every client.
  if (o.warmup > 0) {
    for (let i = 0; i < o.warmup; i++) await pub.timeout(ACK_TIMEOUT_MS).emitWithAck(WARM_EVENT, { p: pad });
    const deadline = Date.now() + 20000;
    while (warmReceived < N * o.warmup) {
      if (Date.now() > deadline) throw new Error(`warm-up: ${warmReceived}/${N * o.warmup} deliveries after 20 s`);
      await sleep(10);
    }
  }
  if (unexpected) log(`${o.label}: ${unexpected} unexpected events before measuring`);
  await sleep(200);

  // Measured phase.
  const acks = { ok: 0, not_ok: 0, errors: 0, delivered_sum: 0 };
  let sent = 0;
  let tFirst = 0;
  let tLastSend = 0;
  const cpu0 = cpuSnapshot(pids);
  const onAck = (res) => {
    if (res && res.ok === true) {
      acks.ok++;
      acks.delivered_sum += Number(res.delivered) || 0;
    } else acks.not_ok++;
  };
  const onAckErr = (e) => {
    acks.errors++;
    if (acks.errors <= 3) log(`${o.label}: ack error: ${e.message}`);
  };
  const send = () => {
    const seq = sent++;
    const t = performance.now();
    if (seq === 0) tFirst = t;
    tLastSend = t;
    return pub.timeout(ACK_TIMEOUT_MS).emitWithAck(EVENT, { s: seq, t, p: pad }).then(onAck, onAckErr);
  };

  const allReceived = new Promise((r) => {
    onAllReceived = r;
  });
  const sending = new Promise((resolve) => {
    let settled = 0;
    const settle = () => {
      if (++settled === M) resolve();
    };
    if (o.rate > 0) {
      const t0 = performance.now();
      const tick = () => {
        if (pubDisconnected) return resolve();
        const due = Math.min(M, Math.floor(((performance.now() - t0) * o.rate) / 1000) + 1);
        while (sent < due) send().then(settle);
        if (sent < M) setTimeout(tick, Math.max(0, t0 + (sent * 1000) / o.rate - performance.now()));
      };
      tick();
    } else {
      let inflight = 0;
      const pump = () => {
        if (pubDisconnected) return resolve();
        while (inflight < W && sent < M) {
          inflight++;
          send().then(() => {
            inflight--;
            settle();
            pump();
          });
        }
      };
      pump();
    }
    if (M === 0) resolve();
  });

  // Ends when every delivery arrived, or nothing arrived for 5 s after the last ack, or timeout.
  const DRAIN_MS = 5000;
  const hardDeadline = performance.now() + o.timeout * 1000;
  let sendsDone = false;
  let sendsDoneAt = 0;
  sending.then(() => {
    sendsDone = true;
    sendsDoneAt = performance.now();
  });
  let endReason = 'all delivered';
  if (received < expected) {
    let iv;
    endReason = await new Promise((resolve) => {
      allReceived.then(() => resolve('all delivered'));
      iv = setInterval(() => {
        const now = performance.now();
        if (now > hardDeadline) resolve(`timeout (${o.timeout} s)`);
        else if (pubDisconnected) resolve(`publisher disconnected: ${pubDisconnected}`);
        else if (sendsDone && now - Math.max(lastRecv, sendsDoneAt) > DRAIN_MS) resolve(`no delivery for ${DRAIN_MS / 1000} s after the last ack`);
      }, 50);
    });
    clearInterval(iv);
  }
  finished = true;
  const cpu1 = cpuSnapshot(pids);
  const rss = {};
  for (const [k, pid] of Object.entries(pids)) rss[k] = procRssKb(pid);
  rss.client = Math.round(process.memoryUsage().rss / 1024);
  // Late acks (cross-node acks come back from the publisher's node) are not waited for here.
  await Promise.race([sending, sleep(1000)]);

  const sorted = lat.subarray(0, nLat).sort();
  let mean = 0;
  for (let i = 0; i < nLat; i++) mean += sorted[i];
  mean = nLat ? mean / nLat : null;
  const elapsedMs = received ? lastRecv - tFirst : null;
  const cpu = {};
  for (const k of Object.keys(cpu1)) cpu[k] = round(cpu1[k] - cpu0[k], 2);

  const result = {
    label: o.label,
    pub: o.pub,
    sub: o.sub,
    clients: N,
    events: M,
    size: o.size,
    rate: o.rate || null,
    window: o.rate > 0 ? null : W,
    warmup: o.warmup,
    expected,
    received,
    lost: expected - received,
    duplicated,
    unexpected,
    client_disconnects: disconnects,
    end: endReason,
    events_sent: sent,
    acks,
    connect_s: round(connectMs / 1000, 2),
    send_s: round((tLastSend - tFirst) / 1000, 3),
    elapsed_s: elapsedMs == null ? null : round(elapsedMs / 1000, 3),
    deliveries_per_s: elapsedMs ? Math.round(received / (elapsedMs / 1000)) : null,
    events_per_s: elapsedMs ? round(M / (elapsedMs / 1000), 1) : null,
    latency_ms: {
      p50: round(percentile(sorted, 0.5)),
      p90: round(percentile(sorted, 0.9)),
      p99: round(percentile(sorted, 0.99)),
      max: round(sorted.length ? sorted[sorted.length - 1] : null),
      mean: round(mean),
    },
    cpu_s: cpu,
    node_b_us_per_delivery: received && Number.isFinite(cpu.node_B) ? round((cpu.node_B * 1e6) / received, 2) : null,
    rss_kb: rss,
  };
  for (const s of clients) s?.disconnect();
  pub.disconnect();
  const text = JSON.stringify(result);
  if (o.out) fs.writeFileSync(o.out, text + '\n');
  else process.stdout.write(text + '\n');
  log(
    `${o.label}: ${received}/${expected} delivered (${result.lost} lost, ${duplicated} dup) in ${result.elapsed_s} s: ` +
      `${result.deliveries_per_s} deliveries/s, p50 ${result.latency_ms.p50} ms, p99 ${result.latency_ms.p99} ms [${endReason}]`,
  );
}

// ---------------------------------------------------------------------------------------------
// Report mode.

function machine() {
  let model = 'unknown';
  try {
    const m = /^model name\s*:\s*(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) model = m[1].trim();
  } catch {
    /* not Linux */
  }
  return { nproc: os.availableParallelism(), cpu_model: model, node: process.version, kernel: os.release() };
}

function ratio(a, b) {
  return a != null && b ? round(a / b, 2) : null;
}

function report(o) {
  const results = o.report.map((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
  const by = Object.fromEntries(results.map((r) => [r.label, r]));
  const get = (l, f) => (by[l] ? f(by[l]) : null);
  const ratios = {
    siobroker_cross_over_single_deliveries: ratio(get('siobroker cross-node', (r) => r.deliveries_per_s), get('siobroker single-node', (r) => r.deliveries_per_s)),
    siobroker_cross_over_single_p50: ratio(get('siobroker cross-node', (r) => r.latency_ms.p50), get('siobroker single-node', (r) => r.latency_ms.p50)),
    node_cross_over_single_deliveries: ratio(get('node cross-node', (r) => r.deliveries_per_s), get('node single-node', (r) => r.deliveries_per_s)),
    siobroker_over_node_cross_deliveries: ratio(get('siobroker cross-node', (r) => r.deliveries_per_s), get('node cross-node', (r) => r.deliveries_per_s)),
    siobroker_over_node_cross_p50: ratio(get('siobroker cross-node', (r) => r.latency_ms.p50), get('node cross-node', (r) => r.latency_ms.p50)),
    siobroker_over_node_cross_node_b_cpu_per_delivery: ratio(get('siobroker cross-node', (r) => r.node_b_us_per_delivery), get('node cross-node', (r) => r.node_b_us_per_delivery)),
  };
  const doc = { machine: machine(), command: o.command || null, results, ratios };
  if (o.json) {
    process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
    return;
  }
  const r0 = results[0] || {};
  const pace = r0.rate ? `paced at ${r0.rate} events/s` : `emitWithAck, window ${r0.window}`;
  const lines = [];
  lines.push(`machine: ${doc.machine.nproc} CPUs, ${doc.machine.cpu_model}, Node ${doc.machine.node}`);
  lines.push(`load: ${r0.clients} clients, ${r0.events} events of ${r0.size} bytes, ${pace}; ${r0.warmup} warm-up events`);
  const head = ['scenario', 'deliveries/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'lost', 'dup', 'send s', 'elapsed s', 'CPU s: node A/node B/redis/load', 'node B µs/delivery'];
  const rows = results.map((r) => {
    const c = r.cpu_s;
    const cpu = [c.node_A, c.node_B, c.redis, c.client].map((x) => (x == null || Number.isNaN(x) ? '-' : x.toFixed(1))).join('/');
    return [r.label, String(r.deliveries_per_s ?? '-'), ...['p50', 'p90', 'p99', 'max'].map((k) => (r.latency_ms[k] == null ? '-' : r.latency_ms[k].toFixed(1))), String(r.lost), String(r.duplicated), String(r.send_s ?? '-'), String(r.elapsed_s ?? '-'), cpu, r.node_b_us_per_delivery == null ? '-' : r.node_b_us_per_delivery.toFixed(2)];
  });
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (cells) => '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join(' | ') + ' |';
  lines.push(fmt(head));
  lines.push('|' + w.map((n, i) => (i === 0 ? '-'.repeat(n + 1) + '-' : '-'.repeat(n + 1) + ':')).join('|') + '|');
  for (const r of rows) lines.push(fmt(r));
  const notes = results.filter((r) => r.end !== 'all delivered' || r.unexpected || r.client_disconnects || r.acks.errors || r.acks.not_ok);
  for (const r of notes) {
    lines.push(`! ${r.label}: ${r.end}; unexpected ${r.unexpected}, client disconnects ${r.client_disconnects}, ack errors ${r.acks.errors}, acks not ok ${r.acks.not_ok}`);
  }
  const rt = (x) => (x == null ? 'n/a' : `${x}`);
  lines.push(`ratio cross/single (deliveries/s): siobroker ${rt(ratios.siobroker_cross_over_single_deliveries)}, node ${rt(ratios.node_cross_over_single_deliveries)}`);
  lines.push(`ratio siobroker/node, cross-node: deliveries/s ${rt(ratios.siobroker_over_node_cross_deliveries)}, p50 latency ${rt(ratios.siobroker_over_node_cross_p50)}, node B CPU per delivery ${rt(ratios.siobroker_over_node_cross_node_b_cpu_per_delivery)}`);
  process.stdout.write(lines.join('\n') + '\n');
}

// ---------------------------------------------------------------------------------------------

let opts;
try {
  opts = parseArgs(process.argv);
  if (opts.report) report(opts);
  else {
    if (!opts.pub || !opts.sub) throw new Error('--pub URL and --sub URL are required');
    await measure(opts);
    setTimeout(() => process.exit(0), 300);
  }
} catch (e) {
  log(`error: ${e.stack || e.message}`);
  process.exit(1);
}
