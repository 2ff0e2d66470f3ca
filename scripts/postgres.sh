#!/usr/bin/env bash
# Run a throw-away PostgreSQL cluster (Debian's postgresql-15, installed on
# demand) on 127.0.0.1, for meta/postgres and the suites that run on it.
#
# Usage:
#   scripts/postgres.sh              # serve, print the exports, wait for ^C
#   scripts/postgres.sh -- CMD ARGS  # serve, run CMD, stop; exit with CMD's status
#
# It composes with the other server scripts:
#   scripts/slapd.sh -- scripts/minio.sh -- scripts/postgres.sh -- go test ./...
#
# The cluster is initdb'd into a temp dir (removed on exit) as a non-root
# user (PostgreSQL refuses to run as root): when run as root, the package's
# `postgres` user, else a system user `berthpg` created for it; when not
# root, the calling user. It listens on 127.0.0.1 only, on a free port, with
# its unix socket in the temp dir; trust authentication for the superuser
# `berth`; UTF8 encoding and the C locale; max_connections 300 (several
# stores of 30 connections each in one test binary). fsync and full-page
# writes are OFF, for speed; synchronous_commit stays on, so a COMMIT has
# written its WAL to the kernel before it returns: a crash of PostgreSQL
# (kill -9) loses nothing committed, a crash of the machine may, which a
# throw-away cluster can afford. BERTH_POSTGRES_CONF, when set, holds more
# postgresql.conf lines, appended last (bench/run.sh sets
# shared_preload_libraries = 'pg_stat_statements').
#
# CMD sees:
#   BERTH_TEST_POSTGRES_DSN  postgres://berth@127.0.0.1:PORT/postgres?sslmode=disable
#                            (a superuser: tests CREATE DATABASE per store)
#   BERTH_POSTGRES_PID       the postmaster's pid
#   BERTH_POSTGRES_BIN       the postgres server binary
#   BERTH_POSTGRES_DATA      the data directory (its postgresql.conf holds
#                            the port and every setting above)
#   BERTH_POSTGRES_PORT      the port
#   BERTH_POSTGRES_USER      the OS user the server runs as ("" when that is
#                            the caller)
#
# A fault test stops the server with `kill -9 "$BERTH_POSTGRES_PID"` and
# starts it again on the same port and data, as BERTH_POSTGRES_USER, with:
#   setpriv --reuid="$BERTH_POSTGRES_USER" --regid="$BERTH_POSTGRES_USER" --init-groups \
#       "$BERTH_POSTGRES_BIN" -D "$BERTH_POSTGRES_DATA"
# (without setpriv when BERTH_POSTGRES_USER is empty; from Go, exec.Command
# with SysProcAttr.Credential does the same). The new postmaster refuses to
# start while backends of the killed one are still exiting ("pre-existing
# shared memory block is still in use"): retry until it stays up, then poll
# `pg_isready -h 127.0.0.1 -p "$BERTH_POSTGRES_PORT"`. On exit this script
# stops whichever postmaster owns the data dir then (postmaster.pid), so a
# restarted one is cleaned up too.
#
# Without --, the script serves until ^C, also after its server exited
# (a fault test may restart it). The server log is printed when the server fails to start or CMD fails,
# and kept at $POSTGRES_LOG if that is set. The package version is pinned
# in versions.env (POSTGRES_DEB_VERSION); another installed version runs
# with a warning, as Debian's archive keeps only its newest security
# release.
# shellcheck disable=SC2317 # cleanup and what it calls run from the EXIT trap
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC1091 # versions.env sits beside this script
source "$ROOT/scripts/versions.env"
LIB_NAME=postgres.sh
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

