#!/usr/bin/env bash
# Run the OCI distribution-spec conformance suite against a registry.
#
# Usage: conformance/run.sh [URL]
#   URL is http://host:port, https://host:port, or host:port (plain HTTP);
#   without it, $BERTH_REGISTRY (host:port, as scripts/serve.sh exports) is used.
#
# The suite is github.com/opencontainers/distribution-spec/conformance, pinned by
# the `tool` line in conformance/go.mod (its own module, so the library's go.mod
# stays clean). It is a main package configured by OCI_* environment variables;
# this script sets them as below, and any of them already set in the caller's
# environment wins (e.g. OCI_DATA_SPARSE=false to drop one data set).
#
#   OCI_REGISTRY, OCI_TLS        host:port from URL; TLS "disabled" for http://
#                                and bare host:port, "enabled" for https://.
#   OCI_REPO1, OCI_REPO2         conformance-<run id>/repo1 and /repo2: unique per
#                                run, since the suite first checks that repo1 is
#                                empty and a registry may be reused across runs.
#   OCI_VERSION=1.1              distribution-spec v1.1 (stable) defaults...
#   OCI_API_*=true               ...then every API switched on, including the ones
#                                v1.1 leaves off by default:
#     OCI_API_PING, _PULL, _PUSH            base API
#     OCI_API_BLOBS_DELETE, _ATOMIC         blob DELETE, visible immediately
#     OCI_API_BLOBS_DIGEST_HEADER           Docker-Content-Digest required on blobs
#     OCI_API_BLOBS_MOUNT_ANONYMOUS         mount with ?mount= and no ?from=
#     OCI_API_BLOBS_UPLOAD_CANCEL           DELETE of an upload session
#     OCI_API_MANIFESTS_DELETE, _ATOMIC     manifest DELETE, visible immediately
#     OCI_API_MANIFESTS_DIGEST_HEADER       Docker-Content-Digest required on manifests
#     OCI_API_MANIFESTS_TAG_PARAM           PUT by digest with ?tag= parameters (OCI-Tag)
#     OCI_API_TAGS_LIST, _DELETE, _ATOMIC   tag listing and tag DELETE
#     OCI_API_REFERRER                      referrers API (incl. artifactType filter)
#   OCI_DATA_*=true              every data set: image, index, nested index list,
#                                sparse manifests (descriptors never pushed),
#                                artifact, subject, missing subject, artifact list,
#                                subject list, descriptor data field,
#                                non-distributable layers, custom fields, no
#                                layers, empty blob, sha512 digests.
#   OCI_RESULTS_DIR              $CONFORMANCE_OUT, or a new temp dir: results.yaml,
#                                junit.xml, report.html from the suite, plus
#                                report.txt (its stdout), log.txt (its log) and
#                                not-passed.txt (leaf tests that did not pass).
#   OCI_LOG=warn                 failures are logged while the suite runs.
#   OCI_FILTER_TEST              unset: every test runs. Set it to a test-name
#                                prefix (e.g. "OCI Conformance Test/image") to
#                                debug one branch; the counts then cover it only.
#
# Exit status: 0 only when every test passed and none was skipped or disabled
# (the suite itself exits 0 on skips, so the counts are checked here), except
# the tests of switches the caller set to false, which are reported.
# OCI_USERNAME and OCI_PASSWORD, when set, reach the suite, which then logs
# in through the registry's challenge (basic or the bearer token flow).
set -euo pipefail

