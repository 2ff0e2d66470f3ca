#!/usr/bin/env bash
# Run a throw-away Berth cluster on loopback: N example-server instances
# sharing one PostgreSQL database (scripts/postgres.sh) and one S3 bucket
# (MinIO, scripts/minio.sh), behind nginx (scripts/nginx.sh).
#
# Usage:
#   scripts/cluster.sh N                 # serve, print the exports, wait for ^C
#   scripts/cluster.sh N -- CMD [ARGS]   # serve, run CMD, stop; exit with CMD's status
#
# for example
#   scripts/cluster.sh 3 -- go test -count=1 ./cluster/...
#
# The registry (./examples/registry) is built once into bin/registry and
# copied into the temp dir. Each instance has its own listen port, data
# directory and config file, and shares with the others:
#   - the metadata: metadata.driver postgres, one fresh database;
#   - the blobs: storage.driver s3, the bucket berth-test on MinIO;
#   - the token signing key and the session cookie key, through the
#     metadata store (the first instance to start generates them), so a
#     token or a session cookie from one instance works on every other;
#   - the admin password: BERTH_ADMIN_PASSWORD if set, else a random one;
#   - externalURL: the nginx URL, so every 401 challenge sends clients to
#     the token service through the balancer, also from an instance
#     reached directly. It names the balancer http://localhost:PORT: a
#     client like go-containerregistry refuses a token realm on a private
#     IP address unless it is the registry's own host:port.
# Settings for a cluster under test: events.jobLease 5s (a killed
# instance's jobs move to another within seconds), outbound.allow
# 127.0.0.0/8 (webhook receivers and replication peers on loopback),
# replication backoff 200ms to 2s, webhook backoff 100ms to 1s. The
# instances inherit the caller's environment, so other BERTH_* server
# variables apply to all of them (BERTH_LOG_LEVEL=debug); the ones this
# script sets in the config files are unset first.
#
# CMD sees, besides everything postgres.sh, minio.sh and nginx.sh export
# (BERTH_TEST_POSTGRES_DSN, BERTH_POSTGRES_PID, BERTH_S3_*, BERTH_NGINX_*, ...):
#   BERTH_CLUSTER_URL             the balancer, http://127.0.0.1:PORT
#   BERTH_CLUSTER_INSTANCES       the instances' URLs, space-separated
#   BERTH_CLUSTER_PIDS            their pids as started, in the same order
#   BERTH_CLUSTER_CONFIGS         their config files, in the same order
#   BERTH_CLUSTER_LOGS            their logs (stdout and stderr), same order
#   BERTH_CLUSTER_NGINX_PID       nginx's master process
#   BERTH_CLUSTER_ADMIN_PASSWORD  the password of the user admin
#   BERTH_CLUSTER_DSN             the database the instances share
#   BERTH_CLUSTER_BIN             the registry binary
#
# A fault test kills instance i with `kill -9` and starts it again, on
# the same port, data dir and shared backends, in CMD's environment, with
#   "$BERTH_CLUSTER_BIN" -config "<i-th of BERTH_CLUSTER_CONFIGS>" >>"<i-th log>" 2>&1 &
# then polls <i-th URL>/readyz until it answers 200. On exit this script
# stops every process running $BERTH_CLUSTER_BIN (TERM, KILL after 10 s),
# restarted ones included, before nginx, PostgreSQL and MinIO stop.
#
# Without CMD the exports are printed for another shell (eval them) and
# the cluster serves until ^C. The temp dir (data dirs, configs, logs) is
# removed on exit; the instances' logs are printed when CMD fails.
# shellcheck disable=SC2317 # cleanup functions run from the EXIT trap
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LIB_NAME=cluster.sh
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

usage() {
	log "usage: scripts/cluster.sh N [-- CMD [ARGS]]   (N instances, 1 to 9)"
	exit 2
}

