#!/usr/bin/env bash
# serve.sh BIN -- CMD...: starts the example registry binary BIN on a free
# 127.0.0.1 port with a fresh data directory, exports BERTH_REGISTRY
# (host:port) for CMD, runs CMD, and always stops the server afterwards.
# Extra server settings come from the caller's BERTH_* environment.
set -euo pipefail
bin=$1; shift
[ "${1:-}" = "--" ] && shift
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