if [[ $# -gt 0 && $1 != "--" ]]; then
	log "usage: scripts/postgres.sh [-- CMD [ARGS]]"
	exit 2
fi

PGBIN=/usr/lib/postgresql/$POSTGRES_MAJOR/bin
PKG=postgresql-$POSTGRES_MAJOR
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO=sudo

# install: Debian's server package, the pinned version when the archive
# still has it. The package's default cluster is not wanted: postgresql-common
# reads createcluster.d before it makes one.
install() {
	$SUDO mkdir -p /etc/postgresql-common/createcluster.d
	echo "create_main_cluster = false" | $SUDO tee /etc/postgresql-common/createcluster.d/berth-no-main.conf >/dev/null
	lib_apt_install "$POSTGRES_DEB_VERSION" "$PKG"
}
[[ -x $PGBIN/postgres ]] || install
have=$(lib_deb_check "$PKG" "$POSTGRES_DEB_VERSION")
BIN=$PGBIN/postgres

# The OS user the server runs as, and how to run a command as it.
RUNAS=()
PGUSER_OS=""
if [[ $(id -u) -eq 0 ]]; then
	if id postgres >/dev/null 2>&1; then
		PGUSER_OS=postgres
	else
		id berthpg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin berthpg
		PGUSER_OS=berthpg
	fi
	RUNAS=(setpriv --reuid="$PGUSER_OS" --regid="$PGUSER_OS" --init-groups)
fi

PORT=$(lib_free_port 127.0.0.1)

WORK=$(lib_workdir postgres)
DATA=$WORK/data
SOCK=$WORK/sock
LOG=${POSTGRES_LOG:-$WORK/postgres.log}
PID=""

# stop_all: fast shutdown (SIGINT) of the postmaster that owns the data dir
# now and of the one this script started, SIGKILL after 10 s. Only a
# process running $BIN on $DATA is stopped, so a pid file left by a
# killed server never names another process.
stop_all() {
	local pids=() p
	if [[ -n $PID ]] && lib_runs "$PID" "$BIN" "$DATA"; then pids+=("$PID"); fi
	if [[ -f $DATA/postmaster.pid ]]; then
		p=$(head -n 1 "$DATA/postmaster.pid" 2>/dev/null || true)
		if [[ $p =~ ^[0-9]+$ && $p != "$PID" ]] && lib_runs "$p" "$BIN" "$DATA"; then pids+=("$p"); fi
	fi
	lib_stop INT "${pids[@]}"
}

lib_on_exit rm -rf "$WORK"
lib_on_exit stop_all

mkdir -p "$DATA" "$SOCK"
touch "$LOG"
[[ -z $PGUSER_OS ]] || chown -R "$PGUSER_OS:" "$WORK"

if ! "${RUNAS[@]}" "$PGBIN/initdb" -D "$DATA" -U berth --auth=trust --encoding=UTF8 --locale=C --no-sync \
	>"$WORK/initdb.log" 2>&1; then
	cat "$WORK/initdb.log" >&2
	log "initdb failed"
	exit 1
fi
cat >>"$DATA/postgresql.conf" <<CONF

# scripts/postgres.sh: a throw-away test cluster
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$SOCK'
max_connections = 300
shared_buffers = 128MB
fsync = off
full_page_writes = off
max_pred_locks_per_transaction = 256
logging_collector = off
log_min_messages = warning
log_line_prefix = '%m [%p] %d '
CONF
if [[ -n ${BERTH_POSTGRES_CONF:-} ]]; then
	printf '\n# BERTH_POSTGRES_CONF\n%s\n' "$BERTH_POSTGRES_CONF" >>"$DATA/postgresql.conf"
fi
cat >"$DATA/pg_hba.conf" <<HBA
local all all trust
host all all 127.0.0.1/32 trust
HBA

start_ns=$(date +%s%N)
# Started from a subshell that exits at once, so the server is no child
# of this shell: bash would report a kill -9 of it ("Killed") in CMD's
# output.
("${RUNAS[@]}" "$BIN" -D "$DATA" >>"$LOG" 2>&1 & echo $! >"$WORK/postmaster.started")
PID=$(cat "$WORK/postmaster.started")

lib_wait_ready 30 "$PID" "$LOG" "127.0.0.1:$PORT" pg_isready -q -h 127.0.0.1 -p "$PORT"
ready_ms=$((($(date +%s%N) - start_ns) / 1000000))
log "PostgreSQL $("$BIN" --version | awk '{print $3}') ($PKG $have) ready in ${ready_ms}ms at 127.0.0.1:$PORT (data $DATA, fsync off)"

export BERTH_TEST_POSTGRES_DSN="postgres://berth@127.0.0.1:$PORT/postgres?sslmode=disable"
export BERTH_POSTGRES_PID=$PID
export BERTH_POSTGRES_BIN=$BIN
export BERTH_POSTGRES_DATA=$DATA
export BERTH_POSTGRES_PORT=$PORT
export BERTH_POSTGRES_USER=$PGUSER_OS

lib_run_or_print postgres "$LOG" "BERTH_TEST_POSTGRES_DSN BERTH_POSTGRES_PID BERTH_POSTGRES_BIN BERTH_POSTGRES_DATA
	BERTH_POSTGRES_PORT BERTH_POSTGRES_USER" "$@"
log "serving until interrupted (^C stops it and removes $WORK)"
while lib_running "$PID"; do sleep 1; done
# A fault test may have killed it on purpose: keep the data dir for a
# restart until ^C.
log "the server this script started exited; its data stays until ^C"
while :; do sleep 1; done
