# Berth's build and test entry points. `make test` is the one command CI
# runs: it installs the pinned client tools it needs, then runs unit tests,
# the storage and metadata conformance suites, short fuzz runs, the crash
# test, the OCI conformance suite and the real-client end-to-end suite.
# The metadata store's PostgreSQL backend runs against a throw-away server
# started by scripts/postgres.sh (Debian's postgresql-15, installed on
# demand).

GO       ?= go
BIN      := $(CURDIR)/bin
# The admin password of the test servers that run with auth.
TEST_ADMIN_PASSWORD := berth-test-admin
TOOLS    := $(CURDIR)/.tools/bin
FUZZTIME ?= 10s
FUZZTIME_SHORT ?= 5s
STATICCHECK_VERSION := v0.8.2

export PATH := $(TOOLS):$(PATH)

.PHONY: test build tools lint helm-check unit race postgres fuzz conformance conformance-s3 conformance-postgres e2e e2e-s3 e2e-postgres engines compat platform preheat portal cluster smoke image image-check bench bench-gc clean

test: lint helm-check unit race postgres fuzz conformance conformance-s3 conformance-postgres e2e e2e-s3 e2e-postgres engines compat platform preheat portal cluster smoke image-check
	@echo "make test: all suites passed"

build:
	$(GO) build -o $(BIN)/registry ./examples/registry

tools:
	scripts/tools.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

# The Helm chart (deploy/helm/berth), offline: helm lint and helm template
# with each values file of its ci/, then deploy/helm/validate's tests (a
# module of its own), which decode every rendered object strictly against
# the Kubernetes API types and check what each values file is for.
helm-check:
	scripts/helm-check.sh

# Every package's tests, including storagetest's 256 MiB streams on fs,
# memory and S3 (a real MinIO on loopback, started by scripts/minio.sh), the
# metadata backend suite on bbolt and on PostgreSQL (a real server on
# loopback, started by scripts/postgres.sh), the SIGKILL crash test, and
# containerd (Debian's, scripts/containerd.sh) pulling through the proxy
# cache's mirror mode.
unit:
	scripts/slapd.sh -- scripts/minio.sh -- scripts/postgres.sh -- scripts/containerd.sh -- $(GO) test -count=1 ./...

# meta/postgres's event log and job queue tests run many writers, readers
# and leasers at once: here under the race detector too.
race:
	scripts/minio.sh -- scripts/postgres.sh -- $(GO) test -count=1 -race -short ./registry/... ./meta/... ./storage/... ./gc/... ./jobs/... ./events/... ./webhook/... ./replication/... ./scan/engine/... ./quota/... ./immutable/... ./retention/... ./trust/... ./artifact/... ./label/... ./scan/securityhub/... ./scan/cveexport/... ./preheat/

# The PostgreSQL metadata store on a server of its own, with the test that
# kills the server with SIGKILL and restarts it (BERTH_TEST_POSTGRES_FAULTS:
# in unit, other packages share the server, so it is skipped there).
# Then the feature suites whose every store comes from teststores.Open
# (jobs, events, webhook, gc, replication, artifact), again with PostgreSQL as that
# store (BERTH_TEST_META=postgres; unit ran them on bbolt).
postgres:
	scripts/postgres.sh -- env BERTH_TEST_POSTGRES_FAULTS=1 $(GO) test -count=1 ./meta/postgres/... ./internal/testpg/...
	scripts/postgres.sh -- env BERTH_TEST_META=postgres $(GO) test -count=1 ./jobs/... ./events/... ./webhook/... ./gc/... ./replication/... ./artifact/... ./label/... ./scan/securityhub/... ./scan/cveexport/... ./preheat/

