#!/usr/bin/env bash
# Run `make test` on a fresh clone of HEAD, N times in a row, with a CPU hog
# (stress-ng, Debian's package, installed on demand) beside it: the check
# that the suites hold on an oversubscribed machine. Prints each run's wall
# time; exits non-zero at the first failing run.
#
# Usage:
#   scripts/test-under-load.sh            # 3 runs beside `stress-ng --cpu 4`
#   RUNS=1 HOG_CPUS=8 scripts/test-under-load.sh
#   TARGET=unit scripts/test-under-load.sh   # another make target
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS=${RUNS:-3}
HOG_CPUS=${HOG_CPUS:-4}
TARGET=${TARGET:-test}
log() { printf '%s test-under-load: %s\n' "$(date +%T)" "$*" >&2; }

if ! command -v stress-ng >/dev/null 2>&1; then
	sudo=""
	[[ $(id -u) == 0 ]] || sudo=sudo
	log "installing stress-ng from Debian packages ..."
	if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q stress-ng >&2; then
		$sudo apt-get update -q >&2
		$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q stress-ng >&2
	fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/berth-load.XXXXXX")
hog=""
cleanup() {
	[[ -n $hog ]] && kill "$hog" 2>/dev/null && wait "$hog" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

git clone -q "$ROOT" "$work/berth"
# The pinned tools are built once per checkout; reuse this one's.
[[ -d $ROOT/.tools ]] && cp -a "$ROOT/.tools" "$work/berth/.tools"

stress-ng --cpu "$HOG_CPUS" --quiet &
hog=$!
log "stress-ng --cpu $HOG_CPUS running (pid $hog) on $(nproc) cores"
for i in $(seq "$RUNS"); do
	start=$(date +%s)
	if ! make -C "$work/berth" "$TARGET" >"$work/run$i.log" 2>&1; then
		tail -60 "$work/run$i.log" >&2
		log "run $i of $RUNS FAILED after $(($(date +%s) - start)) s (log above)"
		exit 1
	fi
	log "run $i of $RUNS passed in $(($(date +%s) - start)) s"
done
