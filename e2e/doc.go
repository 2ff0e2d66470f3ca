// Package e2e drives real OCI clients (crane, skopeo, oras, regctl, helm,
// cosign) against a running registry and checks what comes back: digests,
// bytes, tag and repository listings, referrers, signatures.
//
// It is its own module so the client-side test helpers never reach the
// library's go.mod. The tests need:
//
//	BERTH_E2E_REGISTRY  host:port of a plain-HTTP registry; every test
//	                    skips when it is unset.
//	BERTH_E2E_USER, BERTH_E2E_PASSWORD
//	                    credentials every tool is configured with (docker
//	                    config, containers auth file, helm registry config);
//	                    unset for a registry without auth. The account must
//	                    be able to push to the project "e2e" (or create it).
//	BERTH_TOOLS         directory with the client binaries (scripts/tools.sh
//	                    installs them into .tools/bin); PATH otherwise.
//	BERTH_E2E_BIG=1     also round-trip a 512 MiB layer.
//
// Each test writes its content to a fresh repository (e2e/<tool>-<random>)
// and points HOME, DOCKER_CONFIG, XDG_* and the tools' own config variables at
// temp dirs, so no global client configuration is read or written.
// e2e/run.sh HOST:PORT runs the suite.
package e2e
