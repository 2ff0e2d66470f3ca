#!/usr/bin/env bash
# sendfile-check.sh: shows that Berth's fs storage serves blob pulls with the
# kernel's sendfile (no copy through user space). Starts the example server,
# pushes a 64 MiB blob, pulls it under `strace -e trace=sendfile`, and
# reports how many of the pulled bytes went through sendfile. Exits non-zero
# if fewer than 99 % did. Needs strace (Debian package strace).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
command -v strace >/dev/null || { echo "sendfile-check: strace is not installed (apt-get install strace)" >&2; exit 2; }
work=$(mktemp -d)
pid=""; spid=""
cleanup() {
  [ -n "$spid" ] && kill "$spid" 2>/dev/null || true
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
(cd "$ROOT" && go build -o "$work/registry" ./examples/registry)
addr=127.0.0.1:${SENDFILE_PORT:-5077}
"$work/registry" -addr "$addr" -data "$work/data" >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 200); do curl -fsS -o /dev/null "http://$addr/v2/" 2>/dev/null && break; sleep 0.05; done
size=$((64 << 20))
head -c "$size" /dev/urandom >"$work/blob"
digest=sha256:$(sha256sum "$work/blob" | cut -d' ' -f1)
curl -fsS -o /dev/null -X POST --data-binary @"$work/blob" -H 'Content-Type: application/octet-stream' \
  "http://$addr/v2/check/sendfile/blobs/uploads/?digest=$digest"
strace -qq -f -p "$pid" -e trace=sendfile -o "$work/strace.out" &
spid=$!
sleep 1
curl -fsS -o "$work/pulled" "http://$addr/v2/check/sendfile/blobs/$digest"
sleep 0.5
kill "$spid"; wait "$spid" 2>/dev/null || true; spid=""
[ "sha256:$(sha256sum "$work/pulled" | cut -d' ' -f1)" = "$digest" ] || { echo "sendfile-check: pulled blob differs" >&2; exit 1; }
calls=$(grep -c 'sendfile(' "$work/strace.out" || true)
bytes=$(grep -o '= [0-9]*$' "$work/strace.out" | awk '{s += $2} END {print s + 0}')
echo "sendfile-check: pull of $size bytes: $calls sendfile calls moved $bytes bytes"
[ "$bytes" -ge $((size * 99 / 100)) ] || { echo "sendfile-check: pulls are not served with sendfile" >&2; exit 1; }
