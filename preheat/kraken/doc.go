// Package kraken is the preheat.Provider for Uber's Kraken
// (github.com/uber/kraken), a P2P docker registry: Berth asks Kraken's
// proxy to pull an artifact into Kraken's origins before anyone pulls
// it, as Harbor's Kraken driver does.
//
//	svc, err := preheat.New(store, queue, artifacts, preheat.WithProvider(kraken.Vendor, kraken.New))
//
// # The API
//
// Kraken has no preheat API of its own: its proxy takes the
// notifications a Docker registry sends on push, on the port its
// --server-port flag opens (not its registry port). So the instance's
// endpoint is that server port's base URL, and:
//
//   - Health is GET <endpoint>/health; any 2xx is healthy (Kraken
//     answers 200 "OK").
//   - Preheat is POST <endpoint>/registry/notifications with a Docker
//     registry notification envelope holding one event: action "push",
//     a random id, and a target with the manifest's mediaType (always a
//     Docker schema 2 image manifest), digest, repository, url and tag.
//     Kraken keeps the events whose action is "push" and whose media type
//     is a Docker manifest's, and reads only their repository and
//     digest: it has its origin cluster fetch the manifest (the origin
//     pulls it from its registry backend by digest), then tells the
//     origins to cache every blob the manifest references, which they
//     pull from the same backend in the background. It answers 200
//     whatever became of that, so a 2xx is a successful job: Kraken took
//     the preheat.
//   - Job: Kraken keeps no jobs, so Preheat returns a final job at once
//     and Job returns that record again, from this Provider's memory (see
//     Job's documentation).
//
// Kraken pulls with its own credentials: its origin's (and
// build-index's) registry backend is configured with this registry's
// address and an account of it (Kraken's docs/INTEGRATEWITHHARBOR.md).
// The notification carries none, so Image.Headers is not sent, nor is
// Image.Scope: Kraken always preheats into its origins, from which its
// agents seed each other. The endpoint's AuthMode credentials are sent
// with every request for a reverse proxy in front of Kraken, which has
// no authentication of its own.
//
// Kraken v0.1.4 parses the fetched manifest as a Docker schema 2 image
// manifest, whatever the event says: for an OCI manifest or an image
// index it caches that manifest alone, logs the parse error, and the
// job still succeeds.
//
// # Sources
//
// The behaviour is rewritten from these, read for facts only:
//
//   - goharbor/harbor, src/pkg/p2p/preheat/provider/kraken.go (commit
//     0063430f6d8b864d3530e4597daf232cbf4e8526): the paths, the
//     envelope and its fields, 2xx as success, a final status at
//     Preheat and success from CheckProgress; with
//     src/pkg/p2p/preheat/provider/client/http_client.go (any non-2xx is
//     an error) and src/pkg/p2p/preheat/models/notification/
//     notification.go (the envelope's types).
//   - uber/kraken v0.1.4 (module github.com/uber/kraken@v0.1.4, the
//     version the Go module proxy serves and internal/testkraken runs):
//     proxy/proxyserver/server.go (the routes), preheat.go (the event
//     filter, the manifest fetch through the origin cluster, the blob
//     caching, 200 whatever happened), registry_events.go (the fields it
//     decodes), lib/backend/registrybackend/blobclient.go (the origin's
//     pulls: /v2/<repo>/blobs/<digest>, then /manifests/<digest>), and
//     utils/dockerutil/dockerutil.go (schema 2 only).
//   - uber/kraken docs/INTEGRATEWITHHARBOR.md: the deployment, Kraken's
//     backends pointing at the registry.
//
// The tests run a real Kraken (internal/testkraken, built by
// scripts/kraken.sh) in front of a real Berth server.
package kraken
