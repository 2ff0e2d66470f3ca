// Package proxy makes projects pull-through caches of other registries
// (Harbor's proxy cache projects): a pull of <project>/<repository> that
// misses fetches <repository> from the project's upstream registries, in
// order, streams it to the client while storing it, and serves it from
// here afterwards.
//
// A project's Settings name its upstreams (registry endpoints, as
// replication keeps them: URL, credentials, TLS) and how long a cached
// tag is served before a HEAD revalidates it; digests never are. The
// Service is a registry.Upstream: the registry handler asks it before
// resolving a tag of a cache, and on a manifest or blob the cache lacks.
//
// What the Service fetches it writes into this registry through the
// registry's own API, in process (the local transport given to New), so
// that cached content is ordinary content: quotas count it, events and
// webhooks report it, scanning, gates and replication see it. Hooks
// refuses every other push into a cache.
//
// Failures: when the upstreams cannot be reached, time out or answer 429
// or 5xx, a cached tag is served with a Warning header; with nothing
// cached, the pull fails saying what each upstream answered (an
// upstream's 404 is a 404).
//
// Mirrors serves the caches as registry mirrors at the root (containerd's
// ?ns=, Docker's registry-mirrors). ExpireJob removes what nobody pulled
// for a while. WithObserver reports fetches and stale copies (the server
// makes metrics of them), and pull events name the upstream that served
// a fetch (registry.Event.Upstream). With WithWatcher, the settings stay
// in memory, and a tag checked within the TTL is served without a read.
//
// Upstreams: each endpoint is reached once per version of its record
// (connections and, per repository, token transports reused), and has
// its own bounds (WithUpstreamLimits): blob fetches at once, bandwidth.
//
// Blobs: concurrent pulls of a blob being fetched share one fetch. The
// fetch runs at the upstream's pace into a spool file on disk, which each
// client reads at its own pace, so memory stays bounded whatever the
// blob's size and a slow client does not hold the upstream. The digest
// is computed as the bytes arrive, beside the spooling; once the blob is
// complete and verified, the spool file is stored here as it is
// (registry.Vouched: not hashed again, copied by the kernel on fs), and a
// fetch that fails stores nothing.
package proxy
