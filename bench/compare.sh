#!/usr/bin/env bash
# compare: one siobench scenario against siobroker, Node socket.io 4.8 (bench/node/server.mjs) and
# python-socketio on aiohttp (bench/python/server.py), in one run on this machine, server pinned
# to one core and siobench to another; prints each result and the ratios siobroker/other.
# A benchmark, not a test: not registered in ctest. bench/README.md explains the method.
#
# usage: bench/compare.sh SCENARIO [options] [-- extra siobench options]
#   SCENARIO          connect | idle | fanout | echo | polling | cluster
#   --clients N       clients (default 1000)
#   --events M        fanout events (default 20)
#   --size BYTES      padding per event (default 100)
#   --rate R          fanout events/s (default 0: as fast as the window allows)
#   --window W        outstanding acks (default: siobench's)
#   --duration S      echo seconds (default 5)
#   --servers LIST    comma-separated subset of siobroker,node,python (default all three)
#   --python-max N    skip python-socketio above N clients (default 2000: it does not keep up)
#   --server-cpu C    core of the server(s) (default 0); --bench-cpu C core of siobench (default 1)
#   --sb-args "ARGS"  extra siobroker flags, e.g. "--recovery-window 120000" (word-split)
#   --scrape S        siobroker only: GET /metrics every S seconds while siobench runs (a
#                     Prometheus' load; curl pinned to the bench core), to measure what counting
#                     and scraping cost (0: none, the default)
#   --json            print one JSON document (every run and the ratios)
#   --keep-logs       keep the work directory (server logs, siobench JSON)
# cluster: starts a private redis-server, two nodes of each server (publisher on A, clients on B)
# and, for siobroker, HAProxy round-robin without stickiness in front of A and B
# (deploy/haproxy/haproxy.cfg) for the misrouted polling round trips.
# Environment: SIO_BIN_DIR (default build/bin), NODE, REDIS_SERVER, HAPROXY.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BIN=${SIO_BIN_DIR:-$ROOT/build/bin}
NODE=${NODE:-node}
PY=/usr/bin/python3
REDIS_SERVER=${REDIS_SERVER:-redis-server}
HAPROXY=${HAPROXY:-haproxy}

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit "${1:-2}"; }
[ $# -ge 1 ] || usage
case $1 in -h|--help) usage 0 ;; esac
SCENARIO=$1
shift
[[ $SCENARIO =~ ^(connect|idle|fanout|echo|polling|cluster)$ ]] || { echo "compare.sh: unknown scenario $SCENARIO" >&2; usage; }
CLIENTS=1000 EVENTS=20 SIZE=100 RATE=0 WINDOW= DURATION=5 SERVERS=siobroker,node,python PYMAX=2000
SCPU=0 BCPU=1 JSON=0 KEEP=0 SCRAPE=0 EXTRA=() SB_ARGS=
while (($#)); do
  case $1 in
    --clients) CLIENTS=${2:?}; shift 2 ;;
    --events) EVENTS=${2:?}; shift 2 ;;
    --size) SIZE=${2:?}; shift 2 ;;
    --rate) RATE=${2:?}; shift 2 ;;
    --window) WINDOW=${2:?}; shift 2 ;;
    --duration) DURATION=${2:?}; shift 2 ;;
    --servers) SERVERS=${2:?}; shift 2 ;;
    --python-max) PYMAX=${2:?}; shift 2 ;;
    --server-cpu) SCPU=${2:?}; shift 2 ;;
    --bench-cpu) BCPU=${2:?}; shift 2 ;;
    --sb-args) SB_ARGS=${2?}; shift 2 ;;
    --scrape) SCRAPE=${2:?}; shift 2 ;;
    --json) JSON=1; shift ;;
    --keep-logs) KEEP=1; shift ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) usage 0 ;;
    *) echo "compare.sh: unknown argument $1" >&2; usage ;;
  esac
done
for x in "$BIN/siobroker" "$BIN/siobench"; do
  [ -x "$x" ] || { echo "compare.sh: $x missing: cmake --build build -j2 (or set SIO_BIN_DIR)" >&2; exit 2; }
