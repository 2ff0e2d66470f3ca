#!/usr/bin/env bash
# Run dockerd (Debian's docker.io, installed on demand at the version
# scripts/versions.env pins) with a throw-away data root, exec root and
# socket, the vfs storage driver and no networking of its own (no bridge,
# no iptables): pulls and pushes need none of that, and it needs nothing
# from the machine but loopback. Under scripts/containerd.sh it uses that
# containerd instead of starting its own.
#
# Usage:
#   scripts/docker.sh              # serve, print the exports, wait for ^C
#   scripts/docker.sh -- CMD ARGS  # serve, run CMD, stop; exit with CMD's status
#
# CMD sees:
#   BERTH_DOCKER_HOST     unix://…, dockerd's socket
#   BERTH_DOCKER          the docker client of the same package
#   BERTH_DOCKER_PROXY    127.0.0.1:PORT: dockerd sends HTTPS to registries
#                         through an HTTP proxy there (HTTPS_PROXY), one the
#                         caller runs when it needs it (engines/tls_test.go)
#   BERTH_DOCKER_CERTS_D  the certs.d directory dockerd reads CAs from
# or, when dockerd cannot run here, BERTH_DOCKER_UNAVAILABLE: dockerd's own
# error, also printed; CMD runs all the same (its Docker tests skip, saying
# why). Without CMD that is a failure.
#
# Plain HTTP: dockerd takes every registry on 127.0.0.0/8 as insecure
# whatever it is told; --insecure-registry below only says so.
# shellcheck disable=SC2317 # cleanup runs from the EXIT trap
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC1091 # versions.env sits beside this script
source "$ROOT/scripts/versions.env"
LIB_NAME=docker.sh
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

if [[ $# -gt 0 && $1 != "--" ]]; then
	log "usage: scripts/docker.sh [-- CMD [ARGS]]"
	exit 2
fi

if ! command -v dockerd >/dev/null 2>&1; then
	lib_apt_install "$DOCKER_DEB_VERSION" docker.io
	# Debian's package enables a system service; this script runs its own.
	systemctl disable --now docker.service docker.socket >/dev/null 2>&1 || true
fi
have=$(lib_deb_check docker.io "$DOCKER_DEB_VERSION")
# The client of the same package (another may come first on PATH).
files=$(dpkg-query -L docker.io 2>/dev/null || true)
BERTH_DOCKER=$(grep -m1 '/bin/docker$' <<<"$files" || command -v docker)

WORK="$(lib_workdir docker)"
lib_on_exit rm -rf "$WORK"
SOCK=$WORK/docker.sock
LOG=$WORK/dockerd.log
echo '{}' >"$WORK/daemon.json" # not /etc/docker/daemon.json
BERTH_DOCKER_HOST=unix://$SOCK
BERTH_DOCKER_PROXY=127.0.0.1:$(lib_free_port 127.0.0.1)
BERTH_DOCKER_CERTS_D=/etc/docker/certs.d
args=(
	--data-root "$WORK/data" --exec-root "$WORK/exec" --pidfile "$WORK/dockerd.pid"
	-H "$BERTH_DOCKER_HOST" --config-file "$WORK/daemon.json"
	--storage-driver vfs --bridge none --iptables=false --ip6tables=false
	--ip-forward=false --ip-masq=false --insecure-registry 127.0.0.0/8
)
if [[ -n ${BERTH_CONTAINERD_ADDR:-} ]]; then
	args+=(--containerd "$BERTH_CONTAINERD_ADDR")
fi
env -u HTTP_PROXY -u http_proxy -u https_proxy -u NO_PROXY -u no_proxy \
	HTTPS_PROXY="http://$BERTH_DOCKER_PROXY" dockerd "${args[@]}" >"$LOG" 2>&1 &
PID=$!
lib_on_exit lib_stop TERM "$PID"

# Wait for the API; when dockerd exits or never answers, keep its error.
daemon_error() {
	local errs
	errs=$(grep -E 'level=(fatal|error)' "$LOG" | tail -n 3 || true)
	[[ -n $errs ]] || errs=$(tail -n 3 "$LOG")
	errs=$(tr '\n' ' ' <<<"$errs")
	printf '%s' "${errs% }"
}
reason=""
deadline=$((SECONDS + 60))
until "$BERTH_DOCKER" -H "$BERTH_DOCKER_HOST" version >/dev/null 2>&1; do
	if ! lib_running "$PID"; then
		reason="dockerd exited at start: $(daemon_error)"
		break
	fi
	if ((SECONDS >= deadline)); then
		reason="dockerd did not answer on $SOCK in 60s: $(daemon_error)"
		break
	fi
	sleep 0.1
done

if [[ -n $reason ]]; then
	log "Docker cannot run here: $reason"
	echo "---- dockerd log (last 20 lines) ----" >&2
	tail -n 20 "$LOG" >&2 || true
	if [[ ${1:-} != "--" ]]; then
		exit 1
	fi
	shift
	BERTH_DOCKER_UNAVAILABLE=$reason
	export BERTH_DOCKER_UNAVAILABLE
	unset BERTH_DOCKER_HOST BERTH_DOCKER_PROXY BERTH_DOCKER_CERTS_D
	lib_run_cmd dockerd "$LOG" "$@"
fi

log "dockerd $have on $SOCK (HTTPS through $BERTH_DOCKER_PROXY)"
export BERTH_DOCKER_HOST BERTH_DOCKER BERTH_DOCKER_PROXY BERTH_DOCKER_CERTS_D
lib_run_or_print dockerd "$LOG" "BERTH_DOCKER_HOST BERTH_DOCKER BERTH_DOCKER_PROXY BERTH_DOCKER_CERTS_D" "$@"
log "serving; ^C stops it"
wait "$PID"
