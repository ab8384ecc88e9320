#!/usr/bin/env bash
# shellcheck disable=SC2015  # "A && B || fail": fail when either check fails, as intended
# integration.deploy.compose_config: docker-compose.yml is valid and describes the demo cluster.
# Offline: `docker-compose config` needs no Docker engine.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_tool docker-compose docker-compose

# Variables of the caller's environment must not change what is checked.
unset SIO_CLUSTER_SECRET COMPOSE_FILE COMPOSE_PROJECT_NAME

docker-compose -f docker-compose.yml config -q || fail "docker-compose -f docker-compose.yml config -q"
ok "docker-compose -f docker-compose.yml config -q"

cfg=$(docker-compose -f docker-compose.yml config) || fail "docker-compose config"
services=$(docker-compose -f docker-compose.yml config --services | sort | tr '\n' ' ')
[[ $services == "haproxy node1 node2 node3 prometheus redis " ]] || fail "services: '$services'"
ok "services: $services"

for n in 1 2 3; do
    grep -A8 "^  node$n:" <<<"$cfg" >/dev/null || fail "node$n missing"
    # The node's command: its own id and advertised address, and the shared Redis.
    block=$(awk -v s="  node$n:" '$0 == s {on=1; next} on && /^  [a-z]/ {on=0} on' <<<"$cfg")
    grep -qx -- "    - --node-id" <<<"$block" && grep -qx -- "    - node$n" <<<"$block" ||
        fail "node$n: no --node-id node$n"
    grep -qx -- "    - node$n:8080" <<<"$block" || fail "node$n: no --advertise node$n:8080"
    grep -qx -- "    - redis://redis:6379" <<<"$block" || fail "node$n: no --redis redis://redis:6379"
    grep -q "http://127.0.0.1:8080/readyz" <<<"$block" || fail "node$n: no healthcheck on /readyz"
done
ok "node1..3: distinct --node-id / --advertise, --redis redis://redis:6379, healthcheck on /readyz"

grep -q "haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" <<<"$cfg" ||
    fail "haproxy: deploy/haproxy/haproxy.cfg is not mounted read-only"
grep -A2 "^    ports:" <<<"$cfg" | grep -q "published: 8080" || fail "haproxy: 8080 not published"
ok "haproxy: haproxy.cfg mounted read-only, 8080 published"

# The optional Prometheus (profile "monitoring") scrapes the three nodes' /metrics.
prom=$(awk '$0 == "  prometheus:" {on=1; next} on && /^  [a-z]/ {on=0} on' <<<"$cfg")
grep -A1 "^    profiles:" <<<"$prom" | grep -qx -- "    - monitoring" || fail "prometheus: not in the monitoring profile"
grep -q "deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" <<<"$prom" ||
    fail "prometheus: deploy/prometheus/prometheus.yml is not mounted read-only"
grep -A2 "^    ports:" <<<"$prom" | grep -q "published: 9090" || fail "prometheus: 9090 not published"
if command -v promtool >/dev/null 2>&1; then
    promtool check config deploy/prometheus/prometheus.yml >/dev/null || fail "promtool check config"
else
    fail "promtool not found (apt-get install prometheus)"
fi
for n in 1 2 3; do
    grep -q "node$n:8080" deploy/prometheus/prometheus.yml || fail "prometheus.yml: node$n not scraped"
done
ok "prometheus: profile monitoring, its config mounted read-only and valid (promtool), 9090 published"

# The cluster secret: the demo default, or the caller's SIO_CLUSTER_SECRET.
grep -q "SIO_CLUSTER_SECRET: siobroker-demo-secret-change-me" <<<"$cfg" ||
    fail "the demo default of SIO_CLUSTER_SECRET is not applied"
SIO_CLUSTER_SECRET=from-the-environment docker-compose -f docker-compose.yml config |
    grep -c "SIO_CLUSTER_SECRET: from-the-environment" | grep -qx 3 ||
    fail "SIO_CLUSTER_SECRET from the environment does not reach the three nodes"
ok "SIO_CLUSTER_SECRET: demo default, overridden by the environment"

# examples/django_chat/docker-compose.yml: Django plus the nodes with the app policy.
ex=examples/django_chat/docker-compose.yml
docker-compose -f "$ex" config -q || fail "docker-compose -f $ex config -q"
excfg=$(docker-compose -f "$ex" config) || fail "docker-compose -f $ex config"
[[ $(docker-compose -f "$ex" config --services | sort | tr '\n' ' ') == "django haproxy node1 node2 node3 redis " ]] ||
    fail "$ex: services"
[[ $(grep -c "SIO_NAMESPACES: /chat:app" <<<"$excfg") == 3 ]] || fail "$ex: /chat:app on three nodes"
[[ $(grep -c "SIO_APP_URL: http://django:8000/socket.io-app/" <<<"$excfg") == 3 ]] ||
    fail "$ex: --app-url on three nodes"
[[ $(grep -c "SIO_APP_SECRET: django-chat-demo-secret-change-me" <<<"$excfg") == 4 ]] ||
    fail "$ex: one app secret for Django and the nodes"
ok "$ex: Django + three nodes with /chat:app, one app secret"

done_checks