done
command -v taskset >/dev/null || { echo "compare.sh: taskset (util-linux) not found" >&2; exit 2; }

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (( $(ulimit -n) < CLIENTS + 500 )); then
  echo "compare.sh: warning: the descriptor limit $(ulimit -n) is below $CLIENTS clients + margin" >&2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/siobench-compare.XXXXXX")
PIDS=()
stop_all() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  PIDS=()
}
cleanup() {
  stop_all
  if ((KEEP)); then echo "compare.sh: logs in $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { # PORT PID LOG: up to 15 s
  for _ in $(seq 150); do
    if ! kill -0 "$2" 2>/dev/null; then echo "compare.sh: server died:" >&2; tail -5 "$3" >&2; return 1; fi
    "$PY" -c "import socket; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "compare.sh: port $1 not open after 15 s" >&2
  return 1
}
wait_log() { # FILE PATTERN: up to 15 s
  for _ in $(seq 150); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "compare.sh: '$2' not seen in $1" >&2
  return 1
}

LAST_PID=
start_server() { # KIND PORT LOG [REDIS_URL]: starts one server pinned to $SCPU, sets LAST_PID
  local kind=$1 port=$2 log=$3 redis=${4:-}
  case $kind in
    siobroker)
      local extra=()
      [ -n "$redis" ] && extra+=(--redis "$redis")
      if [ -n "$redis" ] && "$BIN/siobroker" --help 2>&1 | grep -q -- --cluster-secret; then
        extra+=(--cluster-secret bench-cluster-secret-0123456789)
      fi
      # shellcheck disable=SC2206 # word-split on purpose
      extra+=($SB_ARGS)
      taskset -c "$SCPU" "$BIN/siobroker" --listen "127.0.0.1:$port" --namespace /:rooms \
        --log-level "$([ -n "$redis" ] && echo info || echo warn)" "${extra[@]}" >"$log" 2>&1 &
      ;;
    node)
      local extra=()
      [ -n "$redis" ] && extra+=(--redis "$redis")
      NODE_PATH="$ROOT/node_modules" taskset -c "$SCPU" "$NODE" "$HERE/node/server.mjs" --port "$port" "${extra[@]}" >"$log" 2>&1 &
      ;;
    python)
      taskset -c "$SCPU" "$PY" "$HERE/python/server.py" --port "$port" >"$log" 2>&1 &
      ;;
  esac
  LAST_PID=$!
  PIDS+=("$LAST_PID")
  wait_port "$port" "$LAST_PID" "$log"
}

bench() { # OUT ARGS...: siobench pinned to $BCPU, JSON into OUT (a failed run still leaves its JSON)
  local out=$1
  shift
  local args=(--clients "$CLIENTS" --events "$EVENTS" --size "$SIZE" --rate "$RATE" --duration "$DURATION" --json)
  [ -n "$WINDOW" ] && args+=(--window "$WINDOW")
  taskset -c "$BCPU" "$BIN/siobench" "$@" "${args[@]}" "${EXTRA[@]}" >"$out" 2>"$out.err" || true
  [ -s "$out" ] || { echo "compare.sh: siobench gave no result:" >&2; cat "$out.err" >&2; }
  grep -v '^$' "$out.err" >&2 || true
}

