// Package server assembles a complete Berth registry from a Config: the
// OCI distribution API with its token service, the Harbor-shaped admin
// API with browser sessions (local, LDAP and OIDC accounts, projects,
// robots), webhooks, replication, vulnerability scanning, garbage
// collection, the audit log and the artifact policies (storage quotas,
// tag immutability, tag retention, content trust), over a storage driver
// and a metadata store. The quota count and the immutability rules wrap
// the store (policies.go), and everything that writes manifests or tags
// is given the wrapped store, so no writer escapes them. It is what a host imports to run everything Berth does, and what
// examples/registry wraps with flags, a YAML file and a listener.
//
// New builds the server (nothing runs yet); Handler is its http.Handler,
// to serve from the host's own http.Server or mount in its own mux; Run
// runs the background work (jobs, schedules, event consumers) until its
// context ends; Close releases the store and the scanner.
//
//	cfg := server.DefaultConfig()        // or YAML into it, then
//	_ = cfg.ApplyEnv(os.Getenv)          // BERTH_* overrides
//	srv, err := server.New(ctx, cfg, server.WithLogger(logger))
//	if err != nil { … }                  // names the offending key
//	defer srv.Close()
//	go srv.Run(ctx)
//	http.ListenAndServe(cfg.Addr, srv.Handler())
//
// Config is plain data: every key has a default (DefaultConfig), the
// storage drivers' own Config types (storage/s3, storage/oss) are used as
// they are, and Validate names the offending key. Options replace what a
// host brings itself: WithAuthenticator (its own people; robots stay the
// server's), WithLogger, WithRegisterer (Prometheus), WithStorage,
// WithStore and WithConsumers (its own readers of the event log). A host
// changes projects, members and robots from its own Go code through
// Accounts, and their scanning settings through ProjectScans, under the
// same rules as the admin API. Nothing is global: two servers with their
// own data directories run side by side in one process; examples/platform
// is a whole host built this way.
//
// # Serving
//
// New does not listen. Serve serves Handler on a listener the host
// opened, until its context ends, then shuts down gracefully: plain
// HTTP, or with tls.certFile and tls.keyFile HTTPS (TLS 1.2 or later,
// HTTP/2, certificate files re-read at the first handshake after they
// change, optional client certificates from tls.clientCA). A host with
// an http.Server of its own takes TLSConfig. Proxies in front are
// believed (X-Forwarded-For, -Proto, -Host) only when listed in
// http.trustedProxies (loopback by default); from anyone else those
// headers are dropped before any handler sees them.
//
// # Health and outages
//
// /livez (also /healthz) is the liveness check: it answers 200 "ok" whenever the
// process serves requests and reaches no backend, so that an outage of
// the metadata store or the storage does not get a healthy process
// restarted. /readyz is the readiness check: 200 "ok" while the metadata
// store answers a one-name read of the repository list and the storage a
// one-name listing, each within 2 seconds; else 503 with a Retry-After
// and a text body naming the backends that did not answer ("unavailable:
// metadata store"), their errors going to the log only. Anyone may call
// it: its outcome is reused for a second and one check runs at a time,
// so callers cost the backends at most one read each per second.
//
// # Several instances
//
// Instances sharing a PostgreSQL metadata store and the blob storage are
// one registry; nothing else is shared, and each has a data directory of
// its own. What one instance does, the others see:
//
//   - Keys. The token signing key and the session key are records of the
//     store (kind serverKeys), created by the first instance to start (in
//     a transaction that writes only if none exists, so instances
//     starting together end up with one key) and read by the others; a
//     token or session cookie one issues verifies on every other. A key
//     file named by auth.tokenKey or auth.sessionKey is used instead, and
//     must then be given to every instance.
//   - The admin. A configured password is written only when the stored
//     one differs; a generated one only when there is no admin, by the
//     one instance that creates it (the others leave it alone).
//   - Read on every use, never cached: accounts, their secrets and
//     sessions, projects and their settings, scanner registrations and
//     the default scanner, webhook and replication policies, upload
//     sessions, the job queue. A password changed, or an account or robot
//     deleted or disabled, through one instance is refused by every other
//     at its next request.
//   - Held in memory, kept fresh through package generation: the
//     authorizer's policy (members, grants, robots' rights), the stored
//     schedules (garbage collection, scan-all), the replication
//     policies' schedules and the pull gate's project settings. Each
//     change bumps a counter in its own transaction
//     (accounts.PolicyGeneration, jobs.SchedulesGeneration,
//     replication.PoliciesGeneration, engine.ProjectScanGeneration);
//     each instance reads every counter in one small transaction each
//     metadata.refresh (1s by default) and reloads what moved, so a
//     change is in force everywhere within metadata.refresh plus the
//     reload's time (for the policy, reading the projects and robots),
//     once Run runs. Everything is reloaded every minute besides, for
//     changes made without a bump (an older version during a rolling
//     upgrade).
//   - On PostgreSQL, the tags an instance resolved for pulls
//     (metadata.postgres.readCache, postgres.WithReadCache): dropped at
//     once by the instance's own changes, and within two metadata.refresh
//     by another instance's move or deletion of a tag (the store's drop
//     log, read every metadata.refresh).
//   - Per instance, by design: the login limiter's failure counts (an
//     attacker spreading guesses over n instances gets n times the
//     budget), the verified-token and verified-credential caches (each
//     hit checked again against its token's expiry or the stored
//     account), the manifest bytes cache (content-addressed, never stale).
//
// While a backend cannot be reached (its errors wrap meta.ErrUnavailable
// or storage.ErrUnavailable) every request that needs it is answered 503
// with a Retry-After, on every surface: the distribution API (UNAVAILABLE),
// the token service, the guard and the admin API and browser sign-in,
// where a login that could not be checked is 503, never 401. Nothing has
// to be restarted when the backend is back: the next request reaches it,
// and the background work retries its jobs and event batches.
package server
