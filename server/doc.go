// Package server assembles a complete Berth registry from a Config: the
// OCI distribution API with its token service, the Harbor-shaped admin
// API with browser sessions (local, LDAP and OIDC accounts, projects,
// robots), webhooks, replication, vulnerability scanning, garbage
// collection and the audit log, over a storage driver and a metadata
// store. It is what a host imports to run everything Berth does, and what
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
// host brings itself: WithAuthenticator (its own accounts), WithLogger,
// WithRegisterer (Prometheus), WithStorage, WithStore and WithConsumers
// (its own readers of the event log). Nothing is global: two servers with
// their own data directories run side by side in one process.
//
// # Health and outages
//
// /healthz is the liveness check: it answers 200 "ok" whenever the
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
// While a backend cannot be reached (its errors wrap meta.ErrUnavailable
// or storage.ErrUnavailable) every request that needs it is answered 503
// with a Retry-After, on every surface: the distribution API (UNAVAILABLE),
// the token service, the guard and the admin API and browser sign-in,
// where a login that could not be checked is 503, never 401. Nothing has
// to be restarted when the backend is back: the next request reaches it,
// and the background work retries its jobs and event batches.
package server
