#!/usr/bin/env bash
# Run the client end-to-end suite against a running registry.
#
# Usage: e2e/run.sh [HOST:PORT] [go test args...]
#   e.g. e2e/run.sh 127.0.0.1:5000
#        BERTH_E2E_BIG=1 e2e/run.sh 127.0.0.1:5000 -run 'TestCrane|TestBigLayer'
#        scripts/serve.sh BIN -- e2e/run.sh     # HOST:PORT from $BERTH_REGISTRY
#
# The registry must speak plain HTTP; with BERTH_E2E_USER and
# BERTH_E2E_PASSWORD set, every tool logs in with them (through the token flow). Client tools come from
# BERTH_TOOLS when set (the caller manages them); otherwise scripts/tools.sh
# installs or checks the pinned set in .tools/bin first (fast when present).
# BERTH_E2E_BIG=1 adds the 512 MiB round trip.
set -euo pipefail

if [[ $# -ge 1 && $1 != -* ]]; then
	REG=$1
	shift
elif [[ -n ${BERTH_REGISTRY:-} ]]; then
	REG=$BERTH_REGISTRY
else
	echo "usage: $0 HOST:PORT [go test args...]   (or set BERTH_REGISTRY)" >&2
	exit 2
fi
REG=${REG#http://}
REG=${REG%/}
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"

if [[ -z ${BERTH_TOOLS:-} ]]; then
	"$ROOT/scripts/tools.sh"
	BERTH_TOOLS="$ROOT/.tools/bin"
fi
export BERTH_TOOLS
export BERTH_E2E_REGISTRY="$REG"

cd "$HERE"
echo "e2e: registry $BERTH_E2E_REGISTRY, tools $BERTH_TOOLS, big layer ${BERTH_E2E_BIG:-0}" >&2
exec go test -count=1 -v -timeout 20m "$@" ./...
