#!/usr/bin/env bash
# Build Berth's container image with scripts/image.sh and check it end to
# end (deploy/image): pushed into a Berth the test starts, each platform's
# SBOM attached as a referrer, the index signed and verified with cosign,
# and, under containerd, the image for this host's architecture run with a
# read-only root filesystem.
#
# Usage:
#   scripts/image-check.sh [go test args]    # e.g. -run 'TestImage/cosign'
#
# Installs the tools it needs (crane, oras, cosign, cyclonedx-gomod) with
# scripts/tools.sh. As root, containerd runs under scripts/containerd.sh
# (Debian's package, installed on demand); otherwise the container run is
# skipped, and the test says so. The first run cross-compiles the server
# for two architectures: several minutes on two cores; later ones reuse
# Go's build cache.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LIB_NAME=image-check.sh
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

"$ROOT/scripts/tools.sh" crane oras cosign cyclonedx-gomod
export BERTH_TOOLS="$ROOT/.tools/bin" BERTH_IMAGE_TEST=1
cd "$ROOT"
test=(go test -count=1 -v -timeout 45m "$@" ./deploy/image/)
if [[ $(id -u) -ne 0 ]]; then
	log "not root: containerd cannot run here, so the test skips running the image"
	exec "${test[@]}"
fi
exec "$ROOT/scripts/containerd.sh" -- "${test[@]}"
