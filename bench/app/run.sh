#!/usr/bin/env bash
# bench/app/run.sh: the app bridge's cost and throughput (docs/app-bridge.md). Not a ctest.
#
#   bench/app/run.sh [CLIENTS=32] [SECONDS=10] [WORKERS=4]
#
# A trivial acking handler (event "ping" -> ack(x)) measured closed-loop by CLIENTS socket.io
# clients (bench/app/load.mjs, one ack outstanding each) for SECONDS after a 2 s warm-up:
#   1. node + Django: siobroker --namespace /bench:app -> gunicorn (WORKERS sync workers), the
#      consumer in bench/app/benchproj; --app-concurrency WORKERS, batches of up to 32 and of 1;
#   2. python-socketio: the same handler in-process (python3-socketio on aiohttp, one process);
#   3. the Django view alone: the same signed call POSTed straight to gunicorn by WORKERS HTTP
#      clients (the concurrency the node uses towards Django: what the bridge adds is 1. with
#      batch 1 against this) and by CLIENTS HTTP clients.
# Everything runs on this machine's cores together (load generator included). Prints a table.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
CLIENTS=${1:-32}
SECS=${2:-10}
WORKERS=${3:-4}
BIN=${SIO_BIN_DIR:-$root/build/bin}
PY=/usr/bin/python3
SECRET=bench-app-secret-0123456789
export NODE_PATH=$root/node_modules PYTHONDONTWRITEBYTECODE=1
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done; echo "no answer from $1" >&2; exit 1; }

DJ=$(port)
PYTHONPATH=$root/clients/python:$here SIO_APP_SECRET=$SECRET \
    gunicorn --bind 127.0.0.1:$DJ --workers "$WORKERS" --chdir "$here" --log-level warning benchproj.wsgi &
pids+=($!)
wait_http "http://127.0.0.1:$DJ/socket.io-app/"

results=()
for batch in 32 1; do
    NP=$(port)
    SIO_APP_SECRET=$SECRET "$BIN/siobroker" --listen 127.0.0.1:$NP --namespace /bench:app \
        --app-url "http://127.0.0.1:$DJ/socket.io-app/" --app-concurrency "$WORKERS" \
        --app-batch "$batch" --log-level warn &
    npid=$!
    pids+=($npid)
    wait_http "http://127.0.0.1:$NP/healthz"
    r=$(node "$here/load.mjs" sio "http://127.0.0.1:$NP" /bench "$CLIENTS" "$SECS")
    results+=("node + Django (gunicorn x$WORKERS, batch $batch)|$r")
    kill $npid; wait $npid 2>/dev/null || true
done

for c in "$WORKERS" "$CLIENTS"; do
    r=$(node "$here/load.mjs" http "http://127.0.0.1:$DJ/socket.io-app/" "$SECRET" "$c" "$SECS")
    results+=("Django view alone, $c HTTP clients (gunicorn x$WORKERS)|$r")
done

PP=$(port)
$PY "$here/pysio_server.py" "$PP" &
pids+=($!)
wait_http "http://127.0.0.1:$PP/socket.io/?EIO=4&transport=polling"
r=$(node "$here/load.mjs" sio "http://127.0.0.1:$PP" /bench "$CLIENTS" "$SECS")
results+=("python-socketio (aiohttp, one process)|$r")

printf '\n%-48s %10s %9s %9s\n' "setup ($CLIENTS clients, ${SECS}s, $(nproc) cores)" "acks/s" "p50 ms" "p99 ms"
for line in "${results[@]}"; do
    name=${line%%|*}
    json=${line#*|}
    $PY -c 'import json,sys; r=json.loads(sys.argv[2]); print("%-48s %10d %9.2f %9.2f" % (sys.argv[1], r["acks_per_s"], r["p50_ms"], r["p99_ms"]))' "$name" "$json"
done
