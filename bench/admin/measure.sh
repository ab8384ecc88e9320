#!/usr/bin/env bash
# measure: what the admin UI costs at scale, and what a /metrics scrape costs. Starts siobroker
# with --admin --admin-no-auth pinned to core 0, a UI stand-in (ui_load.mjs) from the start, then
# N idle clients (siobench idle, each joins one room, core 1); once they are connected: a second UI
# login (the size of all_sockets), and 100 scrapes of /metrics back to back (server CPU per scrape
# from /proc). A benchmark, not a test. usage: bench/admin/measure.sh [N] (default 10000)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${SIO_BIN_DIR:-$ROOT/build/bin}
N=${1:-10000}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/siobroker-admin.XXXXXX")
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ulimit -n "$(ulimit -Hn)"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

taskset -c 0 "$BIN/siobroker" --listen "127.0.0.1:$PORT" --admin --admin-no-auth --log-level warn \
  >"$WORK/server.log" 2>&1 &
SPID=$!
PIDS+=("$SPID")
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done

NODE_PATH="$ROOT/node_modules" node "$HERE/ui_load.mjs" --url "http://127.0.0.1:$PORT" --seconds 40 \
  >"$WORK/ui1.json" &
UPID=$!
PIDS+=("$UPID")
sleep 1
taskset -c 1 "$BIN/siobench" idle --url "http://127.0.0.1:$PORT/socket.io/" --clients "$N" \
  --settle 30 --server-pid "$SPID" >"$WORK/idle.txt" 2>&1 &
BPID=$!
PIDS+=("$BPID")
for _ in $(seq 600); do
  n=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^siobroker_socketio_sockets\{namespace="\/"\}/ {print $2}')
  [ "${n:-0}" -ge "$N" ] && break
  sleep 0.1
done
echo "connected: $n sockets on /"

NODE_PATH="$ROOT/node_modules" node "$HERE/ui_load.mjs" --url "http://127.0.0.1:$PORT" --seconds 5 >"$WORK/ui2.json"

cpu() { awk '{print $14 + $15}' "/proc/$SPID/stat"; }
TCK=$(getconf CLK_TCK)
c0=$(cpu)
t0=$(date +%s%N)
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/metrics"; done
t1=$(date +%s%N)
c1=$(cpu)
echo "100 scrapes at $n sockets: $(( (t1 - t0) / 100000000 )) ms wall each (curl included), server CPU $(( (c1 - c0) * 1000 / TCK / 100 )).$(( (c1 - c0) * 10000 / TCK / 100 % 10 )) ms each ($(curl -s "http://127.0.0.1:$PORT/metrics" | wc -c) bytes)"
curl -s "http://127.0.0.1:$PORT/metrics" | grep '^siobroker_admin' || true
wait "$UPID" || true
echo "--- the UI connected from the start (connections of $N clients, then idle):"
python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
print("bytes total %d, avg %d B/s, max %d B/s, sockets held %d" % (d["bytes_total"], d["bytes_per_s_avg"], d["bytes_per_s_max"], d["sockets_held"]))
print("per second:", d["per_second"])
for k,v in sorted(d["by_type"].items()): print("  %-20s %6d events %9d bytes" % (k, v["count"], v["bytes"]))
' "$WORK/ui1.json"
echo "--- a UI logging in with $N sockets connected:"
python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
print("all_sockets:", d["all_sockets"], "bytes in 5 s:", d["bytes_total"])
' "$WORK/ui2.json"
wait "$BPID" || true
grep -E "RSS|clients" "$WORK/idle.txt" | head -5 || true
rm -rf "$WORK"
