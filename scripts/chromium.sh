#!/usr/bin/env bash
# Install the browser and the accessibility checker the portal's browser
# tests (ui/browsertest) drive: Debian's Chromium (chromium,
# chromium-common, chromium-driver), a font with Chinese glyphs
# (fonts-wqy-microhei: the portal speaks Simplified Chinese, and without
# one the screenshots of its Chinese pages show boxes), and axe-core from
# npm, into $ROOT/.tools/node (ROOT = repository top; .tools is
# gitignored).
#
# Usage:
#   scripts/chromium.sh              # install what is missing, print the exports
#   scripts/chromium.sh -- CMD ARGS  # install, run CMD; exit with CMD's status
#
# for example, the browser tests:
#   cd ui/browsertest && ../../scripts/chromium.sh -- go test -count=1 ./...
#
# CMD sees:
#   BERTH_CHROMIUM      /usr/bin/chromium
#   BERTH_CHROMEDRIVER  /usr/bin/chromedriver
#   BERTH_AXE           the absolute path of axe-core's axe.min.js
#
# Idempotent: apt-get runs only when a package is missing, npm only when
# .tools/node does not hold the pinned axe-core. The Debian packages are
# pinned below; Debian's archive keeps only the newest security release,
# so another installed (or installable) version runs with a warning.
# axe-core is pinned exactly and installed with --ignore-scripts.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LIB_NAME=chromium.sh
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

# Pinned versions, in the style of scripts/versions.env (kept here: this
# script is their only user). CHROMIUM_DEB_VERSION is Debian 12's
# chromium, chromium-common and chromium-driver (one source package);
# CJK_FONT_DEB_VERSION Debian 12's fonts-wqy-microhei; AXE_CORE_VERSION
# the exact npm version of axe-core.
CHROMIUM_DEB_VERSION=148.0.7778.167-1~deb12u1
CJK_FONT_DEB_VERSION=0.2.0-beta-3.1
AXE_CORE_VERSION=4.14.1

if [[ $# -gt 0 && $1 != "--" ]]; then
	log "usage: scripts/chromium.sh [-- CMD [ARGS]]"
	exit 2
fi

CHROMIUM=/usr/bin/chromium
CHROMEDRIVER=/usr/bin/chromedriver
NODE_PREFIX=$ROOT/.tools/node
AXE=$NODE_PREFIX/node_modules/axe-core/axe.min.js

# deb_check PKG VERSION: print the installed version of PKG, warning
# when it is not the pinned VERSION.
deb_check() {
	local have
	have=$(dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown)
	if [[ $have != "$2" ]]; then
		log "WARNING: $1 $have installed; chromium.sh pins $2"
	fi
	echo "$have"
}

# installed PKG: dpkg has PKG installed.
installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]; }

if [[ ! -x $CHROMIUM || ! -x $CHROMEDRIVER ]]; then
	lib_apt_install "$CHROMIUM_DEB_VERSION" chromium chromium-common chromium-driver
fi
have=$(deb_check chromium "$CHROMIUM_DEB_VERSION")
deb_check chromium-driver "$CHROMIUM_DEB_VERSION" >/dev/null
installed fonts-wqy-microhei || lib_apt_install "$CJK_FONT_DEB_VERSION" fonts-wqy-microhei
deb_check fonts-wqy-microhei "$CJK_FONT_DEB_VERSION" >/dev/null

# axe_version: the axe-core version installed under NODE_PREFIX, or "".
axe_version() {
	local pkg=$NODE_PREFIX/node_modules/axe-core/package.json
	[[ -f $pkg && -f $AXE ]] || return 0
	node -e 'process.stdout.write(require(process.argv[1]).version)' "$pkg" 2>/dev/null || true
}

if [[ $(axe_version) != "$AXE_CORE_VERSION" ]]; then
	if ! command -v npm >/dev/null 2>&1; then
		log "npm not found (Debian: apt-get install nodejs npm)"
		exit 1
	fi
	log "installing axe-core $AXE_CORE_VERSION into $NODE_PREFIX ..."
	mkdir -p "$NODE_PREFIX"
	npm install --prefix "$NODE_PREFIX" --no-audit --no-fund --ignore-scripts --save-exact \
		"axe-core@$AXE_CORE_VERSION" >&2
	got=$(axe_version)
	if [[ $got != "$AXE_CORE_VERSION" ]]; then
		log "axe-core ${got:-missing} under $NODE_PREFIX after npm install; want $AXE_CORE_VERSION"
		exit 1
	fi
fi
log "chromium $have, axe-core $AXE_CORE_VERSION ($AXE)"

export BERTH_CHROMIUM=$CHROMIUM
export BERTH_CHROMEDRIVER=$CHROMEDRIVER
export BERTH_AXE=$AXE

lib_run_or_print chromium "" "BERTH_CHROMIUM BERTH_CHROMEDRIVER BERTH_AXE" "$@"
