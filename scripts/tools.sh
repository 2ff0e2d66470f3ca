#!/usr/bin/env bash
# Install the pinned client tools Berth's e2e and conformance runs drive into
# $ROOT/.tools/bin (ROOT = repository top). Versions live in scripts/versions.env.
#
# Usage:
#   scripts/tools.sh                 # default set: crane oras regctl helm cosign skopeo
#   scripts/tools.sh distribution    # CNCF Distribution (binary .tools/bin/registry)
#   scripts/tools.sh minio           # MinIO S3 server for scripts/minio.sh (first build ~3 min)
#   scripts/tools.sh nerdctl         # containerd's docker-style CLI, for scripts/engines.sh
#   scripts/tools.sh cyclonedx-gomod # CycloneDX SBOM generator for scripts/image.sh
#   scripts/tools.sh all             # default set + distribution
#   scripts/tools.sh crane helm      # just these
#   scripts/tools.sh --print-bin     # print the bin directory and exit
#
# Idempotent: a Go tool is rebuilt only when its binary is missing or the module
# path/version stamped in it (go version -m) differs from versions.env. Builds
# run one after another (2-core machines) with -trimpath and stripped symbols.
# skopeo comes from Debian's packages and is linked into .tools/bin.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/.tools/bin"
# shellcheck disable=SC1091 # versions.env sits beside this script
source "$ROOT/scripts/versions.env"

log() { printf '[tools] %s\n' "$*" >&2; }

# module_of PKG: the module path for the package (its prefix up to /cmd/).
module_of() { printf '%s\n' "${1%%/cmd/*}"; }

# stamped BINARY FIELD: print a field of `go version -m` ("path" or "mod").
stamped() {
	local bin=$1 field=$2
	go version -m "$bin" 2>/dev/null | awk -v f="$field" '$1 == f { print $2 " " $3; exit }'
}

# go_tool NAME PKG VERSION [DEST_NAME]: go install PKG@VERSION unless present.
go_tool() {
	local name=$1 pkg=$2 version=$3 dest=${4:-$1}
	local target="$BIN/$dest" want_mod
	want_mod="$(module_of "$pkg") $version"
	if [[ -x $target ]] && [[ "$(stamped "$target" mod)" == "$want_mod" ]]; then
		log "$dest $version: up to date"
		return 0
	fi
	log "$dest: building $pkg@$version ..."
	local start=$SECONDS tmp
	tmp="$(mktemp -d "$ROOT/.tools/build.XXXXXX")"
	# Build into a scratch GOBIN and move into place, so an interrupted build
	# never leaves a half-written binary, and the installed name can differ
	# from the package's last element.
	if ! CGO_ENABLED=0 GOBIN="$tmp" go install -trimpath -ldflags='-s -w' "$pkg@$version"; then
		rm -rf "$tmp"
		log "$dest: build FAILED"
		return 1
	fi
	mv -f "$tmp/$name" "$target"
	rm -rf "$tmp"
	log "$dest $version: built in $((SECONDS - start))s"
}

# go_tool_in_module NAME PKG VERSION [LDFLAGS]: go_tool for a module whose
# version list the module proxy does not serve (nerdctl): `go install
# PKG@VERSION` then fails looking the module's deprecation up, so PKG is
# built inside a scratch module that requires it at VERSION, with the
# requirements of VERSION's own go.mod. The binary is stamped with the
# module and version all the same.
go_tool_in_module() {
	local name=$1 pkg=$2 version=$3 ldflags=${4:-}
	local target="$BIN/$name" want_mod
	want_mod="$(module_of "$pkg") $version"
	if [[ -x $target ]] && [[ "$(stamped "$target" mod)" == "$want_mod" ]]; then
		log "$name $version: up to date"
		return 0
	fi
	log "$name: building $pkg@$version ..."
	local start=$SECONDS tmp
	tmp="$(mktemp -d "$ROOT/.tools/build.XXXXXX")"
	if ! (cd "$tmp" && go mod init berth.tools/"$name" >/dev/null 2>&1 &&
		go get "$pkg@$version" >get.log 2>&1 &&
		CGO_ENABLED=0 go build -trimpath -ldflags="-s -w $ldflags" -o "$tmp/$name" "$pkg"); then
		[[ -s $tmp/get.log ]] && cat "$tmp/get.log" >&2
		rm -rf "$tmp"
		log "$name: build FAILED"
		return 1
	fi
	mv -f "$tmp/$name" "$target"
	rm -rf "$tmp"
	log "$name $version: built in $((SECONDS - start))s"
}

skopeo_tool() {
	local sudo=""
	[[ $(id -u) -eq 0 ]] || sudo="sudo"
	if ! command -v skopeo >/dev/null 2>&1; then
		log "skopeo: installing from Debian packages ..."
		if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q skopeo >&2; then
			$sudo apt-get update -q >&2
			$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q skopeo >&2
		fi
	fi
	ln -sf "$(command -v skopeo)" "$BIN/skopeo"
	local have
	have="$(skopeo --version | awk '{print $3}')"
	if [[ $have != "$SKOPEO_VERSION" ]]; then
		log "skopeo $have: present (WARNING: versions.env expects $SKOPEO_VERSION)"
	else
		log "skopeo $have: present"
	fi
}

install_one() {
	case $1 in
	crane) go_tool crane "$CRANE_PKG" "$CRANE_VERSION" ;;
	oras) go_tool oras "$ORAS_PKG" "$ORAS_VERSION" ;;
	regctl) go_tool regctl "$REGCTL_PKG" "$REGCTL_VERSION" ;;
	helm) go_tool helm "$HELM_PKG" "$HELM_VERSION" ;;
	cosign) go_tool cosign "$COSIGN_PKG" "$COSIGN_VERSION" ;;
	skopeo) skopeo_tool ;;
	distribution) go_tool registry "$DISTRIBUTION_PKG" "$DISTRIBUTION_VERSION" ;;
	minio) go_tool minio "$MINIO_PKG" "$MINIO_VERSION" ;;
	nerdctl) go_tool_in_module nerdctl "$NERDCTL_PKG" "$NERDCTL_VERSION" \
		"-X $(module_of "$NERDCTL_PKG")/pkg/version.Version=$NERDCTL_VERSION" ;;
	cyclonedx-gomod) go_tool cyclonedx-gomod "$CYCLONEDX_GOMOD_PKG" "$CYCLONEDX_GOMOD_VERSION" ;;
	*)
		log "unknown tool: $1"
		return 2
		;;
	esac
}

main() {
	local default=(crane oras regctl helm cosign skopeo) tools=()
	if [[ $# -eq 0 ]]; then
		tools=("${default[@]}")
	else
		for arg in "$@"; do
			case $arg in
			--print-bin)
				echo "$BIN"
				return 0
				;;
			all) tools+=("${default[@]}" distribution) ;;
			*) tools+=("$arg") ;;
			esac
		done
	fi
	mkdir -p "$BIN"
	local start=$SECONDS
	for t in "${tools[@]}"; do
		install_one "$t"
	done
	log "done in $((SECONDS - start))s; tools in $BIN"
}

main "$@"
