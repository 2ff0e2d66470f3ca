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
package server
