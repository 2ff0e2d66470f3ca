#!/usr/bin/env bash
# keyless.sh -- CMD...: makes the end-to-end suite's keyless-signing
# fixture (e2e/testca: a private certificate authority and certificates it
# issued) and its Sigstore trusted root (with cosign's "trusted-root
# create", as an operator would), runs CMD with BERTH_TRUST_TRUSTED_ROOT
# (the server's setting) and BERTH_E2E_KEYLESS (the fixture's directory,
# for the tests) exported, and removes the fixture afterwards. cosign comes
# from BERTH_TOOLS or .tools/bin (scripts/tools.sh cosign).
set -euo pipefail
[ "${1:-}" = "--" ] && shift
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cosign="${BERTH_TOOLS:-$ROOT/.tools/bin}/cosign"
[ -x "$cosign" ] || "$ROOT/scripts/tools.sh" cosign >&2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
(cd "$ROOT/e2e" && go run ./testca "$dir")
"$cosign" trusted-root create --fulcio="url=https://fulcio.e2e.test,certificate-chain=$dir/ca.pem" \
	--no-default-ctfe --no-default-fulcio --no-default-rekor --no-default-tsa --out "$dir/trusted_root.json" >&2
export BERTH_TRUST_TRUSTED_ROOT="$dir/trusted_root.json" BERTH_E2E_KEYLESS="$dir"
"$@"
