#!/usr/bin/env bash
# Benchmark Berth's example registry against CNCF Distribution on this machine.
#
# Builds both servers and the load tool, measures one-core SHA-256 speed, then
# for each target starts the server on 127.0.0.1 with an empty temp data dir,
# runs bench/load against it with identical parameters (sampling the server's
# CPU time and peak RSS from /proc), stops it, and finally prints a
# side-by-side markdown table, also written to bench/results/latest.md.
#
# Environment:
#   TARGETS       targets in order, compared in pairs (default "berth distribution");
#                 berth-s3 and distribution-s3 keep blobs on S3: a MinIO started by
#                 scripts/minio.sh on loopback (one server for the whole run,
#                 its CPU not counted in the servers' figures), each target and
#                 round under its own root prefix.
#                 berth-pg is berth (fs storage, no auth) with its metadata in
#                 PostgreSQL: one throw-away server from scripts/postgres.sh for
#                 the whole run, a fresh database per round, pg_stat_statements
#                 preloaded; its CPU counts as server CPU.
#                 berth-pg-quota and berth-pg-noquota are berth-pg with every
#                 project given a storage limit (1 TiB, quota.defaultLimit: every
#                 push counted and checked) and with quotas off (quota.enabled
#                 false); the report adds their ratios (issue 18's target).
#                 berth-pg1 and berth-pg3 run one and three instances on
#                 PostgreSQL and MinIO behind nginx, with auth, each round a
#                 fresh cluster from scripts/cluster.sh; nginx's CPU is reported
#                 apart. The report adds the ratios of berth-pg to berth and of
#                 berth-pg3 to berth-pg1 that the PostgreSQL targets name.
#   ROUNDS=N      run the targets N times, alternating, and report medians (default 1)
#   SMOKE=1       small sizes and short durations, for checking the setup (~30 s)
#   LOAD_ARGS     extra flags for bench/load, appended last (e.g. "-duration 20s")
#   BERTH_BIN     a prebuilt Berth server to use instead of building ./examples/registry
#                 (it must accept -addr host:port and -data dir)
#   BERTH_ADDR    listen address for Berth (default 127.0.0.1:5000)
#   DIST_ADDR     listen address for Distribution (default 127.0.0.1:5001)
#   RESULTS       output directory (default bench/results)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
RESULTS=${RESULTS:-$ROOT/bench/results}
TOOLS=$ROOT/.tools/bin
TARGETS=${TARGETS:-berth distribution}
BERTH_ADDR=${BERTH_ADDR:-127.0.0.1:5000}
DIST_ADDR=${DIST_ADDR:-127.0.0.1:5001}
DIST_VERSION=v3.1.2
ROUNDS=${ROUNDS:-1}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "ROUNDS must be a positive integer" >&2; exit 2; }
if [[ " $TARGETS " == *-s3\ * && -z ${BERTH_S3_ENDPOINT:-} ]]; then
	# S3 targets: run the whole benchmark under a throw-away MinIO.
	exec scripts/minio.sh -- "$0" "$@"
fi
# PostgreSQL for the pg targets: pg_stat_statements preloaded (the load
# tool reads it), its log kept for counting serialization failures.
export BERTH_POSTGRES_CONF="shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = top
pg_stat_statements.max = 10000"
if [[ " $TARGETS " =~ \ berth-pg(-quota|-noquota)?\  && -z ${BERTH_TEST_POSTGRES_DSN:-} ]]; then
	mkdir -p "$RESULTS"
	export POSTGRES_LOG=$RESULTS/berth-pg-postgres.log
	rm -f "$POSTGRES_LOG"
	exec scripts/postgres.sh -- "$0" "$@"
fi

if [[ ${SMOKE:-0} == 1 ]]; then
	LOAD_FLAGS="-blob-size 64MiB -duration 2s -get-tags 200 -list-tags 500 -catalog-repos 100 -repeat 2 -pull-repeat 2"
