#!/usr/bin/env bash
# Run containerd (Debian's package, installed on demand at the version
# scripts/versions.env pins) with a throw-away root, state and socket, for
# the proxy cache's registry-mirror test: containerd itself pulls through
# Berth with a hosts.toml, as a node would.
#
# Usage:
#   scripts/containerd.sh -- CMD ARGS  # run containerd, run CMD, stop; exit with CMD's status
#
# CMD sees:
#   BERTH_CONTAINERD_ADDR  the daemon's socket
#   BERTH_CTR              the ctr binary that talks to it
set -euo pipefail

log() { echo "containerd.sh: $*" >&2; }
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=versions.env
source "$ROOT/scripts/versions.env"

if ! command -v containerd >/dev/null 2>&1 || ! command -v ctr >/dev/null 2>&1; then
	sudo=""
	[[ $(id -u) == 0 ]] || sudo=sudo
	log "installing containerd $CONTAINERD_DEB_VERSION from Debian packages ..."
	pkg="containerd=$CONTAINERD_DEB_VERSION"
	if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$pkg" >&2; then
		$sudo apt-get update -q >&2
		$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$pkg" >&2
	fi
	# Debian's package enables a system service; this script runs its own.
	$sudo systemctl disable --now containerd >/dev/null 2>&1 || true
fi
have=$(dpkg-query -W -f='${Version}' containerd 2>/dev/null || echo unknown)
[[ $have == "$CONTAINERD_DEB_VERSION" ]] || log "containerd $have: present (WARNING: versions.env expects $CONTAINERD_DEB_VERSION)"

[[ ${1:-} == "--" ]] && shift
[[ $# -gt 0 ]] || { echo "usage: $0 -- CMD [ARGS]" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/berth-containerd.XXXXXX")
PID=""
cleanup() {
	[[ -z $PID ]] || { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true; }
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SOCK=$WORK/containerd.sock
cat >"$WORK/config.toml" <<CONF
version = 2
root = "$WORK/root"
state = "$WORK/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$SOCK"
CONF
containerd --config "$WORK/config.toml" >"$WORK/containerd.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
	if ctr --address "$SOCK" version >/dev/null 2>&1; then break; fi
	if ! kill -0 "$PID" 2>/dev/null; then cat "$WORK/containerd.log" >&2; log "containerd exited"; exit 1; fi
	sleep 0.1
done
ctr --address "$SOCK" version >/dev/null || { cat "$WORK/containerd.log" >&2; log "containerd did not answer"; exit 1; }
log "containerd $have on $SOCK"
export BERTH_CONTAINERD_ADDR=$SOCK BERTH_CTR
BERTH_CTR=$(command -v ctr)
status=0
"$@" || status=$?
exit $status
