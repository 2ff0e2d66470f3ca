#!/usr/bin/env bash
# Run a throw-away nginx (Debian 12's package, installed on demand) on a
# loopback address as the load balancer in front of registry instances.
#
# Usage:
#   scripts/nginx.sh UPSTREAM...                 # serve, print the exports, wait for ^C
#   scripts/nginx.sh UPSTREAM... -- CMD [ARGS]   # serve, run CMD, stop; exit with CMD's status
#
# Each UPSTREAM is the host:port of one instance, for example
#   scripts/nginx.sh 127.0.0.1:5001 127.0.0.1:5002 127.0.0.1:5003 -- curl -sI "$BERTH_NGINX_URL/v2/"
# (the instances need not be up yet: nginx answers 502 until one is).
#
# Settings from the environment:
#   NGINX_ADDR          where it listens, a loopback host:port (default
#                       127.0.0.1:0, a free port)
#   NGINX_MAX_FAILS     failed attempts that take an instance out of the
#                       rotation (default 1) ...
#   NGINX_FAIL_TIMEOUT  ... for this long, after which it is tried again
#                       (default 5s)
#   NGINX_LOG           keep the error log there
#
# The configuration (written to the temp dir, printed by `cat
# "$BERTH_NGINX_CONF"`) is what a registry needs from a proxy:
#   - upstream berth { server HOST:PORT max_fails=N fail_timeout=T; ... }
#     round robin, with keepalive connections (proxy_http_version 1.1);
#   - client_max_body_size 0, proxy_request_buffering off and
#     proxy_buffering off: layers of any size stream through in both
#     directions without being spooled to disk;
#   - Host, X-Forwarded-For, X-Forwarded-Proto and X-Forwarded-Host are
#     passed on (the registry builds its Location headers and token realm
#     from them unless it has an externalURL);
#   - proxy_next_upstream error timeout (nginx's default, written out): a
#     request an instance could not take (connection refused: it is down)
#     goes to the next one. nginx never passes on a POST or PATCH once it
#     has sent it to an instance (a non-idempotent request may have taken
#     effect), nor any request whose body it has started streaming
#     (request buffering is off): those fail with 502 and the client
#     retries. A 503 from an instance is not retried elsewhere either: the
#     registry answers 503 when a backend every instance shares
#     (PostgreSQL, the object store) is down, so another instance would
#     answer the same, and counting it as a failure would take healthy
#     instances out of the rotation and turn the 503 with Retry-After
#     into nginx's own 502.
#
# CMD sees:
#   BERTH_NGINX_URL         http://ADDR
#   BERTH_NGINX_ADDR        ADDR (host:port)
#   BERTH_NGINX_PID         the master process (also its process group)
#   BERTH_NGINX_BIN, BERTH_NGINX_CONF, BERTH_NGINX_PREFIX (the temp dir)
#   BERTH_NGINX_ERROR_LOG   the error log
#   BERTH_NGINX_ACCESS_LOG  one line a request, with the instance that
#                           answered it (upstream=ADDR (status), several
#                           when nginx tried more than one)
#
# nginx runs as the calling user; as root, its workers run as nobody. The
# temp dir is removed on exit; the error log is printed when nginx fails to
# start or CMD fails.
# shellcheck disable=SC2317 # stop runs from the EXIT trap
# shellcheck disable=SC2094 # nginx appends to the log it is given with -e
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC1091 # versions.env sits beside this script
source "$ROOT/scripts/versions.env"
LIB_NAME=nginx.sh
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

