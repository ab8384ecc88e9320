#!/usr/bin/env bash
# shellcheck disable=SC2015  # "A && B || fail": fail when either check fails, as intended
# integration.deploy.haproxy_config: deploy/haproxy/haproxy.cfg is valid with and without its
# variables, has no stickiness, and HAProxy running it spreads requests round-robin over three
# siobroker nodes (single nodes on free 127.0.0.1 ports; everything is stopped by PID).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_tool haproxy haproxy
need_tool curl curl
need_tool python3 python3
siobroker=$SIO_BIN_DIR/siobroker
[[ -x $siobroker ]] || fail "$siobroker not found: build first (make build)"

cfg=deploy/haproxy/haproxy.cfg
[[ -f $cfg ]] || fail "$cfg not found"

# ---- static checks -------------------------------------------------------------------------------
# Comments aside: round-robin, no stickiness of any kind, tunnel + long-poll timeouts, /readyz checks.
body=$(sed -e 's/#.*//' "$cfg")
grep -Eq "^\s*balance\s+roundrobin\s*$" <<<"$body" || fail "$cfg: no 'balance roundrobin'"
if grep -Eiq "^\s*(cookie|stick|stick-table|appsession|balance\s+(source|uri|hdr|url_param|rdp-cookie))\b" <<<"$body" ||
    grep -Eq "\scookie\s" <<<"$body"; then
    fail "$cfg: stickiness found"
fi
grep -Eq "^\s*timeout\s+tunnel\s+1h\s*$" <<<"$body" || fail "$cfg: no 'timeout tunnel 1h'"
for t in client server; do
    v=$(sed -nE "s/^\s*timeout\s+$t\s+([0-9]+)s\s*$/\1/p" <<<"$body")
    [[ -n $v && $v -ge 60 ]] || fail "$cfg: timeout $t must be >= 60s (long polls wait 25 s)"
done
grep -Eq "^\s*option\s+httpchk" <<<"$body" && grep -q "/readyz" <<<"$body" ||
    fail "$cfg: no HTTP health check on /readyz"
ok "$cfg: roundrobin, no stickiness, timeout tunnel 1h, client/server >= 60s, checks /readyz"

# ---- haproxy -c ------------------------------------------------------------------------------------
# Without the variables: the compose defaults (node1:8080...; unresolvable here, which init-addr
# tolerates). With them: local addresses.
(unset SIO_NODE1 SIO_NODE2 SIO_NODE3 SIO_HAPROXY_BIND; haproxy -c -q -f "$cfg") ||
    fail "haproxy -c -f $cfg (default variables)"
ok "haproxy -c (default variables)"

read -r p0 p1 p2 p3 < <(python3 - <<'PY'
import socket
socks = []
for _ in range(4):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(*[s.getsockname()[1] for s in socks])
PY
)
export SIO_HAPROXY_BIND=127.0.0.1:$p0 SIO_NODE1=127.0.0.1:$p1 SIO_NODE2=127.0.0.1:$p2 SIO_NODE3=127.0.0.1:$p3
haproxy -c -q -f "$cfg" || fail "haproxy -c -f $cfg (SIO_NODE1..3, SIO_HAPROXY_BIND set)"
ok "haproxy -c (SIO_NODE1..3 and SIO_HAPROXY_BIND set)"

# ---- live: three nodes behind HAProxy ------------------------------------------------------------
work=$(mktemp -d)
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ ${keep_logs:-0} == 1 ]]; then
        for f in "$work"/*.log; do echo "---- $f"; cat "$f"; done
    fi
    rm -rf "$work"
}
trap cleanup EXIT
keep_logs=1 # until the end: a failure shows every log

ports=("$p1" "$p2" "$p3")
for i in 1 2 3; do
    "$siobroker" --listen "127.0.0.1:${ports[i - 1]}" --log-level debug >"$work/node$i.log" 2>&1 &
    pids+=($!)
done

# wait_http URL PID: bounded (10 s) wait for a 200 from URL, served by process PID.
wait_http() {
    local i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$2" 2>/dev/null || fail "process $2 exited before $1 answered"
        if curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    fail "no 200 from $1 within 10 s"
}
for i in 1 2 3; do wait_http "http://127.0.0.1:${ports[i - 1]}/healthz" "${pids[i - 1]}"; done
ok "three siobroker nodes up on 127.0.0.1:$p1, :$p2, :$p3"

haproxy -db -f "$cfg" >"$work/haproxy.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$p0/readyz" "${pids[3]}"
ok "haproxy up on 127.0.0.1:$p0"

# From here on, only the 6 requests below reach the nodes' /healthz (HAProxy checks /readyz).
hap_mark=$(wc -l <"$work/haproxy.log")
declare -A node_mark
for i in 1 2 3; do node_mark[$i]=$(grep -c "GET /healthz" "$work/node$i.log" || true); done

for ((r = 1; r <= 6; r++)); do
    code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$p0/healthz") ||
        fail "request $r through haproxy failed"
    [[ $code == 200 ]] || fail "request $r through haproxy: HTTP $code"
done
sleep 0.3 # let the logs be written

served=$(tail -n +"$((hap_mark + 1))" "$work/haproxy.log" | grep '"GET /healthz ' || true)
[[ $(grep -c . <<<"$served") -eq 6 ]] || fail "haproxy logged $(grep -c . <<<"$served") of the 6 requests"
for i in 1 2 3; do
    by_hap=$(grep -c " siobroker/node$i " <<<"$served" || true)
    by_node=$(($(grep -c "GET /healthz" "$work/node$i.log" || true) - node_mark[$i]))
    [[ $by_hap -ge 1 ]] || fail "haproxy sent none of the 6 requests to node$i"
    [[ $by_node -ge 1 ]] || fail "node$i logged none of the 6 requests"
    echo "# node$i: $by_hap request(s) per haproxy's log, $by_node per its own"
done
ok "6 GET /healthz through haproxy: every node served some (round-robin, no stickiness)"

# An Engine.IO handshake passes through too (and /socket.io/ reaches a node).
hs=$(curl -fsS --max-time 5 "http://127.0.0.1:$p0/socket.io/?EIO=4&transport=polling") ||
    fail "Engine.IO handshake through haproxy failed"
[[ $hs == 0\{\"sid\":* ]] || fail "Engine.IO handshake through haproxy: unexpected answer '$hs'"
ok "Engine.IO polling handshake through haproxy"

keep_logs=0
done_checks
