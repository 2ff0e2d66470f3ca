#!/usr/bin/env bash
# Run MinIO (the pinned real S3 server) on a loopback address with a throw-away
# data directory, for the S3 and OSS storage drivers' tests.
#
# Usage:
#   scripts/minio.sh [ADDR]                 # serve, print the exports, wait for ^C
#   scripts/minio.sh [ADDR] -- CMD [ARGS]   # serve, run CMD, stop; exit with CMD's status
#
# ADDR is a loopback host:port (127.x.x.x, localhost or [::1]); the default,
# 127.0.0.1:0, takes a free port. The console listens on another free port of
# the same host. (MinIO itself also listens on the same port of the other
# loopback addresses, 127.0.0.1 and [::1]; never on anything else.) The binary
# is built on demand with `scripts/tools.sh minio`. The bucket berth-test, plus
# any named in MINIO_BUCKETS (separated by spaces or commas), is created with a
# signed S3 PUT Bucket (curl --aws-sigv4) once the server is ready.
#
# CMD sees:
#   BERTH_S3_ENDPOINT    http://ADDR
#   BERTH_S3_REGION      us-east-1 (the server rejects signatures for others)
#   BERTH_S3_BUCKET      berth-test
#   BERTH_S3_ACCESS_KEY, BERTH_S3_SECRET_KEY   fixed test credentials
#   BERTH_MINIO_PID, BERTH_MINIO_BIN, BERTH_MINIO_DATA,
#   BERTH_MINIO_ADDR, BERTH_MINIO_CONSOLE_ADDR   for fault tests, below
#   BERTH_MINIO_KMS_KEY_ID  berth-test-key, the server's KMS key, for SSE tests
#   MINIO_ROOT_USER, MINIO_ROOT_PASSWORD, MINIO_SITE_REGION, MINIO_UPDATE,
#   MINIO_CI_CD, MINIO_KMS_SECRET_KEY   the server's own settings, so a restart
#                        inherits them
#
# A fault test stops the server with `kill -9 "$BERTH_MINIO_PID"` (or -TERM)
# and starts it again on the same port and data, in CMD's environment, with:
#   "$BERTH_MINIO_BIN" server --quiet --address "$BERTH_MINIO_ADDR" \
#       --console-address "$BERTH_MINIO_CONSOLE_ADDR" "$BERTH_MINIO_DATA"
# then polls http://$BERTH_MINIO_ADDR/minio/health/ready until it answers 200
# (about 0.3 s here). Buckets and objects are still there. On exit this script
# stops every server whose argv[0] is $BERTH_MINIO_BIN and one of whose
# arguments is $BERTH_MINIO_DATA, so a restarted one started exactly as above
# (from a shell or Go's exec.Command) is cleaned up too.
#
# By hand with curl 7.88: `curl --aws-sigv4 "aws:amz:us-east-1:s3" --user
# "$BERTH_S3_ACCESS_KEY:$BERTH_S3_SECRET_KEY" URL` works for requests without
# a body; one with a body also needs -H "x-amz-content-sha256: <hex sha256 of
# the body>" or -H "x-amz-content-sha256: UNSIGNED-PAYLOAD": this curl does
# not send that header itself, and without it MinIO answers 403
# SignatureDoesNotMatch.
#
# The data dir and server log live in a temp dir removed on exit; the server
# log (errors only: the server runs --quiet) is printed when the server fails
# to start or CMD fails, and kept at $MINIO_LOG if that is set.
# shellcheck disable=SC2317 # cleanup and what it calls run from the EXIT trap
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LIB_NAME=minio.sh
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
ACCESS_KEY=berthtest
SECRET_KEY=berthtest-secret-key
REGION=us-east-1
BUCKET=berth-test