IFS=, read -r -a SERVER_LIST <<<"$SERVERS"
RESULTS=()
for kind in "${SERVER_LIST[@]}"; do
  if [ "$kind" = python ] && ((CLIENTS > PYMAX)); then
    echo "compare.sh: python-socketio skipped above $PYMAX clients (--python-max)" >&2
    continue
  fi
  [[ $kind =~ ^(siobroker|node|python)$ ]] || { echo "compare.sh: unknown server $kind" >&2; exit 2; }
  echo "compare.sh: $SCENARIO against $kind ..." >&2
  out="$WORK/$kind.json"
  if [ "$SCENARIO" = cluster ]; then
    [ "$kind" = python ] && { echo "compare.sh: python-socketio has no Redis adapter here: skipped" >&2; continue; }
    command -v "$REDIS_SERVER" >/dev/null || { echo "compare.sh: redis-server not found" >&2; exit 2; }
    rport=$(free_port)
    "$REDIS_SERVER" --port "$rport" --bind 127.0.0.1 --save '' --appendonly no >"$WORK/redis-$kind.log" 2>&1 &
    PIDS+=("$!")
    wait_port "$rport" "$!" "$WORK/redis-$kind.log"
    pa=$(free_port) pb=$(free_port)
    start_server "$kind" "$pa" "$WORK/$kind-a.log" "redis://127.0.0.1:$rport"
    start_server "$kind" "$pb" "$WORK/$kind-b.log" "redis://127.0.0.1:$rport"
    wait_log "$WORK/$kind-a.log" "cluster ready" || true
    wait_log "$WORK/$kind-b.log" "cluster ready" || true
    lb=()
    if [ "$kind" = siobroker ] && command -v "$HAPROXY" >/dev/null; then
      if "$BIN/siobroker" --help 2>&1 | grep -q -- --cluster-secret; then
        hport=$(free_port)
        # Node 3 of the config points at A again: round-robin A, B, A, ...
        SIO_HAPROXY_BIND="127.0.0.1:$hport" SIO_NODE1="127.0.0.1:$pa" SIO_NODE2="127.0.0.1:$pb" \
          SIO_NODE3="127.0.0.1:$pb" taskset -c "$SCPU" "$HAPROXY" -db -f "$ROOT/deploy/haproxy/haproxy.cfg" \
          >"$WORK/haproxy.log" 2>&1 &
        PIDS+=("$!")
        wait_port "$hport" "$!" "$WORK/haproxy.log"
        sleep 4 # health checks: two good answers 2 s apart mark a node up
        lb=(--lb-url "http://127.0.0.1:$hport/socket.io/")
      else
        echo "compare.sh: this siobroker has no --cluster-secret (no forwarding of misrouted requests): balancer runs skipped" >&2
      fi
    fi
    bench "$out" cluster --url "http://127.0.0.1:$pb/socket.io/" --pub-url "http://127.0.0.1:$pa/socket.io/" \
      "${lb[@]}" --label "$kind"
  else
    port=$(free_port)
    start_server "$kind" "$port" "$WORK/$kind.log"
    sleep 0.5 # let the runtime settle before the "before" RSS
    server_pid=$LAST_PID
    if [ "$SCRAPE" != 0 ] && [ "$kind" = siobroker ]; then
      # A scraper as Prometheus is one: a GET of the whole exposition every SCRAPE seconds.
      (while :; do
         curl -s -o /dev/null -w '%{http_code} %{size_download}\n' "http://127.0.0.1:$port/metrics" >>"$WORK/scrapes.log"
         sleep "$SCRAPE"
       done) &
      PIDS+=("$!")
      taskset -pc "$BCPU" "$!" >/dev/null
    fi
    bench "$out" "$SCENARIO" --url "http://127.0.0.1:$port/socket.io/" --server-pid "$server_pid" --label "$kind"
    if [ "$SCRAPE" != 0 ] && [ "$kind" = siobroker ]; then
      echo "compare.sh: $(grep -c '^200 ' "$WORK/scrapes.log" || true) scrapes of /metrics answered 200 during the run (last $(tail -1 "$WORK/scrapes.log" | cut -d' ' -f2) bytes)" >&2
    fi
  fi
  stop_all
  [ -s "$out" ] && RESULTS+=("$kind=$out")
done

"$PY" - "$JSON" "$SCENARIO" "${RESULTS[@]}" <<'PY'
import json, os, platform, sys

as_json, scenario, pairs = sys.argv[1] == "1", sys.argv[2], sys.argv[3:]
docs = {}
for p in pairs:
    kind, path = p.split("=", 1)
    try:
        docs[kind] = json.load(open(path))
    except Exception as e:  # a crashed siobench leaves a partial document
        print(f"compare.sh: {kind}: unreadable result ({e})", file=sys.stderr)

