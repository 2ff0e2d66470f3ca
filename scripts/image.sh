#!/usr/bin/env bash
# Build Berth's container image offline: the example registry server
# (./examples/registry) for linux/amd64 and linux/arm64 on a base layer this
# script assembles itself, as a multi-arch OCI image index, plus a CycloneDX
# SBOM of each platform's binary. Nothing comes from a public registry.
#
# Usage:
#   scripts/image.sh [OPTIONS] [REF]
#
#   REF                  also push the index there (e.g. 127.0.0.1:5000/berth/registry:dev);
#                        log in first with `crane auth login`
#   --out DIR            output directory (default bin/image), which gets:
#                          oci/                      the OCI image layout (its index.json
#                                                    names the image index)
#                          sbom/registry-OS-ARCH.cdx.json   one SBOM a platform
#                          digest                    the image index's digest
#   --rev REV            the commit to build (default HEAD); uncommitted changes
#                        are never part of the image
#   --platforms LIST     comma-separated os/arch list (default linux/amd64,linux/arm64)
#   --insecure           push REF over plain HTTP or unverified TLS
#
# The image: the static binary (CGO_ENABLED=0, -trimpath, Go's VCS stamp of
# REV) at /usr/local/bin/berth-registry, Debian's CA bundle at
# /etc/ssl/certs/ca-certificates.crt (with its copyright file), /etc/passwd
# and /etc/group naming the nonroot user and group 65532, /tmp (1777) and
# an empty /data owned by 65532. It runs as 65532:65532 with BERTH_ADDR
# 0.0.0.0:5000 and BERTH_DATA_DIR /data, exposes 5000/tcp and declares /data
# a volume. Everything the server writes goes to /data except the
# scanner's scratch space in $TMPDIR: on a read-only root filesystem mount
# a tmpfs at /tmp too. OCI labels name the source, version (git describe),
# revision and creation time.
#
# Reproducible for a given REV, Go toolchain and crane version: file times,
# the config's creation time and the SBOMs' contents come from
# SOURCE_DATE_EPOCH (default: REV's commit time), layers are tarred in name
# order with numeric owners. The image is assembled with crane (pinned,
# scripts/tools.sh) in a throw-away in-memory registry on loopback, then
# written to the layout and, with REF, pushed from it. The SBOM generator
# is CycloneDX's cyclonedx-gomod (`scripts/tools.sh cyclonedx-gomod`) in
# `bin` mode: it reads the module list Go stamped into each binary.
#
# The build happens in a scratch clone of the repository at REV (sharing
# its objects), so a working tree in the middle of an edit cannot break it.
# stdout gets the index digest (REF@digest when pushed); progress goes to
# stderr.
# shellcheck disable=SC2317 # cleanup and what it calls run from the EXIT trap
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LIB_NAME=image.sh
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

NAME=berth-registry
ENTRYPOINT=/usr/local/bin/$NAME
NONROOT=65532
PORT=5000

usage() {
	log "usage: scripts/image.sh [--out DIR] [--rev REV] [--platforms os/arch,...] [--insecure] [REF]"
	exit 2
}