ADDR=127.0.0.1:0
if [[ $# -gt 0 && $1 != "--" ]]; then
	ADDR=$1
	shift
fi
if [[ $# -gt 0 && $1 != "--" ]]; then
	log "usage: scripts/minio.sh [ADDR] [-- CMD [ARGS]]"
	exit 2
fi
lib_loopback "$ADDR"

# Bucket names: berth-test plus MINIO_BUCKETS, checked against S3's rules
# before anything starts.
BUCKETS=("$BUCKET")
for b in ${MINIO_BUCKETS:+${MINIO_BUCKETS//,/ }}; do
	if [[ ! $b =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]]; then
		log "invalid bucket name in MINIO_BUCKETS: $b"
		exit 2
	fi
	[[ $b == "$BUCKET" ]] || BUCKETS+=("$b")
done

[[ $PORT != 0 ]] || PORT=$(lib_free_port "$HOST")
ADDR=$HOST:$PORT
CONSOLE_ADDR=$HOST:$(lib_free_port "$HOST")
ENDPOINT=http://$ADDR

"$ROOT/scripts/tools.sh" minio
# shellcheck disable=SC1091 # versions.env sits beside this script
source "$ROOT/scripts/versions.env"
BIN="$ROOT/.tools/bin/minio"

WORK="$(lib_workdir minio)"
DATA=$WORK/data
LOG=${MINIO_LOG:-$WORK/minio.log}
PID=""

# stop_all: TERM every server on our data dir (the first one or a
# restart), KILL what is left after 10s; reap our own child so it leaves
# no zombie behind.
stop_all() {
	local pids=()
	mapfile -t pids < <(lib_pids_of "$BIN" "$DATA")
	lib_stop TERM "${pids[@]}"
	[[ -z $PID ]] || wait "$PID" 2>/dev/null || true
}

lib_on_exit rm -rf "$WORK"
lib_on_exit stop_all

mkdir -p "$DATA"
export MINIO_ROOT_USER=$ACCESS_KEY MINIO_ROOT_PASSWORD=$SECRET_KEY
export MINIO_SITE_REGION=$REGION
# No update check against the vendor's site; CI/CD mode (which CI's CI=true
# turns on anyway) everywhere, so a developer runs what CI runs: 256 MiB
# buffer pool instead of half the machine's memory, no root-drive refusal.
export MINIO_UPDATE=off MINIO_CI_CD=1
# A static KMS key (a fixed test key, not a secret) so server-side
# encryption, SSE-S3 and SSE-KMS with key id berth-test-key, can be tested.
export MINIO_KMS_SECRET_KEY=berth-test-key:YmVydGgtdGVzdC1rbXMta2V5LTMyLWJ5dGVzLWxvbmc=
BERTH_MINIO_KMS_KEY_ID=berth-test-key
export BERTH_MINIO_KMS_KEY_ID

start_ns=$(date +%s%N)
"$BIN" server --quiet --address "$ADDR" --console-address "$CONSOLE_ADDR" "$DATA" >"$LOG" 2>&1 &
PID=$!

lib_wait_ready 30 "$PID" "$LOG" "$ADDR" curl -fsS -m 2 -o /dev/null "$ENDPOINT/minio/health/ready"
ready_ms=$((($(date +%s%N) - start_ns) / 1000000))

# A PUT Bucket is an empty signed request: curl's SigV4 does the signing.
# A busy machine can answer 503 XMinioServerNotInitialized for a while
# after the health check passes: retry that for up to 30 s.
for b in "${BUCKETS[@]}"; do
	for _ in $(seq 300); do
		out=$(curl -sS -m 10 -X PUT --aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
			-w '\n%{http_code}' "$ENDPOINT/$b" 2>&1) || true
		[[ ${out##*$'\n'} == 503 ]] || break
		sleep 0.1
	done
	if [[ ${out##*$'\n'} != 200 ]]; then
		log "creating bucket $b failed: $out"
		cat "$LOG" >&2
		exit 1
	fi
done
log "MinIO $MINIO_VERSION ready in ${ready_ms}ms at $ENDPOINT (console $CONSOLE_ADDR, data $DATA, buckets ${BUCKETS[*]})"

export BERTH_S3_ENDPOINT=$ENDPOINT
export BERTH_S3_REGION=$REGION
export BERTH_S3_BUCKET=$BUCKET
export BERTH_S3_ACCESS_KEY=$ACCESS_KEY
export BERTH_S3_SECRET_KEY=$SECRET_KEY
export BERTH_MINIO_PID=$PID
export BERTH_MINIO_BIN=$BIN
export BERTH_MINIO_DATA=$DATA
export BERTH_MINIO_ADDR=$ADDR
export BERTH_MINIO_CONSOLE_ADDR=$CONSOLE_ADDR

lib_run_or_print minio "$LOG" "BERTH_S3_ENDPOINT BERTH_S3_REGION BERTH_S3_BUCKET BERTH_S3_ACCESS_KEY
	BERTH_S3_SECRET_KEY BERTH_MINIO_PID BERTH_MINIO_BIN BERTH_MINIO_DATA BERTH_MINIO_ADDR BERTH_MINIO_CONSOLE_ADDR
	MINIO_ROOT_USER MINIO_ROOT_PASSWORD MINIO_SITE_REGION MINIO_UPDATE MINIO_CI_CD MINIO_KMS_SECRET_KEY
	BERTH_MINIO_KMS_KEY_ID" "$@"
log "serving until interrupted (^C stops it and removes $WORK)"
rc=0
wait "$PID" || rc=$?
log "server exited with status $rc"
exit "$rc"
