#!/usr/bin/env bash
# The container engine suite (engines/): Docker (Debian's dockerd), containerd
# through ctr and through nerdctl, and Podman, each logging in, pulling,
# pulling one platform of an index, pushing and pulling a signed image, over
# plain HTTP and over HTTPS, against the example server the tests start.
#
# Usage: scripts/engines.sh [go test args...]
#   e.g. scripts/engines.sh -run 'TestDocker|TestPodman'
#
# It installs what is missing (crane, cosign and nerdctl into .tools/bin
# through scripts/tools.sh unless BERTH_TOOLS names a directory holding
# them; Debian's containerd, docker.io and podman through the scripts below),
# builds the example server unless BERTH_REGISTRY_BIN names one, then runs
# the tests under scripts/containerd.sh, scripts/docker.sh and
# scripts/podman.sh, one engine at a time. An engine that cannot run here is
# named with its own error by its script, and its tests skip with that
# reason.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LIB_NAME=engines.sh
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

if [[ ${1:-} == "--in-engines" ]]; then
	# Under the engines' scripts: run the tests.
	shift
	log "engines: docker ${BERTH_DOCKER_UNAVAILABLE:+cannot run: }${BERTH_DOCKER_UNAVAILABLE:-on ${BERTH_DOCKER_HOST:-?}}; podman ${BERTH_PODMAN_UNAVAILABLE:+cannot run: }${BERTH_PODMAN_UNAVAILABLE:-${BERTH_PODMAN:-?}}; containerd on ${BERTH_CONTAINERD_ADDR:-?}"
	cd "$ROOT/engines"
	exec go test -count=1 -v -timeout 30m "$@" ./...
fi

if [[ -z ${BERTH_TOOLS:-} ]]; then
	"$ROOT/scripts/tools.sh" crane cosign nerdctl
	BERTH_TOOLS="$ROOT/.tools/bin"
fi
export BERTH_TOOLS

WORK="$(lib_workdir engines)"
lib_on_exit rm -rf "$WORK"
if [[ -z ${BERTH_REGISTRY_BIN:-} ]]; then
	log "building the example server ..."
	(cd "$ROOT" && go build -o "$WORK/berth-registry" ./examples/registry)
	BERTH_REGISTRY_BIN="$WORK/berth-registry"
fi
export BERTH_REGISTRY_BIN

set +e
"$ROOT/scripts/containerd.sh" -- "$ROOT/scripts/docker.sh" -- "$ROOT/scripts/podman.sh" -- \
	"$ROOT/scripts/engines.sh" --in-engines "$@"
rc=$?
set -e
exit "$rc"