else
	LOAD_FLAGS="-blob-size 1GiB -chunk-size 16MiB -small-size 4KiB -duration 10s -concurrency 16 -get-concurrency 32 -get-tags 2000 -list-tags 5000 -catalog-repos 1000 -page-size 100 -repeat 5 -pull-repeat 3"
fi
LOAD_FLAGS="$LOAD_FLAGS ${LOAD_ARGS:-}"

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

START=$(date +%s)
LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
awk '$1 > 1 {exit 1}' /proc/loadavg || log "warning: load average is $LOAD_BEFORE; other work on this machine skews the figures"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench.XXXXXX")
SERVER_PID=""

stop_server() {
	[[ -n $SERVER_PID ]] || return 0
	kill "$SERVER_PID" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.2
	done
	kill -9 "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=""
}
# drop_db removes the berth-pg round's database once its server stopped.
PG_DB=""
drop_db() {
	[[ -n $PG_DB ]] || return 0
	psql -q "$BERTH_TEST_POSTGRES_DSN" -c "DROP DATABASE IF EXISTS $PG_DB" || log "warning: could not drop database $PG_DB"
	PG_DB=""
}
# shellcheck disable=SC2317 # runs from the EXIT trap
cleanup() {
	stop_server
	drop_db
	rm -rf "$WORK"
}

# run_cluster N TARGET OUT: a fresh cluster of N instances on PostgreSQL and
# MinIO behind nginx (scripts/cluster.sh), with the load tool run inside it
# against nginx, authenticated as admin. The instances' output and the
# cluster's go to TARGET.log; PostgreSQL's log to TARGET-postgres.log.
run_cluster() {
	local n=$1 t=$2 out=$3
	local pglog=$RESULTS/$t-postgres.log
	rm -f "$pglog"
	log "starting $t: $n instance(s) behind nginx"
	# shellcheck disable=SC2016,SC2086 # expanded inside the cluster; LOAD_FLAGS is a list of flags
	POSTGRES_LOG=$pglog scripts/cluster.sh "$n" -- bash -c '
		set -euo pipefail
		pglog=$1
		shift
		more=()
		if [[ -f $pglog ]]; then more=(-db-log "$pglog"); fi
		if [[ -n ${BERTH_MINIO_PID:-} ]]; then more+=(-store-pid "$BERTH_MINIO_PID"); fi
		export BERTH_LOAD_PASSWORD=$BERTH_CLUSTER_ADMIN_PASSWORD
		exec "$@" -url "$BERTH_CLUSTER_URL" -user admin -server-pid "${BERTH_CLUSTER_PIDS// /,}" \
			-db-pid "$BERTH_POSTGRES_PID" -db-dsn "$BERTH_CLUSTER_DSN" -lb-pid "$BERTH_CLUSTER_NGINX_PID" "${more[@]}"
	' cluster-load "$pglog" "$WORK/load" -target "$t" -wait 60s -json "$out" $LOAD_FLAGS 2> >(tee -a "$RESULTS/$t.log" >&2)
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# port_busy HOST:PORT succeeds if something already listens there.
port_busy() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }

mkdir -p "$RESULTS" "$TOOLS"

log "building the load tool"
go build -o "$WORK/load" ./bench/load
go build -o "$WORK/sha256speed" ./bench/sha256speed
go build -o "$WORK/report" ./bench/report

