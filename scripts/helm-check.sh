#!/usr/bin/env bash
# Check Berth's Helm chart (deploy/helm/berth) offline, without a cluster:
# helm lint and helm template with the chart's defaults and with each values
# file of its ci/ directory, then the Go tests of deploy/helm/validate, which
# decode every rendered object strictly against the Kubernetes API types (the
# ServiceMonitor against prometheus-operator's), check the references between
# them, assert what each values file is for, and check that values the chart
# must refuse (three replicas on bbolt, …) make helm template fail.
#
# Usage:
#   scripts/helm-check.sh            # make helm-check
#
# helm is the pinned one of scripts/versions.env, built by `scripts/tools.sh
# helm` into .tools/bin. Such a helm assumes Kubernetes v1.20, older than the
# chart's kubeVersion, so the checks render for KUBE_VERSION (default 1.31.0,
# the version the Go tests use). The validate module has a go.mod of its own:
# the Kubernetes libraries stay out of Berth's; `go test` fetches them from
# the module proxy on the first run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC2034 # lib.sh's log prefixes its lines with it
LIB_NAME=helm-check.sh
# shellcheck source=scripts/lib.sh disable=SC1091 # followed with shellcheck -x
source "$ROOT/scripts/lib.sh"
CHART="$ROOT/deploy/helm/berth"
KUBE_VERSION=${KUBE_VERSION:-1.31.0}

if [[ $# -gt 0 ]]; then
	log "usage: scripts/helm-check.sh (no arguments)"
	exit 2
fi

"$ROOT/scripts/tools.sh" helm
HELM="$("$ROOT/scripts/tools.sh" --print-bin)/helm"
log "$("$HELM" version --short)"

# check NAME [HELM ARGS...]: lint and render the chart with the arguments.
check() {
	local name=$1 out count
	shift
	"$HELM" lint --strict --quiet --kube-version "$KUBE_VERSION" "$CHART" "$@" >&2
	out=$("$HELM" template berth "$CHART" --namespace registry --kube-version "$KUBE_VERSION" "$@")
	count=$(grep -c '^kind: ' <<<"$out" || true)
	log "$name: lint ok, $count objects rendered"
}

check "defaults"
shopt -s nullglob
files=("$CHART"/ci/*.yaml)
if [[ ${#files[@]} -eq 0 ]]; then
	log "no values files in $CHART/ci"
	exit 1
fi
for f in "${files[@]}"; do
	check "ci/${f##*/}" --values "$f"
done

log "go test in deploy/helm/validate ..."
cd "$ROOT/deploy/helm/validate"
BERTH_HELM="$HELM" go test -count=1 ./...
log "the chart passed"