OUT=$ROOT/bin/image
REV=HEAD
PLATFORMS=linux/amd64,linux/arm64
INSECURE=()
REF=""
while [[ $# -gt 0 ]]; do
	case $1 in
	--out)
		[[ $# -ge 2 ]] || usage
		OUT=$2
		shift 2
		;;
	--rev)
		[[ $# -ge 2 ]] || usage
		REV=$2
		shift 2
		;;
	--platforms)
		[[ $# -ge 2 ]] || usage
		PLATFORMS=$2
		shift 2
		;;
	--insecure)
		INSECURE=(--insecure)
		shift
		;;
	-*) usage ;;
	*)
		[[ -z $REF ]] || usage
		REF=$1
		shift
		;;
	esac
done
IFS=, read -r -a PLATFORM_LIST <<<"$PLATFORMS"
for p in "${PLATFORM_LIST[@]}"; do
	if [[ ! $p =~ ^linux/[a-z0-9]+$ ]]; then
		log "unsupported platform $p: give os/arch pairs for linux, e.g. linux/arm64"
		exit 2
	fi
done
[[ ${#PLATFORM_LIST[@]} -gt 0 ]] || usage
for c in git go jq tar curl; do
	if ! command -v "$c" >/dev/null 2>&1; then
		log "$c is required (Debian: apt-get install $c)"
		exit 2
	fi
done
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
CA_COPYRIGHT=/usr/share/doc/ca-certificates/copyright
if [[ ! -s $CA_BUNDLE || ! -s $CA_COPYRIGHT ]]; then
	log "Debian's CA certificates are required (apt-get install ca-certificates)"
	exit 2
fi

"$ROOT/scripts/tools.sh" crane cyclonedx-gomod
TOOLS="$ROOT/.tools/bin"
CRANE=$TOOLS/crane
SBOMGEN=$TOOLS/cyclonedx-gomod

COMMIT=$(git -C "$ROOT" rev-parse --verify "$REV^{commit}")
VERSION=$(git -C "$ROOT" describe --tags --always --abbrev=12 "$COMMIT")
EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct "$COMMIT")}
CREATED=$(date -u -d "@$EPOCH" +%Y-%m-%dT%H:%M:%SZ)
MODULE=$(awk '$1 == "module" { print $2; exit }' "$ROOT/go.mod")
SOURCE_URL=https://$MODULE

WORK="$(lib_workdir image)"
lib_on_exit rm -rf "$WORK"
start=$SECONDS
log "building $NAME $VERSION ($COMMIT, created $CREATED) for ${PLATFORM_LIST[*]}"

# A scratch clone at COMMIT: its objects come from ours (--shared), and
# the checkout happens in the clone, never in the caller's working tree.
SRC=$WORK/src
git clone --quiet --shared --no-checkout "$ROOT" "$SRC"
git -C "$SRC" -c advice.detachedHead=false switch --quiet --detach "$COMMIT"

# stage_dir DIR MODE: a directory of the layer being staged.
stage_dir() { mkdir -p "$1" && chmod "$2" "$1"; }
# stage_file SRC DEST MODE: a regular file of the layer being staged.
stage_file() { mkdir -p "$(dirname "$2")" && cp "$1" "$2" && chmod "$3" "$2"; }

# layer_tar DIR OUT UID PATH...: append the PATHs under DIR (recursively,
# in name order) to the tar OUT, owned by UID:UID, with SOURCE_DATE_EPOCH
# as every file's time.
layer_tar() {
	local dir=$1 out=$2 uid=$3 mode=-cf
	shift 3
	[[ ! -e $out ]] || mode=-rf
	tar "$mode" "$out" -C "$dir" --format=ustar --sort=name --mtime="@$EPOCH" \
		--owner="$uid" --group="$uid" --numeric-owner "$@"
}

# The base layer, the same for every platform. /data is owned by the
# nonroot user (a Docker or Podman named volume takes its owner from the
# image; on Kubernetes, fsGroup 65532 does it); everything else belongs to
# root and is never written to.
BASE=$WORK/base
stage_dir "$BASE" 0755
stage_dir "$BASE/etc" 0755
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/data:/sbin/nologin\n' \
	"$NONROOT" "$NONROOT" >"$BASE/etc/passwd"
printf 'root:x:0:\nnonroot:x:%d:\n' "$NONROOT" >"$BASE/etc/group"
printf 'hosts: files dns\n' >"$BASE/etc/nsswitch.conf"
chmod 0644 "$BASE/etc/passwd" "$BASE/etc/group" "$BASE/etc/nsswitch.conf"
stage_dir "$BASE/etc/ssl" 0755
stage_dir "$BASE/etc/ssl/certs" 0755
stage_file "$CA_BUNDLE" "$BASE/etc/ssl/certs/ca-certificates.crt" 0644
for d in usr usr/share usr/share/doc usr/share/doc/ca-certificates; do stage_dir "$BASE/$d" 0755; done
stage_file "$CA_COPYRIGHT" "$BASE/usr/share/doc/ca-certificates/copyright" 0644
stage_dir "$BASE/tmp" 1777
stage_dir "$BASE/data" 0750
layer_tar "$BASE" "$WORK/base.tar" 0 etc tmp usr
layer_tar "$BASE" "$WORK/base.tar" "$NONROOT" data

rm -rf "$OUT/oci" "$OUT/sbom" "$OUT/digest"
mkdir -p "$OUT/sbom"
for p in "${PLATFORM_LIST[@]}"; do
	os=${p%/*} arch=${p#*/}
	app=$WORK/app-$os-$arch
	for d in "" /usr /usr/local /usr/local/bin; do stage_dir "$app$d" 0755; done
	t=$SECONDS
	# GOAMD64/GOARM64 at their baselines: the image runs on any CPU of
	# its architecture, whatever the builder's environment says.
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch GOAMD64=v1 GOARM64=v8.0 \
		go build -C "$SRC" -trimpath -buildvcs=true -ldflags='-s -w' \
		-o "$app$ENTRYPOINT" ./examples/registry
	chmod 0755 "$app$ENTRYPOINT"
	layer_tar "$app" "$WORK/app-$os-$arch.tar" 0 usr
	# The generator qualifies package URLs with its own GOOS/GOARCH, not
	# the binary's: give it the target's.
	GOOS=$os GOARCH=$arch "$SBOMGEN" bin -json -std -noserial -notimestamp \
		-output "$OUT/sbom/registry-$os-$arch.cdx.json" "$app$ENTRYPOINT"
	log "$p: binary $(stat -c %s "$app$ENTRYPOINT") bytes, built in $((SECONDS - t))s; SBOM written"
done

# The scratch registry the image is assembled in: crane's own, in memory,
# on a free loopback port.
REGPORT=$(lib_free_port 127.0.0.1)
SCRATCH=127.0.0.1:$REGPORT
"$CRANE" registry serve --address "$SCRATCH" >"$WORK/registry.log" 2>&1 &
REGPID=$!
lib_on_exit lib_stop TERM "$REGPID"
lib_wait_ready 30 "$REGPID" "$WORK/registry.log" "$SCRATCH" lib_http_ok "http://$SCRATCH/v2/"
REPO=$SCRATCH/$NAME

# q CMD...: run CMD with its chatter on stderr kept aside, printed only
# when it fails.
q() {
	if ! "$@" 2>"$WORK/q.log"; then
		log "failed: $*"
		cat "$WORK/q.log" >&2
		exit 1
	fi
}

LABELS=(
	-l "org.opencontainers.image.title=$NAME"
	-l "org.opencontainers.image.description=Berth OCI registry server"
	-l "org.opencontainers.image.source=$SOURCE_URL"
	-l "org.opencontainers.image.version=$VERSION"
	-l "org.opencontainers.image.revision=$COMMIT"
	-l "org.opencontainers.image.created=$CREATED"
)
MANIFESTS=()
for p in "${PLATFORM_LIST[@]}"; do
	os=${p%/*} arch=${p#*/}
	q "$CRANE" append --oci-empty-base -f "$WORK/base.tar" -f "$WORK/app-$os-$arch.tar" \
		-t "$REPO:layers-$os-$arch" >/dev/null
	q "$CRANE" mutate "$REPO:layers-$os-$arch" -t "$REPO:$os-$arch" --set-platform "$p" \
		--user "$NONROOT:$NONROOT" --entrypoint "$ENTRYPOINT" --workdir /data \
		--exposed-ports "$PORT/tcp" -e "BERTH_ADDR=0.0.0.0:$PORT" -e BERTH_DATA_DIR=/data \
		"${LABELS[@]}" >/dev/null
	# What crane mutate has no flag for: the volume, and the creation time
	# of the config and its history (one entry a layer) instead of the
	# zero time.
	config=$(q "$CRANE" config "$REPO:$os-$arch" |
		jq -cj --arg t "$CREATED" '.created = $t | .config.Volumes = {"/data": {}}
			| .history = [{created: $t, created_by: "scripts/image.sh: base (CA certificates, nonroot user, /tmp, /data)"},
				{created: $t, created_by: "scripts/image.sh: registry binary"}]')
	printf %s "$config" | q "$CRANE" edit config "$REPO:$os-$arch" -t "$REPO:$os-$arch" >/dev/null
	MANIFESTS+=(-m "$REPO@$("$CRANE" digest "$REPO:$os-$arch")")
done
q "$CRANE" index append "${MANIFESTS[@]}" -t "$REPO:index" >/dev/null
# The index carries the same OCI annotations as the images' labels, and
# its entries lose the artifactType crane copies from their config media
# type (an image is no artifact).
index=$(q "$CRANE" manifest "$REPO:index" |
	jq -cj --arg src "$SOURCE_URL" --arg v "$VERSION" --arg rev "$COMMIT" --arg t "$CREATED" --arg n "$NAME" \
		'.annotations = {"org.opencontainers.image.title": $n, "org.opencontainers.image.source": $src,
			"org.opencontainers.image.version": $v, "org.opencontainers.image.revision": $rev,
			"org.opencontainers.image.created": $t} | .manifests |= map(del(.artifactType))')
printf %s "$index" | q "$CRANE" edit manifest "$REPO:index" -t "$REPO:$VERSION" >/dev/null
DIGEST=$(q "$CRANE" digest "$REPO:$VERSION")

q "$CRANE" pull --format oci "$REPO:$VERSION" "$OUT/oci"
echo "$DIGEST" >"$OUT/digest"

for p in "${PLATFORM_LIST[@]}"; do
	size=$("$CRANE" manifest --platform "$p" "$REPO:$VERSION" | jq '[.config.size, .layers[].size] | add')
	log "$p: $("$CRANE" digest --platform "$p" "$REPO:$VERSION"), $size bytes compressed"
done
log "index $DIGEST in $OUT/oci ($(du -sh "$OUT/oci" | cut -f1) on disk), built in $((SECONDS - start))s"

if [[ -z $REF ]]; then
	echo "$DIGEST"
	exit 0
fi
pushed=$(q "$CRANE" push "${INSECURE[@]}" "$OUT/oci" "$REF")
log "pushed $pushed"
echo "$pushed"
