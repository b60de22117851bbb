# shellcheck shell=bash disable=SC2034 # the variables are used by the scripts that source this file
# Shared by scripts/setup, scripts/daemons and scripts/images: paths, step
# logging, package installs and process helpers. Source it; do not run it.
#
# Folders:
#   $ARCHON_CACHE  machine cache shared by every clone on this machine
#                  (default ~/.cache/archon-dev): built binaries, Go caches,
#                  daemon data, image tarballs.
#   $STATE_DIR     this clone's .state/: pid files, logs, daemon configs.
#   $RUN_DIR       this clone's unix sockets; .state/run, or a short folder
#                  under /tmp when that path is too long for a socket.

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ARCHON_CACHE=${ARCHON_CACHE:-"${HOME:-/root}/.cache/archon-dev"}
CACHE_BIN="$ARCHON_CACHE/bin"
STATE_DIR="$REPO_ROOT/.state"
TOOLS_BIN="$REPO_ROOT/.tools/bin"

# Docker 20.10 from Debian. /usr/local/bin/docker may be a newer CLI that
# comes first on PATH, so every call names this one.
DOCKER=/usr/bin/docker

CUE_VERSION=v0.17.1
BUILDKIT_VERSION=v0.26.3

# A unix socket path has at most 107 bytes. dockerd puts sockets up to about
# 35 characters below its exec-root (containerd/containerd.sock.ttrpc), so
# RUN_DIR is kept to 60.
run_dir_for() {
    local preferred="$STATE_DIR/run"
    if [ ${#preferred} -le 60 ]; then
        echo "$preferred"
    else
        echo "/tmp/archon-$(printf '%s' "$REPO_ROOT" | sha256sum | cut -c1-12)"
    fi
}
RUN_DIR=$(run_dir_for)

SCRIPT_NAME=$(basename "$0")
CURRENT_STEP="start"

say() {
    printf '%s: %s\n' "$SCRIPT_NAME" "$*" >&2
}

# Print an error that names the step and exit 1.
fail() {
    printf '%s: error in step "%s": %s\n' "$SCRIPT_NAME" "$CURRENT_STEP" "$*" >&2
    exit 1
}

step() {
    CURRENT_STEP="$1"
    say "== $1"
}

# A command that fails under `set -e` would otherwise end the script with no
# word on what it was doing.
on_error() {
    local status=$?
    printf '%s: step "%s" failed (exit %s) at %s line %s: %s\n' \
        "$SCRIPT_NAME" "$CURRENT_STEP" "$status" "${BASH_SOURCE[1]}" "$1" "$BASH_COMMAND" >&2
    exit "$status"
}
trap 'on_error $LINENO' ERR
set -E

is_root() {
    [ "$(id -u)" -eq 0 ]
}

package_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

APT_UPDATED=0

# Install the Debian packages that are missing. Service starts by the
# packages' scripts are left to the machine's policy-rc.d.
ensure_packages() {
    local missing=() package
    for package in "$@"; do
        package_installed "$package" || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0

    is_root || fail "missing Debian packages: ${missing[*]}; install them as root: apt-get install ${missing[*]}"
    if [ "$APT_UPDATED" -eq 0 ]; then
        say "apt-get update"
        apt-get update -qq >&2 || fail "apt-get update failed; check the apt sources in /etc/apt"
        APT_UPDATED=1
    fi
    say "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
        || fail "apt-get install ${missing[*]} failed"
}

# True when PID is alive and its command line contains NEEDLE; this guards
# against signalling an unrelated process that reused a stale pid.
pid_matches() {
    local pid=$1 needle=$2 state
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
    [ "$state" != "Z" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$needle"
}

# Wait until PID has exited (or is a zombie). Returns 1 after TIMEOUT seconds.
wait_for_exit() {
    local pid=$1 timeout=$2 waited=0 state
    while [ -d "/proc/$pid" ]; do
        state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo gone)
        [ "$state" = "Z" ] || [ "$state" = "gone" ] && return 0
        [ "$waited" -ge $((timeout * 10)) ] && return 1
        sleep 0.1
        waited=$((waited + 1))
    done
}

# Go builds keep their module and build caches in the machine cache, so a
# first set-up downloads everything once and a removed cache starts clean.
go_env() {
    command -v go >/dev/null || fail "go not found on PATH; install Go 1.25 or newer (cue and buildkitd are built from source)"
    export GOMODCACHE="$ARCHON_CACHE/go/mod"
    export GOCACHE="$ARCHON_CACHE/go/build"
    export GOFLAGS="-modcacherw"
    export GOTOOLCHAIN=local
    export CGO_ENABLED=0
}