# The second stage runs inside minio.sh, postgres.sh and nginx.sh (see
# the end): it starts the instances and runs CMD.
if [[ ${1:-} == "--stage2" ]]; then
	shift
	WORK=$_BERTH_CLUSTER_WORK
	read -r -a PORTS <<<"$_BERTH_CLUSTER_PORTS"
	BIN=$WORK/registry
	PASSWORD=$_BERTH_CLUSTER_ADMIN_PASSWORD
	unset _BERTH_CLUSTER_WORK _BERTH_CLUSTER_PORTS _BERTH_CLUSTER_ADMIN_PASSWORD
	# Set in the config files: a caller's value would override them there.
	unset BERTH_CONFIG BERTH_ADDR BERTH_DATA_DIR BERTH_EXTERNAL_URL BERTH_STORAGE_DRIVER BERTH_METADATA_DRIVER \
		BERTH_METADATA_POSTGRES_DSN BERTH_TOKEN_KEY BERTH_AUTH_DISABLED BERTH_EXTERNAL_HOST BERTH_JOB_LEASE \
		BERTH_OUTBOUND_ALLOW
	export BERTH_ADMIN_PASSWORD=$PASSWORD

	stop_instances() {
		local pids=()
		mapfile -t pids < <(lib_pids_of "$BIN")
		lib_stop TERM "${pids[@]}"
	}
	lib_on_exit stop_instances

	DB=berth_cluster
	psql -q -X -v ON_ERROR_STOP=1 "$BERTH_TEST_POSTGRES_DSN" \
		-c "CREATE DATABASE $DB TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
	DSN=${BERTH_TEST_POSTGRES_DSN/\/postgres\?//$DB?}

	URLS=() PIDS=() CONFIGS=() LOGS=()
	start_ns=$(date +%s%N)
	for i in "${!PORTS[@]}"; do
		dir=$WORK/i$((i + 1))
		mkdir -p "$dir/data"
		conf=$dir/config.yaml
		cat >"$conf" <<YAML
# scripts/cluster.sh: instance $((i + 1)) of ${#PORTS[@]}
addr: 127.0.0.1:${PORTS[i]}
dataDir: $dir/data
externalURL: http://localhost:${BERTH_NGINX_ADDR##*:}
storage:
  driver: s3
  s3:
    bucket: $BERTH_S3_BUCKET
    region: $BERTH_S3_REGION
    endpoint: $BERTH_S3_ENDPOINT
    accessKey: $BERTH_S3_ACCESS_KEY
    secretKey: $BERTH_S3_SECRET_KEY
metadata:
  driver: postgres
  postgres:
    dsn: $DSN
    maxConns: 10
auth:
  adminPassword: $PASSWORD
events:
  externalHost: $BERTH_NGINX_ADDR
  jobLease: 5s
  webhookBackoff: 100ms
  webhookMaxBackoff: 1s
replication:
  backoff: 200ms
  maxBackoff: 2s
outbound:
  allow: [127.0.0.0/8]
YAML
		chmod 0600 "$conf"
		logfile=$dir/registry.log
		# In a session of its own, from a subshell: no child of this
		# shell (bash would report a kill -9 in CMD's output), and not
		# in the terminal's process group (^C reaches this script, which
		# stops the instances before the backends).
		(setsid "$BIN" -config "$conf" >>"$logfile" 2>&1 & echo $! >"$dir/started")
		URLS+=("http://127.0.0.1:${PORTS[i]}")
		PIDS+=("$(cat "$dir/started")")
		CONFIGS+=("$conf")
		LOGS+=("$logfile")
	done
	for i in "${!PORTS[@]}"; do
		lib_wait_ready 60 "${PIDS[i]}" "${LOGS[i]}" "${URLS[i]}" lib_http_ok "${URLS[i]}/readyz"
	done
	ready_ms=$((($(date +%s%N) - start_ns) / 1000000))
	log "${#PORTS[@]} instances ready in ${ready_ms}ms (${URLS[*]}) behind $BERTH_NGINX_URL; user admin, password $PASSWORD; files in $WORK"

	export BERTH_CLUSTER_URL=$BERTH_NGINX_URL
	export BERTH_CLUSTER_INSTANCES="${URLS[*]}"
	export BERTH_CLUSTER_PIDS="${PIDS[*]}"
	export BERTH_CLUSTER_CONFIGS="${CONFIGS[*]}"
	export BERTH_CLUSTER_LOGS="${LOGS[*]}"
	export BERTH_CLUSTER_NGINX_PID=$BERTH_NGINX_PID
	export BERTH_CLUSTER_ADMIN_PASSWORD=$PASSWORD
	export BERTH_CLUSTER_DSN=$DSN
	export BERTH_CLUSTER_BIN=$BIN

	if [[ ${1:-} == "--" ]]; then
		shift
		set +e
		"$@"
		rc=$?
		set -e
		if [[ $rc -ne 0 ]]; then
			for f in "${LOGS[@]}"; do
				echo "---- $f (last 30 lines) ----" >&2
				tail -n 30 "$f" >&2 || true
			done
		fi
		exit "$rc"
	fi
	lib_print_exports BERTH_CLUSTER_URL BERTH_CLUSTER_INSTANCES BERTH_CLUSTER_PIDS BERTH_CLUSTER_CONFIGS \
		BERTH_CLUSTER_LOGS BERTH_CLUSTER_NGINX_PID BERTH_CLUSTER_ADMIN_PASSWORD BERTH_CLUSTER_DSN BERTH_CLUSTER_BIN \
		BERTH_TEST_POSTGRES_DSN BERTH_POSTGRES_PID BERTH_POSTGRES_BIN BERTH_POSTGRES_DATA BERTH_POSTGRES_PORT \
		BERTH_POSTGRES_USER BERTH_S3_ENDPOINT BERTH_S3_REGION BERTH_S3_BUCKET BERTH_S3_ACCESS_KEY BERTH_S3_SECRET_KEY \
		BERTH_MINIO_PID BERTH_MINIO_BIN BERTH_MINIO_DATA BERTH_MINIO_ADDR BERTH_MINIO_CONSOLE_ADDR \
		MINIO_ROOT_USER MINIO_ROOT_PASSWORD MINIO_SITE_REGION MINIO_UPDATE MINIO_CI_CD MINIO_KMS_SECRET_KEY \
		BERTH_MINIO_KMS_KEY_ID BERTH_NGINX_URL BERTH_NGINX_ADDR BERTH_NGINX_PID BERTH_NGINX_BIN BERTH_NGINX_CONF \
		BERTH_NGINX_PREFIX BERTH_NGINX_ERROR_LOG BERTH_NGINX_ACCESS_LOG
	log "serving until interrupted (^C stops everything and removes $WORK)"
	while :; do sleep 1; done
fi

# First stage: check, build, make the shared keys, pick the ports, then
# run the second stage inside the backends and the balancer.
[[ $# -ge 1 && $1 =~ ^[1-9]$ ]] || usage
N=$1
shift
if [[ $# -gt 0 && $1 != "--" ]]; then usage; fi

WORK=$(lib_workdir cluster)
chmod 0700 "$WORK"
BIN=$WORK/registry
# Whatever the second stage could not stop (it was killed) is stopped
# here, before the temp dir goes.
stop_leftovers() {
	local pids=()
	mapfile -t pids < <(lib_pids_of "$BIN")
	lib_stop KILL "${pids[@]}"
}
lib_on_exit rm -rf "$WORK"
lib_on_exit stop_leftovers

start=$SECONDS
(cd "$ROOT" && go build -o "$ROOT/bin/registry" ./examples/registry)
cp "$ROOT/bin/registry" "$BIN"
log "built ./examples/registry in $((SECONDS - start))s"

PASSWORD=${BERTH_ADMIN_PASSWORD:-$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')}

# N + 1 distinct free ports: the instances' and nginx's.
ports=()
while [[ ${#ports[@]} -le $N ]]; do
	p=$(lib_free_port 127.0.0.1)
	[[ " ${ports[*]} " == *" $p "* ]] || ports+=("$p")
done
upstreams=()
for p in "${ports[@]:1}"; do upstreams+=("127.0.0.1:$p"); done

export _BERTH_CLUSTER_WORK=$WORK _BERTH_CLUSTER_PORTS="${ports[*]:1}" _BERTH_CLUSTER_ADMIN_PASSWORD=$PASSWORD
export NGINX_ADDR=127.0.0.1:${ports[0]}
set +e
"$ROOT/scripts/minio.sh" -- "$ROOT/scripts/postgres.sh" -- "$ROOT/scripts/nginx.sh" "${upstreams[@]}" -- \
	"$ROOT/scripts/cluster.sh" --stage2 "$@"
rc=$?
set -e
exit "$rc"
