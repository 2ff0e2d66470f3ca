#!/usr/bin/env bash
# Run containerd (Debian's package, installed on demand at the version
# scripts/versions.env pins) with a throw-away root, state and socket, for
# the proxy cache's registry-mirror test: containerd itself pulls through
# Berth with a hosts.toml, as a node would.
#
# Usage:
#   scripts/containerd.sh              # serve, print the exports, wait for ^C
#   scripts/containerd.sh -- CMD ARGS  # serve, run CMD, stop; exit with CMD's status
#
# CMD sees:
#   BERTH_CONTAINERD_ADDR  the daemon's socket
#   BERTH_CTR              the ctr binary that talks to it
# shellcheck disable=SC2317 # cleanup runs from the EXIT trap
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC1091 # versions.env sits beside this script
source "$ROOT/scripts/versions.env"
LIB_NAME=containerd.sh
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

if [[ $# -gt 0 && $1 != "--" ]]; then
	log "usage: scripts/containerd.sh [-- CMD [ARGS]]"
	exit 2
fi

if ! command -v containerd >/dev/null 2>&1 || ! command -v ctr >/dev/null 2>&1; then
	lib_apt_install "$CONTAINERD_DEB_VERSION" containerd
	# Debian's package enables a system service; this script runs its own.
	systemctl disable --now containerd >/dev/null 2>&1 || true
fi
have=$(lib_deb_check containerd "$CONTAINERD_DEB_VERSION")

WORK="$(lib_workdir containerd)"
lib_on_exit rm -rf "$WORK"
SOCK=$WORK/containerd.sock
LOG=$WORK/containerd.log
cat >"$WORK/config.toml" <<CONF
version = 2
root = "$WORK/root"
state = "$WORK/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$SOCK"
CONF
containerd --config "$WORK/config.toml" >"$LOG" 2>&1 &
PID=$!
lib_on_exit lib_stop TERM "$PID"
lib_wait_ready 30 "$PID" "$LOG" "$SOCK" ctr --address "$SOCK" version
log "containerd $have on $SOCK"

BERTH_CONTAINERD_ADDR=$SOCK
BERTH_CTR=$(command -v ctr)
export BERTH_CONTAINERD_ADDR BERTH_CTR
lib_run_or_print containerd "$LOG" "BERTH_CONTAINERD_ADDR BERTH_CTR" "$@"
log "serving; ^C stops it"
wait "$PID"