# Every parser of outside input: request paths, references, ranges and
# manifests at the HTTP edge, the metadata decoder for bytes read back from
# disk, the object-store upload session state kept in metadata, token
# request scopes, session cookies, audit log queries, replication policy and
# registry endpoint bodies (the API's JSON, and the records replication's
# service checks), project scan settings (their JSON and the scan
# service's rules) and scanner registrations, webhook signature headers,
# scan requests and OSV records, P2P preheat policies; and the listing
# bound meta/postgres makes of a client's paging marker.
fuzz:
	@for t in FuzzParseReference FuzzValidateName FuzzParseContentRange FuzzParseRange FuzzParseManifest; do \
		GO=$(GO) scripts/fuzz.sh ./registry/internal/spec $$t $(FUZZTIME) || exit 1; \
	done
	@GO=$(GO) scripts/fuzz.sh ./registry FuzzHandler $(FUZZTIME)
	@GO=$(GO) scripts/fuzz.sh ./preheat FuzzPolicy $(FUZZTIME_SHORT)
	@GO=$(GO) scripts/fuzz.sh ./api FuzzPreheatPolicyBody $(FUZZTIME_SHORT)
	@GO=$(GO) scripts/fuzz.sh ./api FuzzPreheatInstanceBody $(FUZZTIME_SHORT)
	@for t in FuzzDecodeManifest FuzzDecodeUpload FuzzDecodeBlob FuzzDigestForms FuzzParseDigestKey; do \
		GO=$(GO) scripts/fuzz.sh ./meta/bolt $$t $(FUZZTIME_SHORT) || exit 1; \
	done
	@GO=$(GO) scripts/fuzz.sh ./meta/postgres FuzzLowerBound $(FUZZTIME_SHORT)
	@GO=$(GO) scripts/fuzz.sh ./auth FuzzParseScope $(FUZZTIME_SHORT)
	@GO=$(GO) scripts/fuzz.sh ./auth/session FuzzAccount $(FUZZTIME_SHORT)
	@GO=$(GO) scripts/fuzz.sh ./events FuzzAuditQuery $(FUZZTIME_SHORT)
	@GO=$(GO) scripts/fuzz.sh ./internal/harborq FuzzParse $(FUZZTIME_SHORT)
	@GO=$(GO) scripts/fuzz.sh ./artifact FuzzChartAddition $(FUZZTIME_SHORT)
	@GO=$(GO) scripts/fuzz.sh ./scan/securityhub FuzzParseQuery $(FUZZTIME_SHORT)
	@GO=$(GO) scripts/fuzz.sh ./api FuzzReplicationPolicyBody $(FUZZTIME_SHORT)
	@GO=$(GO) scripts/fuzz.sh ./api FuzzRegistryEndpointBody $(FUZZTIME_SHORT)
	@GO=$(GO) scripts/fuzz.sh ./replication FuzzReplicationPolicy $(FUZZTIME_SHORT)
	@GO=$(GO) scripts/fuzz.sh ./replication FuzzRegistryEndpoint $(FUZZTIME_SHORT)
	@GO=$(GO) scripts/fuzz.sh ./api FuzzProjectScanJSON $(FUZZTIME_SHORT)
	@GO=$(GO) scripts/fuzz.sh ./scan/engine FuzzProjectScanSettings $(FUZZTIME_SHORT)
	@GO=$(GO) scripts/fuzz.sh ./scan/engine FuzzScannerRegistration $(FUZZTIME_SHORT)
	@GO=$(GO) scripts/fuzz.sh ./webhook FuzzVerify $(FUZZTIME_SHORT)
	@GO=$(GO) scripts/fuzz.sh ./scan/pluggable FuzzScanRequest $(FUZZTIME_SHORT)
	@GO=$(GO) scripts/fuzz.sh ./scan/osv FuzzParse $(FUZZTIME_SHORT)
	@GO=$(GO) scripts/fuzz.sh ./storage/objectstore FuzzDecodeState $(FUZZTIME_SHORT)
	@GO=$(GO) scripts/fuzz.sh ./ui FuzzRedirectTarget $(FUZZTIME_SHORT)
	@GO=$(GO) scripts/fuzz.sh ./ui FuzzRequestPreferences $(FUZZTIME_SHORT)

# Open (auth disabled) with every API on, anonymous mounts included; then
# through the token flow as the admin, where anonymous mounts are off.
conformance: build
	BERTH_AUTH_DISABLED=true BERTH_SPARSE_MANIFESTS=true scripts/serve.sh $(BIN)/registry -- sh -c 'conformance/run.sh "$$BERTH_REGISTRY"'
	BERTH_ADMIN_PASSWORD=$(TEST_ADMIN_PASSWORD) BERTH_CREATE_PROJECTS_ON_PUSH=true BERTH_SPARSE_MANIFESTS=true \
		scripts/serve.sh $(BIN)/registry -- env OCI_USERNAME=admin OCI_PASSWORD=$(TEST_ADMIN_PASSWORD) \
		OCI_API_BLOBS_MOUNT_ANONYMOUS=false sh -c 'conformance/run.sh "$$BERTH_REGISTRY"'

