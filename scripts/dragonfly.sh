#!/usr/bin/env bash
# Build the pinned Dragonfly (d7y.io/dragonfly/v2, the P2P distribution
# system Berth's preheat drives) and install what it runs on, for
# internal/testdragonfly and the preheat/dragonfly tests.
#
# Usage:
#   scripts/dragonfly.sh              # build when needed, print the exports
#   scripts/dragonfly.sh -- CMD ARGS  # build when needed, run CMD with the
#                                     # exports; exit with CMD's status
#
# It composes with the other server scripts:
#   scripts/postgres.sh -- scripts/dragonfly.sh -- go test ./preheat/dragonfly/...
#
# It starts no server: internal/testdragonfly starts a whole Dragonfly per
# test (redis-server, manager, scheduler, one seed peer) in a network
# namespace of its own, with its manager's database on the PostgreSQL of
# BERTH_TEST_POSTGRES_DSN (scripts/postgres.sh).
#
# The version: DRAGONFLY_VERSION, the newest release whose module still holds
# the Go manager, scheduler AND the Go seed peer (dfget daemon). v2.4.0 has
# no Go client any more (it moved to Rust, which cannot be built here: no
# crates.io), and v2.3.1 requires d7y.io/api/v2 v2.1.60, which the module
# proxy does not serve. The release is built from the module proxy's copy
# (`go mod download`, into the module cache; nothing is written into the
# repository but .tools/), with the requirements of its own go.mod, into
# .tools/dragonfly/<version>/bin: manager, scheduler and dfget (whose
# `dfget daemon` is the seed peer). A build is skipped when those three are
# already there. The manager embeds its web console from manager/dist,
# which the module holds empty (a .gitkeep): it builds and serves its APIs
# without it, no build tag needed.
#
# Build time on a 2-core machine: with empty module and build caches,
# 5.5 min when the machine is otherwise idle (98 s of it downloading
# 1.5 GB of modules; the build cache grows by 1.1 GB) and 15 min when it
# is busy; with Go's caches warm (a fresh checkout on a machine that built
# it before) 9 s; when .tools already has the binaries, nothing.
#
# Redis: Debian's redis-server, installed on demand and pinned to
# REDIS_DEB_VERSION when the archive still has it (a warning, not a
# failure, otherwise). Debian's policy-rc.d keeps apt from starting a
# system redis; none is needed: each test runs its own.
#
# CMD sees:
#   BERTH_TEST_DRAGONFLY          the bin directory (manager, scheduler, dfget)
#   BERTH_TEST_DRAGONFLY_VERSION  the Dragonfly version built there
#   BERTH_DRAGONFLY_REDIS_SERVER  the redis-server binary
# shellcheck disable=SC2317 # cleanup runs from the EXIT trap
set -euo pipefail

# The pinned versions; scripts/versions.env's, once it has them, win.
DRAGONFLY_VERSION_DEFAULT=v2.3.0
REDIS_DEB_VERSION_DEFAULT=5:7.0.15-1~deb12u7

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC1091 # versions.env sits beside this script
source "$ROOT/scripts/versions.env"
LIB_NAME=dragonfly.sh
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

DRAGONFLY_VERSION=${DRAGONFLY_VERSION:-$DRAGONFLY_VERSION_DEFAULT}
REDIS_DEB_VERSION=${REDIS_DEB_VERSION:-$REDIS_DEB_VERSION_DEFAULT}
MODULE=d7y.io/dragonfly/v2
BINARIES=(manager scheduler dfget)
BIN=$ROOT/.tools/dragonfly/$DRAGONFLY_VERSION/bin

if [[ $# -gt 0 && $1 != "--" ]]; then
	log "usage: scripts/dragonfly.sh [-- CMD [ARGS]]"
	exit 2
fi

# redis: Debian's server package, the pinned version when the archive still
# has it.
redis() {
	if ! command -v redis-server >/dev/null 2>&1; then
		lib_apt_install "$REDIS_DEB_VERSION" redis-server redis-tools
	fi
	lib_deb_check redis-server "$REDIS_DEB_VERSION" >/dev/null
}

# built: every binary is in $BIN.
built() {
	local b
	for b in "${BINARIES[@]}"; do
		[[ -x $BIN/$b ]] || return 1
	done
}

# build: the binaries of $MODULE@$DRAGONFLY_VERSION into $BIN, through a
# scratch dir, so an interrupted build never leaves a half-written set.
build() {
	if built; then
		log "Dragonfly $DRAGONFLY_VERSION: up to date in $BIN"
		return 0
	fi
	local start=$SECONDS dir tmp
	log "Dragonfly $DRAGONFLY_VERSION: downloading $MODULE and its requirements ..."
	# Neither `go install pkg@version` nor a scratch module's `go get`
	# works: both ask the proxy for the module's version list, which it
	# refuses for this module. So build inside the downloaded module itself.
	dir=$(go mod download -json "$MODULE@$DRAGONFLY_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	if [[ -z $dir || ! -f $dir/go.mod ]]; then
		log "go mod download $MODULE@$DRAGONFLY_VERSION gave no module directory"
		exit 1
	fi
	(cd "$dir" && GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" go mod download)
	log "Dragonfly $DRAGONFLY_VERSION: downloaded in $((SECONDS - start))s; building ${BINARIES[*]} (5 to 15 min when Go's build cache is cold) ..."
	mkdir -p "$ROOT/.tools/dragonfly"
	tmp=$(mktemp -d "$ROOT/.tools/dragonfly/build.XXXXXX")
	lib_on_exit rm -rf "$tmp"
	local pkgs=() b
	for b in "${BINARIES[@]}"; do pkgs+=("./cmd/$b"); done
	if ! (cd "$dir" && GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 \
		go build -trimpath -ldflags="-s -w -X $MODULE/version.GitCommit=$DRAGONFLY_VERSION" -o "$tmp/" "${pkgs[@]}"); then
		log "Dragonfly $DRAGONFLY_VERSION: build FAILED"
		exit 1
	fi
	mkdir -p "$BIN"
	for b in "${BINARIES[@]}"; do mv -f "$tmp/$b" "$BIN/$b"; done
	log "Dragonfly $DRAGONFLY_VERSION: built in $((SECONDS - start))s into $BIN"
}

redis
build

export BERTH_TEST_DRAGONFLY=$BIN
export BERTH_TEST_DRAGONFLY_VERSION=$DRAGONFLY_VERSION
BERTH_DRAGONFLY_REDIS_SERVER=$(command -v redis-server)
export BERTH_DRAGONFLY_REDIS_SERVER

lib_run_or_print dragonfly /dev/null "BERTH_TEST_DRAGONFLY BERTH_TEST_DRAGONFLY_VERSION BERTH_DRAGONFLY_REDIS_SERVER" "$@"
