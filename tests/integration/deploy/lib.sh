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