for t in $TARGETS; do
	case $t in
	distribution | distribution-s3)
		ver=$("$TOOLS/registry" --version 2>/dev/null || true)
		if [[ ! $ver =~ distribution/v3\ ${DIST_VERSION//./\\.}([^0-9]|$) ]]; then
			log "installing Distribution $DIST_VERSION into $TOOLS"
			GOBIN=$TOOLS go install "github.com/distribution/distribution/v3/cmd/registry@$DIST_VERSION"
		fi
		;;
	berth-pg1 | berth-pg3)
		[[ -x scripts/cluster.sh ]] || die "$t needs scripts/cluster.sh"
		;;&
	berth-pg | berth-pg-quota | berth-pg-noquota)
		[[ -n ${BERTH_TEST_POSTGRES_DSN:-} ]] || die "$t needs PostgreSQL (BERTH_TEST_POSTGRES_DSN)"
		;;&
	berth | berth-s3 | berth-pg | berth-pg-quota | berth-pg-noquota | berth-pg1 | berth-pg3)
		[[ ! -e $WORK/berth-registry ]] || continue
		if [[ -n ${BERTH_BIN:-} ]]; then
			[[ -x $BERTH_BIN ]] || die "BERTH_BIN=$BERTH_BIN is not executable"
			ln -s "$(realpath "$BERTH_BIN")" "$WORK/berth-registry"
		else
			[[ -d examples/registry ]] || die "examples/registry does not exist yet; run with TARGETS=distribution"
			log "building Berth's example registry"
			go build -o "$WORK/berth-registry" ./examples/registry
		fi
		;;
	*) die "unknown target $t (known: berth distribution berth-s3 distribution-s3 berth-pg berth-pg-quota berth-pg-noquota berth-pg1 berth-pg3)" ;;
	esac
done

log "measuring one-core sha256 speed"
"$WORK/sha256speed" -json -runs 3 >"$RESULTS/sha256.json"
SHA_MBPS=$(sed -n 's/.*"sha256_mbps":\([0-9.]*\).*/\1/p' "$RESULTS/sha256.json")
log "sha256: ${SHA_MBPS%.*} MB/s"

FAILED=0
JSONS=()
for t in $TARGETS; do rm -f "$RESULTS/$t.json" "$RESULTS/$t"-round*.json; done
for round in $(seq "$ROUNDS"); do
	for t in $TARGETS; do
		out=$RESULTS/$t.json
		[[ $ROUNDS == 1 ]] || out=$RESULTS/$t-round$round.json
		[[ $ROUNDS == 1 ]] || log "round $round of $ROUNDS: $t"
		data=$WORK/$t-data
		mkdir -p "$data"
		if [[ $round == 1 ]]; then : >"$RESULTS/$t.log"; fi
		case $t in
		berth-pg1 | berth-pg3)
			# The cluster script runs everything; the load tool runs inside it.
			if ! run_cluster "${t#berth-pg}" "$t" "$out"; then
				log "$t: load reported failures (see above and $RESULTS/$t.log)"
				FAILED=1
			fi
			[[ -f $out ]] && JSONS+=("$out")
			rm -rf "$data"
			continue
			;;
		esac
		extra=()
		case $t in
		distribution | distribution-s3)
			addr=$DIST_ADDR
			if [[ $t == distribution ]]; then
				store="  filesystem:
    rootdirectory: $data"
			else
				store="  s3:
    accesskey: $BERTH_S3_ACCESS_KEY
    secretkey: $BERTH_S3_SECRET_KEY
    region: $BERTH_S3_REGION
    regionendpoint: $BERTH_S3_ENDPOINT
    forcepathstyle: true
    bucket: $BERTH_S3_BUCKET
    rootdirectory: /bench/$t-$round"
			fi
			cat >"$WORK/distribution.yml" <<-EOF
				version: 0.1
				log:
				  level: warn
				  accesslog:
				    disabled: true
				storage:
				$store
				  delete:
				    enabled: true
				  cache:
				    blobdescriptor: inmemory
				http:
				  addr: $addr
				  secret: berth-bench-not-secret
				catalog:
				  maxentries: 100000
			EOF
			cmd=("$TOOLS/registry" serve "$WORK/distribution.yml")
			;;
		berth)
			addr=$BERTH_ADDR
			cmd=(env BERTH_AUTH_DISABLED=true "$WORK/berth-registry" -addr "$addr" -data "$data")
			;;
		berth-s3)
			addr=$BERTH_ADDR
			cmd=(env BERTH_AUTH_DISABLED=true BERTH_STORAGE_DRIVER=s3 "BERTH_S3_ROOT=bench/$t-$round" BERTH_S3_REDIRECT_EXPIRY=20m "$WORK/berth-registry" -addr "$addr" -data "$data")
			;;
		berth-pg | berth-pg-quota | berth-pg-noquota)
			addr=$BERTH_ADDR
			db=bench_${round}_$$
			psql -q "$BERTH_TEST_POSTGRES_DSN" -c "CREATE DATABASE $db" || die "cannot create database $db"
			PG_DB=$db
			dsn="${BERTH_TEST_POSTGRES_DSN%%/postgres\?*}/$db?sslmode=disable"
			quota=()
			case $t in
			berth-pg-quota) quota=(BERTH_QUOTA_DEFAULT_LIMIT=1099511627776) ;;
			berth-pg-noquota) quota=(BERTH_QUOTA_ENABLED=false) ;;
			esac
			cmd=(env BERTH_AUTH_DISABLED=true BERTH_METADATA_DRIVER=postgres "BERTH_METADATA_POSTGRES_DSN=$dsn" "${quota[@]}"
				"$WORK/berth-registry" -addr "$addr" -data "$data")
			extra=(-db-pid "$BERTH_POSTGRES_PID" -db-dsn "$dsn")
			[[ -z ${POSTGRES_LOG:-} ]] || extra+=(-db-log "$POSTGRES_LOG")
			;;
		esac
		port_busy "$addr" && die "$addr is already in use"

		log "starting $t on $addr"
		"${cmd[@]}" >>"$RESULTS/$t.log" 2>&1 &
		SERVER_PID=$!
		# shellcheck disable=SC2086 # LOAD_FLAGS is a list of flags
		if ! "$WORK/load" -url "http://$addr" -target "$t" -server-pid "$SERVER_PID" -wait 30s \
			-json "$out" "${extra[@]}" $LOAD_FLAGS; then
			log "$t: load reported failures (see above and $RESULTS/$t.log)"
			FAILED=1
		fi
		stop_server
		drop_db
		[[ -f $out ]] && JSONS+=("$out")
		rm -rf "$data"
		sync
	done