if [[ $# -gt 1 || ($# -eq 0 && -z ${BERTH_REGISTRY:-}) ]]; then
	echo "usage: $0 URL   (http://host:port, https://host:port or host:port; default \$BERTH_REGISTRY)" >&2
	exit 2
fi
URL=${1:-$BERTH_REGISTRY}
URL=${URL%/}
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

case $URL in
http://*) REG=${URL#http://} TLS=disabled ;;
https://*) REG=${URL#https://} TLS=enabled ;;
*) REG=$URL TLS=disabled ;;
esac
REG=${REG%%/*}

OUT=${CONFORMANCE_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/berth-conformance.XXXXXX")}
mkdir -p "$OUT"
RUN_ID="$(date +%s)-$$"

# Build the pinned suite. -X main.Version stamps the module version into the
# report (it has no VCS info when built from the module cache).
SUITE_VERSION="$(cd "$HERE" && go list -m -f '{{.Version}}' github.com/opencontainers/distribution-spec/conformance)"
PINNED="$(sed -n 's/^CONFORMANCE_VERSION=//p' "$HERE/../scripts/versions.env")"
if [[ $SUITE_VERSION != "$PINNED" ]]; then
	echo "conformance: conformance/go.mod has $SUITE_VERSION but scripts/versions.env pins $PINNED;" >&2
	echo "  run: (cd conformance && go get -tool github.com/opencontainers/distribution-spec/conformance@$PINNED)" >&2
	exit 1
fi
(cd "$HERE" && go build -trimpath -ldflags "-X main.Version=$SUITE_VERSION" -o "$OUT/conformance" \
	github.com/opencontainers/distribution-spec/conformance)

export OCI_REGISTRY="$REG"
export OCI_TLS="${OCI_TLS:-$TLS}"
export OCI_REPO1="${OCI_REPO1:-conformance-$RUN_ID/repo1}"
export OCI_REPO2="${OCI_REPO2:-conformance-$RUN_ID/repo2}"
export OCI_VERSION="${OCI_VERSION:-1.1}"
export OCI_LOG="${OCI_LOG:-warn}"
export OCI_RESULTS_DIR="$OUT"
# Keep a stray oci-conformance.yaml in the working directory from being read.
export OCI_CONFIGURATION="${OCI_CONFIGURATION:-/dev/null}"

off=() # the API and data switches the caller turned off
for v in \
	API_PING API_PULL API_PUSH \
	API_BLOBS_ATOMIC API_BLOBS_DELETE API_BLOBS_DIGEST_HEADER \
	API_BLOBS_MOUNT_ANONYMOUS API_BLOBS_UPLOAD_CANCEL \
	API_MANIFESTS_ATOMIC API_MANIFESTS_DELETE API_MANIFESTS_DIGEST_HEADER \
	API_MANIFESTS_TAG_PARAM \
	API_TAGS_ATOMIC API_TAGS_DELETE API_TAGS_LIST \
	API_REFERRER \
	DATA_IMAGE DATA_INDEX DATA_INDEX_LIST DATA_SPARSE DATA_ARTIFACT \
	DATA_SUBJECT DATA_SUBJECT_MISSING DATA_ARTIFACT_LIST DATA_SUBJECT_LIST \
	DATA_DATA_FIELD DATA_NONDISTRIBUTABLE DATA_CUSTOM_FIELDS DATA_NO_LAYERS \
	DATA_EMPTY_BLOB DATA_SHA512; do
	name="OCI_$v"
	export "$name=${!name:-true}"
	[[ ${!name} == true ]] || off+=("$name")
done

echo "conformance: suite $SUITE_VERSION against $OCI_REGISTRY (tls $OCI_TLS), repos $OCI_REPO1 $OCI_REPO2" >&2
echo "conformance: results in $OUT" >&2

set +e
(cd "$OUT" && ./conformance) >"$OUT/report.txt" 2>"$OUT/log.txt"
suite_rc=$?
set -e

if ! grep -q '^OCI Conformance Result:' "$OUT/report.txt"; then
	cat "$OUT/report.txt" "$OUT/log.txt" >&2
	echo "conformance: the suite printed no result summary (exit $suite_rc)" >&2
	exit 1
fi
if [[ ! -s $OUT/results.yaml ]]; then
	# The suite cannot write results.yaml when OCI_FILTER_TEST leaves some
	# data sets untested; the counts below come from its printed summary.
	echo "conformance: note: the suite wrote no results.yaml: $(grep -m1 -i 'failed' "$OUT/log.txt" || true)" >&2
fi

# count NAME: the number the suite reported for one status ("Pass", "FAIL", ...).
count() {
	awk -v s="$1" '
		/^OCI Conformance Result:/ { in_counts = 1; next }
		in_counts && $1 ~ "^" s "\\.*:$" { print $2; exit }
	' "$OUT/report.txt"
}
pass=$(count Pass)
fail=$(count FAIL)
errs=$(count Error)
skip=$(count Skip)
disabled=$(count Disabled)
for n in pass fail errs skip disabled; do
	if [[ ! ${!n} =~ ^[0-9]+$ ]]; then
		cat "$OUT/report.txt" >&2
		echo "conformance: could not read the $n count from the suite's summary" >&2
		exit 1
	fi
done
failed=$((fail + errs))
# Tests of switches the caller turned off are reported Disabled, and
# expected; any other skip or disabled test fails the run.
if ((${#off[@]} > 0)); then
	echo "conformance: turned off by the caller: ${off[*]} ($disabled tests disabled)"
	disabled=0
fi
skipped=$((skip + disabled))

# Leaf tests that did not pass (the report prints a tree; a line is a leaf when
# the next test line is not indented deeper), each once with a repeat count.
awk '
	function flush() { if (have && pstat != "Pass") print pline; have = 0 }
	/^Configuration:/ { flush(); exit }
	/^ *OCI Conformance Test.*: [A-Za-z]+$/ {
		match($0, /^ */)
		if (have && RLENGTH <= pind) flush()
		have = 1; pind = RLENGTH; pstat = $NF
		pline = $0; sub(/^ */, "", pline)
	}
' "$OUT/report.txt" | sort | uniq -c | sed 's/^ *\([0-9]*\) \(.*\)$/  \2 (x\1)/; s/ (x1)$//' >"$OUT/not-passed.txt"
if [[ -s $OUT/not-passed.txt ]]; then
	echo "Tests not passed:"
	cat "$OUT/not-passed.txt"
	echo
fi
# The suite's per-API and per-data-set verdicts.
awk '
	/^(API|Data) conformance:/ { print; on = 1; next }
	on && /^$/ { on = 0 }
	on { print }
' "$OUT/report.txt"

echo
echo "conformance: report $OUT/report.html, junit $OUT/junit.xml"
echo "conformance: $pass passed, $failed failed, $skipped skipped"

if ((failed > 0 || skipped > 0)); then
	echo "conformance: FAILED ($fail failed, $errs errors, $skip skipped, $disabled disabled; suite exit $suite_rc)" >&2
	exit 1
fi
if ((suite_rc != 0)); then
	echo "conformance: the suite exited $suite_rc" >&2
	exit 1
fi
