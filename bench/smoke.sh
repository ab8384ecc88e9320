#!/usr/bin/env bash
# smoke: siobench against a real siobroker on a free 127.0.0.1 port, one run per scenario kind
# (connect, idle, fanout, echo, polling, and polling then upgrade) with a few dozen clients; the
# WebSocket runs use the raw client (--ws-impl raw, the default), and fanout / echo run once more
# with libwebsockets' client. Functional only: every client
# connects, no delivery is lost or duplicated, every echo is acked. No timing assertion.
#
# Usage: smoke.sh BIN_DIR   (ctest bench.siobench_smoke)
set -euo pipefail
bin=${1:?usage: smoke.sh BIN_DIR}
py=/usr/bin/python3
[ -x "$py" ] || py=python3
work=$(mktemp -d)
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin/siobroker" --listen "127.0.0.1:$port" --namespace /:rooms --log-level warn >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
    if "$py" -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null; then
        break
    fi
    sleep 0.05
done

url="http://127.0.0.1:$port/socket.io/"
run() { # NAME ARGS...: runs siobench --json, then checks its document
    local name=$1
    shift
    echo "== siobench $*"
    if ! timeout 20 "$bin/siobench" "$@" --url "$url" --json --timeout 10 >"$work/$name.json"; then
        echo "siobench $* failed (exit $?)"
        cat "$work/$name.json"
        cat "$work/server.log"
        exit 1
    fi
    "$py" - "$work/$name.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["ws_impl"] in ("raw", "lws"), doc
for r in doc["runs"]:
    print(json.dumps({k: r.get(k) for k in ("name", "clients", "connected", "failed", "expected",
                                            "delivered", "lost", "dup", "acks")}))
    assert r["valid"], r
    assert r["connected"] == r["clients"] and r["failed"] == 0, r
    if r["kind"] == "fanout":
        assert r["expected"] == r["clients"] * r["events"], r
        assert r["delivered"] == r["expected"] and r["lost"] == 0 and r["dup"] == 0, r
        assert r["latency"]["count"] == r["delivered"], r
    if r["kind"] == "echo":
        assert r["acks"] > 0 and r["rtt"]["count"] == r["acks"], r
    if r["kind"] == "idle":
        assert r["server_rss_after_kb"] > 0, r
PY
}

run connect connect --clients 40 --ws-impl raw
run idle idle --clients 30 --settle 0.2 --server-pid "$server_pid"
run fanout fanout --clients 40 --events 25 --size 64 --window 4 --ws-impl raw
run fanout2 fanout --clients 30 --events 10 --rate 200 --sources 2
run fanout3 fanout --clients 20 --events 10 --size 70000 --window 2 --ws-impl raw
run echo echo --clients 30 --duration 0.5 --ws-impl raw
run lfanout fanout --clients 30 --events 10 --size 64 --window 4 --ws-impl lws
run lecho echo --clients 20 --duration 0.5 --ws-impl lws
run polling polling --clients 30 --events 15
run pecho echo --transport polling --clients 20 --duration 0.5
run uconnect connect --transport upgrade --clients 30
run ufanout fanout --transport upgrade --clients 20 --events 15
kill -0 "$server_pid" # the server survived
echo "smoke: ok"