# The scanner's OSV fixtures (real advisories for the Alpine and Debian
# fixtures under scan/builtin/testdata), for TestScanOnPush.
SCAN_OSV_DB := $(CURDIR)/scan/builtin/testdata/osv

# The webhook test's receiver listens on loopback: BERTH_OUTBOUND_ALLOW lets
# deliveries reach it (the server refuses internal addresses by default).
# scripts/keyless.sh gives the server a trusted root of a private
# certificate authority, for the keyless content trust test.
e2e: build tools
	BERTH_ADMIN_PASSWORD=$(TEST_ADMIN_PASSWORD) BERTH_CREATE_PROJECTS_ON_PUSH=true BERTH_E2E_BIG=1 BERTH_SCAN_OSV_DB=$(SCAN_OSV_DB) \
		BERTH_OUTBOUND_ALLOW=127.0.0.0/8,::1 BERTH_TOOLS=$(TOOLS) \
		scripts/keyless.sh -- scripts/serve.sh $(BIN)/registry -- env BERTH_E2E_USER=admin BERTH_E2E_PASSWORD=$(TEST_ADMIN_PASSWORD) \
		sh -c 'e2e/run.sh "$$BERTH_REGISTRY"'

# The same suites with blobs on S3 (a real MinIO on loopback), 512 MiB layer
# included: upload sessions keep their multipart state in metadata, so a
# chunked push costs no more than a monolithic one. The real clients pull
# through presigned redirects; conformance streams blobs through the registry.
conformance-s3: build
	scripts/minio.sh -- env BERTH_STORAGE_DRIVER=s3 BERTH_SPARSE_MANIFESTS=true BERTH_AUTH_DISABLED=true \
		scripts/serve.sh $(BIN)/registry -- sh -c 'conformance/run.sh "$$BERTH_REGISTRY"'

# Without auth there is no admin API to turn a project's auto_scan on, so
# scan-on-push runs on a server of its own that scans every push
# (BERTH_SCAN_AUTO_SCAN): on the shared one, reports would be referrers of
# the other tests' images.
e2e-s3: build tools
	scripts/minio.sh -- env BERTH_STORAGE_DRIVER=s3 BERTH_E2E_BIG=1 BERTH_S3_REDIRECT_EXPIRY=10m BERTH_AUTH_DISABLED=true \
		scripts/serve.sh $(BIN)/registry -- sh -c 'e2e/run.sh "$$BERTH_REGISTRY"'
	scripts/minio.sh -- env BERTH_STORAGE_DRIVER=s3 BERTH_S3_REDIRECT_EXPIRY=10m BERTH_AUTH_DISABLED=true \
		BERTH_SCAN_OSV_DB=$(SCAN_OSV_DB) BERTH_SCAN_AUTO_SCAN=true BERTH_E2E_AUTO_SCAN=1 \
		scripts/serve.sh $(BIN)/registry -- sh -c 'e2e/run.sh "$$BERTH_REGISTRY" -run TestScanOnPush'

# The OCI conformance suite and the real clients against the example
# server on PostgreSQL (a fresh database each, scripts/serve.sh): the
# conformance suite with blobs on S3 too, as a cluster runs, through the
# token flow; the clients with auth, webhooks and scanning as in e2e.
conformance-postgres: build
	scripts/minio.sh -- scripts/postgres.sh -- env BERTH_METADATA_DRIVER=postgres BERTH_STORAGE_DRIVER=s3 \
		BERTH_ADMIN_PASSWORD=$(TEST_ADMIN_PASSWORD) BERTH_CREATE_PROJECTS_ON_PUSH=true BERTH_SPARSE_MANIFESTS=true \
		scripts/serve.sh $(BIN)/registry -- env OCI_USERNAME=admin OCI_PASSWORD=$(TEST_ADMIN_PASSWORD) \
		OCI_API_BLOBS_MOUNT_ANONYMOUS=false sh -c 'conformance/run.sh "$$BERTH_REGISTRY"'

