#!/usr/bin/env bash
# check-format: fail if any C source or header differs from .clang-format (--fix rewrites them).
#
# Usage: check-format.sh [--fix] [SOURCE_ROOT]
# Files: every *.c / *.h tracked by git, plus those present under the source dirs below, minus
# build dirs, node_modules and the shell globs listed in .clang-format-ignore (if present).
# Exit: 0 clean, 1 unformatted files (listed), 1 also when clang-format is missing.
set -euo pipefail

fix=0
if [ "${1:-}" = "--fix" ]; then
    fix=1
    shift
fi
root=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$root"

source_dirs=(util engineio socketio broker examples tests tools bench adapter-redis)

cf=${CLANG_FORMAT:-}
if [ -z "$cf" ] || ! command -v "$cf" >/dev/null 2>&1; then
    cf=$(command -v clang-format-14 || command -v clang-format || true)
fi
if [ -z "$cf" ]; then
    echo "check-format: clang-format not found (apt-get install clang-format); skipping" >&2
    exit 1
fi

# Collect candidates (NUL-separated, so any file name works).
list=$(mktemp)
trap 'rm -f "$list"' EXIT
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z --cached -- '*.c' '*.h' >>"$list"
fi
existing=()
for d in "${source_dirs[@]}"; do
    if [ -d "$d" ]; then existing+=("$d"); fi
done
if [ ${#existing[@]} -gt 0 ]; then
    find "${existing[@]}" \( -name 'build*' -o -name node_modules -o -name '.*' \) -prune \
        -o -type f \( -name '*.c' -o -name '*.h' \) -print0 >>"$list"
fi

ignore=()
if [ -f .clang-format-ignore ]; then
    while IFS= read -r pat || [ -n "$pat" ]; do
        case "$pat" in '' | '#'*) continue ;; esac
        ignore+=("$pat")
    done <.clang-format-ignore
fi

files=()
while IFS= read -r -d '' f; do
    f=${f#./}
    case "$f" in build*/* | */build*/* | node_modules/* | */node_modules/*) continue ;; esac
    [ -f "$f" ] || continue # tracked but deleted in the work tree
    skip=0
    for pat in "${ignore[@]+"${ignore[@]}"}"; do
        # shellcheck disable=SC2053 # pat is a glob on purpose
        if [[ $f == $pat ]]; then
            skip=1
            break
        fi
    done
    if [ "$skip" = 0 ]; then files+=("$f"); fi
done < <(sort -zu "$list")

if [ ${#files[@]} -eq 0 ]; then
    echo "check-format: no C files found under $root"
    exit 0
fi

if [ "$fix" = 1 ]; then
    printf '%s\0' "${files[@]}" | xargs -0 "$cf" -i
    echo "check-format: formatted ${#files[@]} files with $("$cf" --version)"
    exit 0
fi

bad=()
for f in "${files[@]}"; do
    if ! "$cf" --dry-run -Werror "$f" >/dev/null 2>&1; then bad+=("$f"); fi
done

if [ ${#bad[@]} -gt 0 ]; then
    echo "check-format: ${#bad[@]} of ${#files[@]} files are not clang-formatted:"
    printf '  %s\n' "${bad[@]}"
    echo "First differences:"
    for f in "${bad[@]:0:5}"; do
        "$cf" "$f" | diff -u --label "$f" --label "$f (formatted)" "$f" - | head -n 30 || true
    done
    echo "Fix with: make format   (uses $("$cf" --version | head -n 1))"
    exit 1
fi
echo "check-format: ${#files[@]} files clean"
