# shellcheck shell=bash
# Shared shell helpers for scripts/run and scripts/test. Source it; do not run it.
#
# Sets HAVEN_ROOT (the repository root, found from this file's location) and offers:
#   haven_say MSG...             one calm status line on stderr
#   haven_die MSG...             print and exit 1
#   haven_as_root CMD...         run CMD as root (directly, or through sudo)
#   haven_ensure_packages PKG... install the Debian packages that are missing
#   haven_pg_bindir              print the PostgreSQL server bin directory
#   haven_find_havend DIR        print the havend binary inside build dir DIR
# Nothing here prints secrets: database URLs are never echoed.

HAVEN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
export HAVEN_ROOT

# Packages needed to build and run havend.
# shellcheck disable=SC2034 # used by the scripts that source this file
HAVEN_BUILD_PACKAGES=(
    gcc meson ninja-build pkg-config python3
    libwebsockets-dev libwebsockets-evlib-uv libuv1-dev libjansson-dev libpq-dev libsodium-dev
    postgresql-15
)
# Extra packages for the test suite. libclang-rt-dev holds clang's sanitizer runtimes (clang
# only recommends it). python3-prometheus-client parses /metrics (test_ops_*.py). Left out on
# purpose, their tests skip without them: systemd-analyze (package systemd, there on any
# Debian host that boots with it) and promtool (package prometheus, whose server would start).
# shellcheck disable=SC2034
HAVEN_TEST_PACKAGES=(
    python3-websockets python3-jsonschema python3-psycopg2 python3-pytest python3-icalendar
    python3-cryptography
    python3-prometheus-client python3-yaml
    clang libclang-rt-dev valgrind
    nginx
)

haven_say() {
    printf 'haven: %s\n' "$*" >&2
}

haven_die() {
    printf 'haven: error: %s\n' "$*" >&2
    exit 1
}

haven_as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        haven_die "need root to run '$*' and sudo is not installed"
    fi
}

# Run an apt-get command, waiting for a dpkg/apt lock held by another apt process
# (for example unattended-upgrades) instead of failing at once.
haven__apt() {
    local tries=0
    while true; do
        if haven_as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3 "$@"; then
            return 0
        fi
        tries=$((tries + 1))
        if [ "$tries" -ge 5 ]; then
            return 1
        fi
        haven_say "apt-get $1 failed (perhaps another apt holds the lock); retrying in 10 s"
        sleep 10
    done
}

haven_ensure_packages() {
    local missing=() pkg status
    for pkg in "$@"; do
        status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)"
        case "$status" in
            ii*) ;;
            *) missing+=("$pkg") ;;
        esac
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        return 0
    fi
    haven_say "installing missing Debian packages: ${missing[*]}"
    haven__apt update -q || haven_die "apt-get update failed"
    haven__apt install -y -q --no-install-recommends "${missing[@]}" ||
        haven_die "apt-get install failed"
}

haven_pg_bindir() {
    local dir
    if [ -n "${HAVEN_PG_BINDIR:-}" ]; then
        printf '%s\n' "$HAVEN_PG_BINDIR"
        return 0
    fi
    if [ -x /usr/lib/postgresql/15/bin/initdb ]; then
        printf '%s\n' /usr/lib/postgresql/15/bin
        return 0
    fi
    # Any other installed major version, newest first.
    dir="$(printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -rV | head -n 1)"
    if [ -x "$dir" ]; then
        dirname "$dir"
        return 0
    fi
    if command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return 0
    fi
    return 1
}

haven_find_havend() {
    local dir="$1" cand
    for cand in "$dir/havend" "$dir/src/havend"; do
        if [ -x "$cand" ] && [ -f "$cand" ]; then
            printf '%s\n' "$cand"
            return 0
        fi
    done
    return 1
}

# Run CMD with its output kept in a temporary file; show the output only if it fails.
haven_quietly() {
    local log rc
    log="$(mktemp "${TMPDIR:-/tmp}/haven-log.XXXXXX")"
    "$@" >"$log" 2>&1
    rc=$?
    if [ "$rc" -ne 0 ]; then
        cat "$log" >&2
        haven_say "failed (exit $rc): $*"
    fi
    rm -f "$log"
    return "$rc"
}

# Percent-encode a string for use inside a URI query value.
haven_uri_encode() {
    local LC_ALL=C s="$1" out="" c i
    for ((i = 0; i < ${#s}; i++)); do
        c="${s:i:1}"
        case "$c" in
            [A-Za-z0-9/._~-]) out+="$c" ;;
            *) out+="$(printf '%%%02X' "'$c")" ;;
        esac
    done
    printf '%s\n' "$out"
}
