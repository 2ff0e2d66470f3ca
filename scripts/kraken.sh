#!/usr/bin/env bash
# Build Uber's Kraken (github.com/uber/kraken, a P2P docker registry) for
# the Kraken preheat provider's tests (preheat/kraken, internal/testkraken),
# and install the nginx its components run in front of themselves.
#
# Usage:
#   scripts/kraken.sh              # build if needed, print the exports
#   scripts/kraken.sh -- CMD ARGS  # build if needed, run CMD with the exports;
#                                  # exit with CMD's status
#   scripts/kraken.sh --print-bin  # print the bin directory and exit
#
# for example
#   scripts/kraken.sh -- go test -count=1 ./preheat/kraken/... ./internal/testkraken/...
#
# Built: the origin, the build-index and the proxy (what a preheat goes
# through: the proxy takes the notification, the origin pulls the blobs
# from the registry), as kraken-origin, kraken-build-index and
# kraken-proxy in .tools/kraken/$KRAKEN_VERSION/bin. The tracker and the
# agent are not built: a preheat never reaches them. Idempotent: nothing
# is rebuilt while each binary is there and stamped with the pinned
# module version (go version -m); another version builds into its own
# directory. The first build takes 5 to 7 minutes on 2 cores, most of it
# cgo compiling SQLite (the origin and the build-index keep their state in
# it); with Go's build cache warm, about 30 seconds.
#
# The module proxy serves v0.1.4 (2020-05-06) of github.com/uber/kraken
# and refuses its version list, @latest and any commit ("This module
# version is not available"), so v0.1.4 is what can be built here; it is
# also the line Harbor's Kraken driver was written for (0.1.3). Like
# tools.sh's nerdctl, it is built inside a scratch module that requires it
# (`go install pkg@version` fails looking up the module's deprecation in
# that version list), with the requirements of v0.1.4's own go.mod.
#
# Kraken's components exec /usr/sbin/nginx themselves (the path is fixed in
# Kraken's nginx package), so Debian's nginx is installed when missing, at
# versions.env's NGINX_DEB_VERSION (scripts/nginx.sh installs the same).
# Kraken's nginx configuration logs to /var/log/nginx and writes
# /tmp/nginx: the tests run as root (as CI does) or skip.
#
# CMD sees:
#   BERTH_TEST_KRAKEN   the bin directory (internal/testkraken skips its
#                       callers' tests when it is unset)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC1091 # versions.env sits beside this script
source "$ROOT/scripts/versions.env"
LIB_NAME=kraken.sh
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

# The pinned Kraken release (versions.env may set it instead).
KRAKEN_VERSION=${KRAKEN_VERSION:-v0.1.4}
KRAKEN_MODULE=github.com/uber/kraken
# main package (under the module) -> installed name
COMPONENTS=(origin:kraken-origin build-index:kraken-build-index proxy:kraken-proxy)

BIN=$ROOT/.tools/kraken/$KRAKEN_VERSION/bin

case ${1:-} in
"" | --) ;;
--print-bin)
	echo "$BIN"
	exit 0
	;;
*)
	log "usage: scripts/kraken.sh [--print-bin | -- CMD [ARGS]]"
	exit 2
	;;
esac

# built NAME: the binary is there and stamped with the pinned version.
built() {
	[[ -x $BIN/$1 ]] &&
		go version -m "$BIN/$1" 2>/dev/null | awk -v m="$KRAKEN_MODULE" -v v="$KRAKEN_VERSION" \
			'$1 == "mod" && $2 == m && $3 == v { found = 1 } END { exit !found }'
}

# build: every component not yet built, in one scratch module (the
# dependencies compile once), moved into place only when all built.
build() {
	local todo=() c pkgs=() names=() start=$SECONDS tmp
	for c in "${COMPONENTS[@]}"; do
		if ! built "${c#*:}"; then todo+=("$c"); fi
	done
	if [[ ${#todo[@]} -eq 0 ]]; then
		log "Kraken $KRAKEN_VERSION: up to date in $BIN"
		return 0
	fi
	if ! command -v gcc >/dev/null 2>&1; then
		log "gcc is needed (cgo: Kraken's SQLite driver); apt-get install gcc libc6-dev"
		exit 1
	fi
	mkdir -p "$BIN" "$ROOT/.tools"
	tmp="$(mktemp -d "$ROOT/.tools/build.XXXXXX")"
	lib_on_exit rm -rf "$tmp"
	for c in "${todo[@]}"; do
		pkgs+=("$KRAKEN_MODULE/${c%%:*}@$KRAKEN_VERSION")
		names+=("${c#*:}")
	done
	log "building ${names[*]} from $KRAKEN_MODULE@$KRAKEN_VERSION (first build 5 to 7 min) ..."
	if ! (cd "$tmp" && go mod init berth.tools/kraken >/dev/null 2>&1 &&
		go get "${pkgs[@]}" >get.log 2>&1); then
		cat "$tmp/get.log" >&2
		log "fetching $KRAKEN_MODULE@$KRAKEN_VERSION FAILED"
		exit 1
	fi
	for c in "${todo[@]}"; do
		if ! (cd "$tmp" && CGO_ENABLED=1 go build -trimpath -ldflags='-s -w' \
			-o "$tmp/out/${c#*:}" "$KRAKEN_MODULE/${c%%:*}" 2>build.log); then
			cat "$tmp/build.log" >&2
			log "building ${c%%:*} FAILED"
			exit 1
		fi
	done
	for c in "${todo[@]}"; do mv -f "$tmp/out/${c#*:}" "$BIN/${c#*:}"; done
	log "Kraken $KRAKEN_VERSION: built ${names[*]} in $((SECONDS - start))s into $BIN"
}

build
[[ -x /usr/sbin/nginx ]] || lib_apt_install "$NGINX_DEB_VERSION" nginx nginx-common
lib_deb_check nginx "$NGINX_DEB_VERSION" >/dev/null

export BERTH_TEST_KRAKEN=$BIN
lib_run_or_print kraken /dev/null "BERTH_TEST_KRAKEN" "$@"