e2e-postgres: build tools
	scripts/postgres.sh -- env BERTH_METADATA_DRIVER=postgres \
		BERTH_ADMIN_PASSWORD=$(TEST_ADMIN_PASSWORD) BERTH_CREATE_PROJECTS_ON_PUSH=true BERTH_E2E_BIG=1 BERTH_SCAN_OSV_DB=$(SCAN_OSV_DB) \
		BERTH_OUTBOUND_ALLOW=127.0.0.0/8,::1 BERTH_TOOLS=$(TOOLS) \
		scripts/keyless.sh -- scripts/serve.sh $(BIN)/registry -- env BERTH_E2E_USER=admin BERTH_E2E_PASSWORD=$(TEST_ADMIN_PASSWORD) \
		sh -c 'e2e/run.sh "$$BERTH_REGISTRY"'

# Three instances of the example server on one PostgreSQL database and one
# MinIO bucket behind nginx (scripts/cluster.sh): pushes through the
# balancer, pulls from each instance, chunks spread over instances, an
# instance SIGKILLed under pushes, garbage collection racing pushes,
# replication and webhook jobs taken over from a killed instance,
# PostgreSQL killed and restarted under the running instances.
cluster:
	scripts/cluster.sh 3 -- $(GO) test -count=1 ./cluster/...

# The README's first command with zero configuration, driven by crane and skopeo.
smoke: tools
	scripts/smoke-default.sh

# The container engines themselves against the example server
# (scripts/engines.sh, tests in engines/): Debian's dockerd, containerd through
# ctr and nerdctl, and Podman, over plain HTTP and over HTTPS with a CA the
# test makes. An engine that cannot run here is skipped with its own error.
engines: build
	BERTH_REGISTRY_BIN=$(BIN)/registry scripts/engines.sh

# A host platform embedding Berth (examples/platform), end to end with the
# pinned crane and Debian's skopeo: a tenant made from the host's Go code,
# its robot pushing to the image hub's domain, each push redeploying the
# component exactly once (across a restart), the scans and the pull gate.
platform: tools
	BERTH_TOOLS=$(TOOLS) $(GO) test -count=1 ./examples/platform/

# P2P preheat against the real providers, each pulling from a real Berth:
# Dragonfly (manager on scripts/postgres.sh's PostgreSQL, Debian's Redis,
# scheduler, one Go seed peer; built by scripts/dragonfly.sh, 5 to 15
# minutes the first time), run in a network namespace of the test's own
# (its manager refuses loopback addresses; needs root), its seed peer
# fetching every blob of a preheated image; and Uber's Kraken (origin,
# build-index and proxy, built by scripts/kraken.sh, 5 to 7 minutes the
# first time) caching every blob, through the provider and through a
# whole server (an instance and an event-based policy made through the
# admin API, then a push).
preheat:
	scripts/postgres.sh -- scripts/dragonfly.sh -- scripts/kraken.sh -- $(GO) test -count=1 ./preheat/... ./internal/testkraken/... ./internal/testdragonfly/...
	scripts/kraken.sh -- $(GO) test -count=1 -run TestPreheat ./server/

# Harbor's own clients against Berth (compat/harbor, a module of its own):
# the served OpenAPI document through kin-openapi's validator, and Harbor's
# Go client, generated from Harbor's swagger (goharbor/go-client), listing
# projects, repositories, artifacts and tags from a whole server, every
# answer checked against the document.
compat:
	cd compat/harbor && $(GO) vet ./... && $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./... && $(GO) test -count=1 ./...

# The web portal in a real browser (ui/browsertest, a module of its own):
# Debian's Chromium, headless, driven through chromedp, and axe-core from
# npm, both installed by scripts/chromium.sh; crane pushes the images.
# Screenshots of every step go to .artifacts/portal/.
portal: tools
	cd ui/browsertest && $(GO) vet ./... && $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./... && \
		../../scripts/chromium.sh -- env BERTH_CRANE=$(TOOLS)/crane $(GO) test -count=1 -timeout 20m ./...

# The example server's container image (scripts/image.sh): linux/amd64 and
# linux/arm64 as an OCI layout under bin/image, one CycloneDX SBOM a
# platform; IMAGE_REF=host/repo:tag also pushes it.
image:
	scripts/image.sh $(IMAGE_REF)

# The image pushed into a Berth the test starts, SBOMs attached as
# referrers, the index signed and verified with cosign, and run with a
# read-only root under containerd (scripts/containerd.sh).
image-check:
	scripts/image-check.sh

bench:
	bench/run.sh

# Garbage collection over 100k manifests / 1M blobs of synthetic metadata
# (see bench/README.md).
bench-gc:
	$(GO) test ./gc -run '^$$' -bench Collect -benchtime 1x -timeout 30m

clean:
	rm -rf $(BIN)
