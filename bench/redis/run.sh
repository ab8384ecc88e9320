#!/usr/bin/env bash
# Cross-node broadcast through Redis: N clients on node B, one publisher on node A, all in room
# "bench"; the publisher emits M events, every client must receive each once. Measured for
# siobroker across two nodes, siobroker with publisher and clients on one node (the baseline
# without the cross-node hop), and the same two with Node's socket.io + @socket.io/redis-adapter
# (bench/redis/node_server.mjs). A benchmark, not a test: not registered in ctest.
#
# usage: bench/redis/run.sh [--clients N] [--events M] [--size BYTES] [--rate R] [--window W]
#                           [--warmup K] [--timeout S] [--only siobroker|node] [--json] [--keep-logs]
#   --clients N   subscribers on node B (default 1000)
#   --events M    events the publisher emits (default 2000)
#   --size BYTES  padding in each event's payload (default 100)
#   --rate R      pace the publisher at R events/s (default 0: emitWithAck, W outstanding)
#   --window W    outstanding acks when not paced (default 16)
#   --warmup K    unmeasured warm-up events (default 20)
#   --timeout S   bound of each measured phase, from the first send (default 60)
#   --only KIND   run only the siobroker or only the node scenarios
#   --json        print one JSON document instead of the table
#   --keep-logs   keep the server logs (their directory is printed)
# Every process is started on a free 127.0.0.1 port and stopped by PID; Ctrl-C cleans up.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${SIO_BIN_DIR:-$ROOT/build/bin}
NODE=${NODE:-node}
REDIS_SERVER=${REDIS_SERVER:-redis-server}

CLIENTS=1000 EVENTS=2000 SIZE=100 RATE=0 WINDOW=16 WARMUP=20 TIMEOUT=60 ONLY=all JSON=0 KEEP=0
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit "${1:-2}"; }
while (($#)); do
  case $1 in
    --clients) CLIENTS=${2:?}; shift 2 ;;
    --events) EVENTS=${2:?}; shift 2 ;;
    --size) SIZE=${2:?}; shift 2 ;;
    --rate) RATE=${2:?}; shift 2 ;;
    --window) WINDOW=${2:?}; shift 2 ;;
    --warmup) WARMUP=${2:?}; shift 2 ;;
    --timeout) TIMEOUT=${2:?}; shift 2 ;;
    --only) ONLY=${2:?}; shift 2 ;;
    --json) JSON=1; shift ;;
    --keep-logs) KEEP=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; usage ;;
  esac
done
for v in CLIENTS EVENTS SIZE RATE WINDOW WARMUP TIMEOUT; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "run.sh: --${v,,} needs a non-negative integer" >&2; exit 2; }
done
[[ $ONLY =~ ^(all|siobroker|node)$ ]] || { echo "run.sh: --only siobroker|node" >&2; exit 2; }
[[ -x $BIN/siobroker ]] || { echo "run.sh: $BIN/siobroker missing: cmake --build $ROOT/build -j2" >&2; exit 2; }
command -v "$REDIS_SERVER" >/dev/null || { echo "run.sh: redis-server not found" >&2; exit 2; }

# One descriptor per client in the load process and in the server: lift the soft limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (( $(ulimit -n) < CLIENTS + 200 )); then
  echo "run.sh: warning: fd limit $(ulimit -n) is low for $CLIENTS clients" >&2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/siobench-redis.XXXXXX")
PIDS=()          # every process we started, stopped by PID in cleanup
log() { echo "run.sh: $*" >&2; }

