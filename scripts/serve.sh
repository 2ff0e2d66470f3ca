#!/usr/bin/env bash
# serve.sh BIN -- CMD...: starts the example registry binary BIN on a free
# 127.0.0.1 port with a fresh data directory, exports BERTH_REGISTRY
# (host:port) for CMD, runs CMD, and always stops the server afterwards.
# Extra server settings come from the caller's BERTH_* environment. With
# BERTH_METADATA_DRIVER=postgres and no BERTH_METADATA_POSTGRES_DSN, the
# server gets a fresh database on the server BERTH_TEST_POSTGRES_DSN names
# (scripts/postgres.sh), dropped afterwards.
set -euo pipefail
bin=$1; shift
[ "${1:-}" = "--" ] && shift
db=""
if [ "${BERTH_METADATA_DRIVER:-}" = postgres ] && [ -z "${BERTH_METADATA_POSTGRES_DSN:-}" ]; then
  if [ -z "${BERTH_TEST_POSTGRES_DSN:-}" ]; then
    echo "serve.sh: BERTH_METADATA_DRIVER=postgres needs a server: run under scripts/postgres.sh" >&2
    exit 2
  fi
  db=berth_serve_$$_$RANDOM
  psql -q -X -v ON_ERROR_STOP=1 "$BERTH_TEST_POSTGRES_DSN" \
    -c "CREATE DATABASE $db TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
  export BERTH_METADATA_POSTGRES_DSN="${BERTH_TEST_POSTGRES_DSN/\/postgres\?//$db?}"
fi
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
addr=127.0.0.1:$port
log=$data/server.log
"$bin" -addr "$addr" -data "$data/data" >"$log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$data"
  if [ -n "$db" ]; then
    psql -q -X "$BERTH_TEST_POSTGRES_DSN" -c "DROP DATABASE $db WITH (FORCE)" || true
  fi
}
trap cleanup EXIT
for _ in $(seq 1 200); do
  if curl -fsS "http://$addr/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then cat "$log"; echo "serve.sh: server exited" >&2; exit 1; fi
  sleep 0.05
done
export BERTH_REGISTRY=$addr
status=0
"$@" || status=$?
if [ "$status" -ne 0 ]; then
  echo "---- server log (last 50 lines) ----" >&2
  tail -n 50 "$log" >&2
fi
exit "$status"