UPSTREAMS=()
while [[ $# -gt 0 && $1 != "--" ]]; do
	if [[ ! $1 =~ ^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):[0-9]+$ ]]; then
		log "upstream must be host:port, got $1"
		exit 2
	fi
	UPSTREAMS+=("$1")
	shift
done
if [[ ${#UPSTREAMS[@]} -eq 0 ]]; then
	log "usage: scripts/nginx.sh UPSTREAM... [-- CMD [ARGS]]"
	exit 2
fi

ADDR=${NGINX_ADDR:-127.0.0.1:0}
lib_loopback "$ADDR"
MAX_FAILS=${NGINX_MAX_FAILS:-1}
FAIL_TIMEOUT=${NGINX_FAIL_TIMEOUT:-5s}
if [[ ! $MAX_FAILS =~ ^[0-9]+$ || ! $FAIL_TIMEOUT =~ ^[0-9]+(ms|s|m)?$ ]]; then
	log "NGINX_MAX_FAILS must be a count and NGINX_FAIL_TIMEOUT a time (5s), got $MAX_FAILS and $FAIL_TIMEOUT"
	exit 2
fi

BIN=/usr/sbin/nginx
[[ -x $BIN ]] || lib_apt_install "$NGINX_DEB_VERSION" nginx nginx-common
have=$(lib_deb_check nginx "$NGINX_DEB_VERSION")

[[ $PORT != 0 ]] || PORT=$(lib_free_port "$HOST")
ADDR=$HOST:$PORT

WORK=$(lib_workdir nginx)
CONF=$WORK/nginx.conf
LOG=${NGINX_LOG:-$WORK/error.log}
ACCESS=$WORK/access.log
PID=""

# stop: fast shutdown of the master and its workers (one process group).
stop() {
	[[ -n $PID ]] || return 0
	lib_stop_group TERM "$PID"
}
lib_on_exit rm -rf "$WORK"
lib_on_exit stop

USER_LINE=""
if [[ $(id -u) -eq 0 ]]; then
	# The workers drop root; they only need to reach the temp paths.
	USER_LINE="user nobody nogroup;"
	chmod 0755 "$WORK"
fi
SERVERS=""
for u in "${UPSTREAMS[@]}"; do
	SERVERS+="		server $u max_fails=$MAX_FAILS fail_timeout=$FAIL_TIMEOUT;"$'\n'
done
mkdir -p "$WORK/tmp"
touch "$LOG" "$ACCESS"
cat >"$CONF" <<CONF
# scripts/nginx.sh: a throw-away load balancer in front of registry instances
$USER_LINE
daemon off;
worker_processes 2;
pid $WORK/nginx.pid;
error_log $LOG warn;

events {
	worker_connections 1024;
}

http {
	log_format berth '\$remote_addr [\$time_local] "\$request" \$status \$body_bytes_sent '
		'upstream=\$upstream_addr (\$upstream_status) \$request_time';
	access_log $ACCESS berth;
	client_body_temp_path $WORK/tmp/body;
	proxy_temp_path $WORK/tmp/proxy;
	fastcgi_temp_path $WORK/tmp/fastcgi;
	uwsgi_temp_path $WORK/tmp/uwsgi;
	scgi_temp_path $WORK/tmp/scgi;

	upstream berth {
$SERVERS		keepalive 32;
	}

	server {
		listen $ADDR;
		# Layers of any size, streamed in both directions.
		client_max_body_size 0;
		proxy_request_buffering off;
		proxy_buffering off;

		location / {
			proxy_pass http://berth;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host \$http_host;
			proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
			proxy_set_header X-Forwarded-Proto \$scheme;
			proxy_set_header X-Forwarded-Host \$http_host;
			# An instance that refuses the connection is skipped; a
			# request it may have acted on is not sent again (see above).
			proxy_next_upstream error timeout;
			proxy_read_timeout 900s;
			proxy_send_timeout 900s;
		}
	}
}
CONF

if ! "$BIN" -t -q -p "$WORK/" -e "$LOG" -c "$CONF" 2>>"$LOG"; then
	log "nginx refused the configuration:"
	cat "$LOG" >&2
	exit 1
fi
start_ns=$(date +%s%N)
# In a session (and process group) of its own, started from a subshell so
# it is no child of this shell.
# (setsid does not fork here: a background job of a script leads no
# process group, so $! is the master's pid and its group's id.)
(setsid "$BIN" -p "$WORK/" -e "$LOG" -c "$CONF" >>"$LOG" 2>&1 & echo $! >"$WORK/started")
PID=$(cat "$WORK/started")
lib_wait_ready 30 "$PID" "$LOG" "$ADDR" lib_port_open "${HOST//[\[\]]/}" "$PORT"
ready_ms=$((($(date +%s%N) - start_ns) / 1000000))
log "nginx $have ready in ${ready_ms}ms at http://$ADDR -> ${UPSTREAMS[*]} (max_fails=$MAX_FAILS fail_timeout=$FAIL_TIMEOUT, conf $CONF)"

export BERTH_NGINX_URL=http://$ADDR
export BERTH_NGINX_ADDR=$ADDR
export BERTH_NGINX_PID=$PID
export BERTH_NGINX_BIN=$BIN
export BERTH_NGINX_CONF=$CONF
export BERTH_NGINX_PREFIX=$WORK
export BERTH_NGINX_ERROR_LOG=$LOG
export BERTH_NGINX_ACCESS_LOG=$ACCESS

lib_run_or_print nginx "$LOG" "BERTH_NGINX_URL BERTH_NGINX_ADDR BERTH_NGINX_PID BERTH_NGINX_BIN BERTH_NGINX_CONF
	BERTH_NGINX_PREFIX BERTH_NGINX_ERROR_LOG BERTH_NGINX_ACCESS_LOG" "$@"
log "serving until interrupted (^C stops it and removes $WORK)"
while lib_running "$PID"; do sleep 1; done
log "nginx exited"
exit 1