stop_pid() {     # stop_pid PID: SIGTERM, wait up to 5 s, then SIGKILL
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  log "pid $pid ignored SIGTERM for 5 s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if ((KEEP)); then log "logs kept in $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'log interrupted; exit 130' INT TERM

free_port() {
  "$NODE" -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# wait_for PID FILE NEEDLE SECONDS: until FILE contains NEEDLE; fails if PID exits or time runs out.
wait_for() {
  local pid=$1 file=$2 needle=$3 secs=$4 i
  for ((i = 0; i < secs * 20; i++)); do
    grep -q -- "$needle" "$file" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { log "pid $pid exited while waiting for '$needle' in $file:"; tail -n 20 "$file" >&2; return 1; }
    sleep 0.05
  done
  log "timed out after $secs s waiting for '$needle' in $file:"; tail -n 20 "$file" >&2
  return 1
}

# start_redis: sets REDIS_PID and REDIS_URL (retries when the free port was taken meanwhile).
start_redis() {
  local port attempt i
  for attempt in 1 2 3; do
    port=$(free_port)
    "$REDIS_SERVER" --port "$port" --bind 127.0.0.1 --save '' --appendonly no --loglevel warning \
      --logfile '' >"$WORK/redis-$SCEN.log" 2>&1 &
    REDIS_PID=$!; PIDS+=("$REDIS_PID")
    for ((i = 0; i < 100; i++)); do
      redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && { REDIS_URL=redis://127.0.0.1:$port; return 0; }
      kill -0 "$REDIS_PID" 2>/dev/null || break
      sleep 0.05
    done
    stop_pid "$REDIS_PID"
  done
  log "redis-server did not start:"; cat "$WORK/redis-$SCEN.log" >&2; return 1
}

# start_node KIND NAME: KIND siobroker|node; sets NODE_PID_<NAME> and URL_<NAME>.
start_node() {
  local kind=$1 name=$2 port attempt pid logf=$WORK/$SCEN-$2.log
  for attempt in 1 2 3; do
    port=$(free_port)
    if [[ $kind == siobroker ]]; then
      # "cluster ready" is an info line: at --log-level warn nothing would say the node is ready.
      # At info the node logs only per-connection lines (during the connect phase), none per event.
      SIO_CLUSTER_SECRET=bench-cluster-secret-0123456789 \
        "$BIN/siobroker" --listen "127.0.0.1:$port" --redis "$REDIS_URL" --namespace /:rooms \
        --log-level info 2>"$logf" >&2 &
    else
      "$NODE" "$HERE/node_server.mjs" --port "$port" --redis "$REDIS_URL" 2>"$logf" >&2 &
    fi
    pid=$!; PIDS+=("$pid")
    if wait_for "$pid" "$logf" "cluster ready" 10; then
      printf -v "PID_$name" %s "$pid"; printf -v "URL_$name" %s "http://127.0.0.1:$port"
      return 0
    fi
    stop_pid "$pid"
    grep -qi "in use" "$logf" || return 1
  done
  return 1
}

# Stops this scenario's processes; notes any that died before being asked to (a crash).
stop_scenario() {
  local name pid st
  for name in A B; do
    pid=PID_$name; pid=${!pid}
    if ! kill -0 "$pid" 2>/dev/null; then
      st=0; wait "$pid" 2>/dev/null || st=$?
      log "!! $SCEN: node $name (pid $pid) died during the run, exit status $st; log tail:"
      tail -n 30 "$WORK/$SCEN-$name.log" >&2
      CRASHED+=("$SCEN node $name exit $st")
    else
      stop_pid "$pid"; st=0; wait "$pid" 2>/dev/null || st=$?
      ((st == 0)) || { log "!! $SCEN: node $name exited with status $st after SIGTERM"; CRASHED+=("$SCEN node $name stop-exit $st"); }
    fi
    if grep -Eq ' (warn|error) ' "$WORK/$SCEN-$name.log"; then
      log "$SCEN: node $name logged warnings/errors:"; grep -E ' (warn|error) ' "$WORK/$SCEN-$name.log" | head -n 10 >&2
    fi
  done
  stop_pid "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null || true
}

RESULTS=()
CRASHED=()
# scenario KIND LABEL PUB SUB: PUB/SUB are A or B.
scenario() {
  local kind=$1 label=$2 pubn=$3 subn=$4 out lpid st bound i
  SCEN=${kind}-${pubn}${subn}
  out=$WORK/$SCEN.json
  start_redis
  start_node "$kind" A
  start_node "$kind" B
  local pu=URL_$pubn su=URL_$subn
  log "$label: publisher on $pubn ${!pu}, $CLIENTS clients on $subn ${!su}"
  "$NODE" "$HERE/cross_node.mjs" --label "$label" --pub "${!pu}" --sub "${!su}" \
    --clients "$CLIENTS" --events "$EVENTS" --size "$SIZE" --rate "$RATE" --window "$WINDOW" \
    --warmup "$WARMUP" --timeout "$TIMEOUT" --out "$out" \
    --pids "node_A=$PID_A,node_B=$PID_B,redis=$REDIS_PID" &
  lpid=$!; PIDS+=("$lpid")
  # Bound: connect phase + warm-up + measured phase + drain.
  bound=$((TIMEOUT + 120 + CLIENTS / 10))
  for ((i = 0; i < bound * 10; i++)); do kill -0 "$lpid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$lpid" 2>/dev/null; then log "!! $label: load process still running after $bound s: stopping it"; stop_pid "$lpid"; fi
  st=0; wait "$lpid" || st=$?
  stop_scenario
  if ((st == 0)) && [[ -s $out ]]; then RESULTS+=("$out"); else log "!! $label: load process failed (status $st)"; FAILED=1; fi
}

FAILED=0
if [[ $ONLY != node ]]; then
  scenario siobroker "siobroker cross-node" A B
  scenario siobroker "siobroker single-node" B B
fi
if [[ $ONLY != siobroker ]]; then
  scenario node "node cross-node" A B
  scenario node "node single-node" B B
fi

CMD="bench/redis/run.sh --clients $CLIENTS --events $EVENTS --size $SIZE --rate $RATE --window $WINDOW --warmup $WARMUP"
REPORT_ARGS=(--report "${RESULTS[@]}" --command "$CMD")
((JSON)) && REPORT_ARGS+=(--json)
((${#RESULTS[@]})) && "$NODE" "$HERE/cross_node.mjs" "${REPORT_ARGS[@]}"
if ((${#CRASHED[@]})); then log "!! server processes that died or exited badly: ${CRASHED[*]}"; FAILED=1; fi
exit "$FAILED"