done

[[ ${#JSONS[@]} -gt 0 ]] || die "no results"

ELAPSED=$(($(date +%s) - START))
BERTH_REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z $(git status --porcelain 2>/dev/null) ]] || BERTH_REV="$BERTH_REV+uncommitted changes"
CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
MEM=$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)
{
	echo "## Registry benchmark, $(date -u +%F)"
	echo
	echo "- machine: $(nproc) cores ($CPU_MODEL), $MEM, $(go env GOVERSION); client and server share it"
	echo "- targets: $TARGETS; Berth at $BERTH_REV, Distribution $DIST_VERSION (inmemory blob descriptor cache, access log off)"
	[[ " $TARGETS " != *\ berth-pg* ]] || echo "- PostgreSQL $(sed -n 's/^POSTGRES_DEB_VERSION=//p' scripts/versions.env) on loopback (fsync off, pg_stat_statements); berth-pg: one instance, fs storage, no auth, fresh database per round; berth-pg1/berth-pg3: 1/3 instances on PostgreSQL and MinIO behind nginx, auth on (bearer tokens), fresh cluster per round; server CPU = instances + PostgreSQL, nginx apart"
	[[ " $TARGETS " != *-s3\ * ]] || echo "- -s3 targets: blobs on MinIO $(sed -n 's/^MINIO_VERSION=//p' scripts/versions.env) on loopback (path-style, no TLS), whose CPU the server figures leave out; pulls are presigned redirects on both (Distribution's default, Berth's redirectExpiry 20m); the others on the local filesystem"
	echo "- load flags: \`$(echo $LOAD_FLAGS)\`"
	echo "- rounds: $ROUNDS (targets alternate; figures are medians); whole run: ${ELAPSED}s; 1-minute load average $LOAD_BEFORE before, $(cut -d' ' -f1 /proc/loadavg) after"
	echo
	"$WORK/report" -sha256 "$RESULTS/sha256.json" "${JSONS[@]}"
} >"$RESULTS/latest.md"
echo
cat "$RESULTS/latest.md"
exit $FAILED
