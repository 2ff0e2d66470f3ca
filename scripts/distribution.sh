#!/usr/bin/env bash
# Run CNCF Distribution (the pinned reference registry) on a loopback address
# with a throw-away filesystem root and deletes enabled.
#
# Usage:
#   scripts/distribution.sh [ADDR]                 # serve until interrupted
#   scripts/distribution.sh [ADDR] -- CMD [ARGS]   # serve, run CMD, stop; exit with CMD's status
#
# CMD sees BERTH_REGISTRY=ADDR (as with scripts/serve.sh), so for example
#   scripts/distribution.sh -- conformance/run.sh
#   scripts/distribution.sh -- e2e/run.sh
#
# ADDR defaults to 127.0.0.1:5001 and must be a loopback host:port. The binary
# is built on demand with `scripts/tools.sh distribution`. The storage root and
# config live in a temp dir removed on exit; the server log is printed if it
# fails to start, and kept at $DIST_LOG if that is set.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ADDR=127.0.0.1:5001
if [[ $# -gt 0 && $1 != "--" ]]; then
	ADDR=$1
	shift
fi
case $ADDR in
127.* | localhost:* | "[::1]:"*) ;;
*)
	echo "distribution.sh: refusing non-loopback address $ADDR" >&2
	exit 2
	;;
esac

"$ROOT/scripts/tools.sh" distribution
BIN="$ROOT/.tools/bin/registry"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/berth-distribution.XXXXXX")"
LOG=${DIST_LOG:-$WORK/registry.log}
PID=""
cleanup() {
	if [[ -n $PID ]] && kill -0 "$PID" 2>/dev/null; then
		kill "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$WORK/data"
cat >"$WORK/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/data
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: $ADDR
EOF

"$BIN" serve "$WORK/config.yml" >"$LOG" 2>&1 &
PID=$!

for _ in $(seq 1 100); do
	if curl -fsS -o /dev/null "http://$ADDR/v2/" 2>/dev/null; then
		break
	fi
	if ! kill -0 "$PID" 2>/dev/null; then
		echo "distribution.sh: registry exited during start:" >&2
		cat "$LOG" >&2
		exit 1
	fi
	sleep 0.1
done
if ! curl -fsS -o /dev/null "http://$ADDR/v2/"; then
	echo "distribution.sh: registry did not answer on $ADDR" >&2
	cat "$LOG" >&2
	exit 1
fi
echo "distribution.sh: CNCF Distribution $("$BIN" --version 2>/dev/null | awk '{print $NF}') serving http://$ADDR (root $WORK/data)" >&2

if [[ ${1:-} == "--" ]]; then
	shift
	export BERTH_REGISTRY=$ADDR
	set +e
	"$@"
	rc=$?
	set -e
	exit "$rc"
fi
wait "$PID"