def metrics(run):
    m = {"connects/s": run.get("connects_per_s")}
    if run["kind"] == "fanout":
        m.update({"deliveries/s": run["deliveries_per_s"], "p50 ms": run["latency"]["p50_ms"],
                  "p90 ms": run["latency"]["p90_ms"], "p99 ms": run["latency"]["p99_ms"],
                  "max ms": run["latency"]["max_ms"], "lost": run["lost"], "dup": run["dup"]})
    if run["kind"] == "echo":
        m.update({"acks/s": run["acks_per_s"], "rtt p50 ms": run["rtt"]["p50_ms"],
                  "rtt p99 ms": run["rtt"]["p99_ms"]})
    if "server_rss_bytes_per_client" in run:
        m["RSS B/client"] = run["server_rss_bytes_per_client"]
    m["ready"] = run["connected"]
    m["failed"] = run["failed"]
    if not run["valid"]:
        m["incomplete"] = True
    return m

rows = []  # (server, run name, metrics)
for kind, doc in docs.items():
    for run in doc["runs"]:
        rows.append((kind, run["name"], metrics(run)))

# Ratios siobroker / other for every run name both have. "higher is better" except latency/RSS.
lower_better = {"p50 ms", "p90 ms", "p99 ms", "max ms", "rtt p50 ms", "rtt p99 ms", "RSS B/client"}
ratios = []
sio = {name: m for k, name, m in rows if k == "siobroker"}
for kind, name, m in rows:
    if kind == "siobroker" or name not in sio:
        continue
    for key in ("deliveries/s", "acks/s", "connects/s", "p99 ms", "rtt p99 ms", "RSS B/client"):
        a, b = sio[name].get(key), m.get(key)
        if a and b:
            ratios.append({"run": name, "metric": key, "vs": kind, "siobroker": a, kind: b,
                           "ratio": a / b})
# Cluster: cross-node / single-node, balancer / direct (each server).
derived = []
for kind, doc in docs.items():
    by = {r["name"]: r for r in doc["runs"]}
    if "fanout cross-node" in by and "fanout single-node" in by:
        a, b = by["fanout cross-node"]["deliveries_per_s"], by["fanout single-node"]["deliveries_per_s"]
        if b:
            derived.append({"server": kind, "what": "cross-node / single-node deliveries/s", "ratio": a / b})
    if "polling echo balancer" in by and "polling echo direct" in by:
        a, b = by["polling echo balancer"]["rtt"]["p50_ms"], by["polling echo direct"]["rtt"]["p50_ms"]
        if b:
            derived.append({"server": kind, "what": "balancer / direct polling round trip p50", "ratio": a / b})

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
machine = {"nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release()}
if as_json:
    print(json.dumps({"scenario": scenario, "machine": machine, "results": docs, "ratios": ratios,
                      "derived": derived}, indent=1))
    sys.exit(0)

print(f"machine: {machine['nproc']} cores, {cpu}, Linux {machine['kernel']}")
keys = []
for _, _, m in rows:
    for k in m:
        if k not in keys:
            keys.append(k)
def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "-"
    if isinstance(v, float):
        return f"{v:.2f}" if abs(v) < 100 else f"{v:.0f}"
    return str(v)
w = [max(len("server"), *(len(k) for k, _, _ in rows))] if rows else [6]
wn = max([len("run")] + [len(n) for _, n, _ in rows])
print(f"{'server':<{w[0]}}  {'run':<{wn}}  " + "  ".join(f"{k:>12}" for k in keys))
for kind, name, m in rows:
    print(f"{kind:<{w[0]}}  {name:<{wn}}  " + "  ".join(f"{fmt(m.get(k)):>12}" for k in keys))
if ratios:
    print()
    print("siobroker / other (higher is better for rates; lower is better for latency and RSS):")
    for r in ratios:
        print(f"  {r['run']:<{wn}}  {r['metric']:<13} vs {r['vs']:<7} {r['ratio']:8.2f}")
for d in derived:
    print(f"  {d['server']}: {d['what']}: {d['ratio']:.2f}")
PY
