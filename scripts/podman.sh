#!/usr/bin/env bash
# Podman (Debian's package, installed on demand at the version
# scripts/versions.env pins) for the container engine suite. Podman has no
# daemon: this checks that it runs here as the tests run it (rootful, vfs
# storage under a throw-away root and runroot, cgroupfs, events to a file)
# and runs CMD.
#
# Usage: scripts/podman.sh -- CMD ARGS   # exit with CMD's status
#
# CMD sees BERTH_PODMAN, the podman binary, or, when podman cannot run
# here, BERTH_PODMAN_UNAVAILABLE: podman's own error, also printed; CMD
# runs all the same (its Podman tests skip, saying why).
# shellcheck disable=SC2317 # cleanup runs from the EXIT trap
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC1091 # versions.env sits beside this script
source "$ROOT/scripts/versions.env"
LIB_NAME=podman.sh
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

if [[ ${1:-} != "--" || $# -lt 2 ]]; then
	log "usage: scripts/podman.sh -- CMD [ARGS]"
	exit 2
fi
shift

if ! command -v podman >/dev/null 2>&1; then
	lib_apt_install "$PODMAN_DEB_VERSION" podman
	# Debian's package enables services and timers; the tests need none.
	systemctl disable --now podman.service podman.socket podman-restart.service \
		podman-auto-update.service podman-auto-update.timer >/dev/null 2>&1 || true
fi
have=$(lib_deb_check podman "$PODMAN_DEB_VERSION")

WORK="$(lib_workdir podman)"
lib_on_exit rm -rf "$WORK"
printf 'unqualified-search-registries = []\n' >"$WORK/registries.conf"
# The options engines/podman_test.go gives every command.
if out=$(CONTAINERS_REGISTRIES_CONF="$WORK/registries.conf" podman --root "$WORK/root" \
	--runroot "$WORK/run" --storage-driver vfs --cgroup-manager cgroupfs \
	--events-backend file --tmpdir "$WORK/tmp" info --format '{{.Store.GraphDriverName}}' 2>&1); then
	BERTH_PODMAN=$(command -v podman)
	export BERTH_PODMAN
	log "podman $have runs here (storage driver $out)"
else
	out=$(tail -n 3 <<<"$out" | tr '\n' ' ')
	BERTH_PODMAN_UNAVAILABLE="podman info failed: ${out% }"
	export BERTH_PODMAN_UNAVAILABLE
	log "Podman cannot run here: $BERTH_PODMAN_UNAVAILABLE"
fi
lib_run_cmd podman /dev/null "$@"
