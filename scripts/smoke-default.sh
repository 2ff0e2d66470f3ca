#!/usr/bin/env bash
# smoke-default.sh: the README's first command with no configuration at all.
# Runs the example server exactly as `go run ./examples/registry` does (same
# main package, no flags, no BERTH_* variables) from an empty directory, then
# logs in as admin with the password the first start generated into
# ./data/admin-password, pushes with crane and skopeo to the default
# "library" project on 127.0.0.1:5000, pulls back, compares digests, checks
# that anonymous pushes are refused and that the data landed under ./data.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS=${BERTH_TOOLS:-$ROOT/.tools/bin}
export PATH=$TOOLS:$PATH
work=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

if curl -sS -o /dev/null http://127.0.0.1:5000/v2/ 2>/dev/null; then
  echo "smoke: something already listens on 127.0.0.1:5000; stop it first" >&2
  exit 1
fi
(cd "$ROOT" && go build -o "$work/registry" ./examples/registry)
mkdir "$work/cwd"
(cd "$work/cwd" && exec env -u BERTH_CONFIG -u BERTH_ADDR -u BERTH_DATA_DIR "$work/registry" >"$work/server.log" 2>&1) &
pid=$!
for _ in $(seq 1 200); do
  curl -fsS -o /dev/null http://127.0.0.1:5000/healthz 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/server.log"; echo "smoke: server exited" >&2; exit 1; }
  sleep 0.05
done

export HOME=$work/home DOCKER_CONFIG=$work/home/.docker
mkdir -p "$HOME"
pw=$(cat "$work/cwd/data/admin-password")
[ -n "$pw" ] || { echo "smoke: no generated admin password in ./data/admin-password" >&2; exit 1; }
[ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:5000/v2/)" = 401 ] ||
  { echo "smoke: the registry answers without credentials" >&2; exit 1; }
# An image made by crane itself: a single random layer appended to nothing.
head -c 1048576 /dev/urandom >"$work/layer.bin"
tar -C "$work" -cf "$work/layer.tar" layer.bin
if crane append --insecure -f "$work/layer.tar" -t 127.0.0.1:5000/library/smoke-crane:v1 >/dev/null 2>&1; then
  echo "smoke: an anonymous push succeeded" >&2; exit 1
fi
crane auth login -u admin -p "$pw" 127.0.0.1:5000 >/dev/null 2>&1
crane append --insecure -f "$work/layer.tar" -t 127.0.0.1:5000/library/smoke-crane:v1 >/dev/null 2>&1
want=$(crane digest --insecure 127.0.0.1:5000/library/smoke-crane:v1)
crane pull --insecure --format=oci 127.0.0.1:5000/library/smoke-crane:v1 "$work/pulled"
got=$(crane digest --insecure 127.0.0.1:5000/library/smoke-crane:v1)
[ "$got" = "$want" ] || { echo "smoke: crane digest changed: $got vs $want" >&2; exit 1; }

skopeo copy --quiet --dest-tls-verify=false --dest-creds "admin:$pw" oci:"$work/pulled" docker://127.0.0.1:5000/library/smoke-skopeo:v1
skopeo copy --quiet --src-tls-verify=false docker://127.0.0.1:5000/library/smoke-skopeo:v1 oci:"$work/back:v1"
got=$(crane digest --insecure 127.0.0.1:5000/library/smoke-skopeo:v1)
[ "$got" = "$want" ] || { echo "smoke: skopeo copy changed the digest: $got vs $want" >&2; exit 1; }
# skopeo converts to an OCI manifest on the way into the layout, so compare
# the layer it brought back rather than the manifest digest.
layer=$(crane manifest --insecure 127.0.0.1:5000/library/smoke-skopeo:v1 | grep -o 'sha256:[0-9a-f]\{64\}' | tail -n 1)
[ -f "$work/back/blobs/sha256/${layer#sha256:}" ] || { echo "smoke: skopeo pull did not bring back layer $layer" >&2; exit 1; }
[ "sha256:$(sha256sum <"$work/back/blobs/sha256/${layer#sha256:}" | cut -d' ' -f1)" = "$layer" ] ||
  { echo "smoke: layer $layer pulled by skopeo has other content" >&2; exit 1; }

[ -f "$work/cwd/data/meta.db" ] && [ -d "$work/cwd/data/storage/blobs" ] ||
  { echo "smoke: expected ./data/meta.db and ./data/storage/blobs in the server's directory" >&2; exit 1; }
crane catalog --insecure 127.0.0.1:5000 | grep -qx library/smoke-skopeo
mkdir "$work/anon"
[ "$(DOCKER_CONFIG=$work/anon crane digest --insecure 127.0.0.1:5000/library/smoke-crane:v1)" = "$want" ] ||
  { echo "smoke: anonymous pull of the public library project failed" >&2; exit 1; }
echo "smoke: go run ./examples/registry defaults work: anonymous push refused, admin login, crane push/pull and skopeo copy to 127.0.0.1:5000, anonymous pull of public library ($want)"
