// Package berth is the root of Berth, an embeddable Go SDK for building OCI
// container registries. The packages below it are meant to be imported one
// by one; this package holds only documentation.
//
// The map:
//
//   - registry: the OCI Distribution Specification v1.1 as an http.Handler,
//     with hooks for authorization, policies and events; registry/httplimit
//     (idle request bodies cut, requests without credentials capped);
//     registry/naming (the project of a repository, cosign's attachment
//     tags: the rules every package shares); registry/inproc (the
//     in-process transport replication and scanning reach the registry
//     through).
//   - storage: the Driver interface for bytes; storage/fs (local disk),
//     storage/memory, and storage/storagetest, the conformance suite a
//     driver must pass; storage/objectstore, one driver for S3-like object
//     stores over a small Bucket seam, with its adapters storage/s3 (AWS S3,
//     MinIO, …) and storage/oss (Aliyun OSS) and its adapter suite
//     storage/objectstore/objectstoretest.
//   - meta: the transactional metadata store interface; meta/bolt (bbolt,
//     the embedded default) and meta/metatest, the backend suite.
//   - auth: principals, authenticators and the authorizer; auth/accounts
//     (users, projects, robots), auth/rbac (casbin), auth/guard (the
//     registry's hooks), auth/token (the Docker token service), auth/ldap,
//     auth/oidc and auth/session.
//   - events: the durable event log and its consumers; jobs: the job
//     queue with cron schedules; webhook: policies and deliveries;
//     netguard: the check that keeps outbound calls (webhooks, replication,
//     scanner adapters) off internal addresses unless allowed.
//   - gc: online garbage collection; replication: policies, executions and
//     tasks to and from any OCI registry.
//   - The artifact policies: quota (storage limits per project, counted
//     in every write's transaction), immutable (tag immutability rules),
//     retention (tag retention with dry runs, pull times batched) and
//     trust (pulls gated on a verified cosign signature; trust/cosign
//     verifies with sigstore). quota and immutable wrap the metadata
//     store (Service.Store), so every writer is held to them; retention
//     writes through that store; trust is a registry pull hook.
//   - scan: the Scanner interface with the Pluggable Scanner API types;
//     scan/pluggable (Harbor scanner adapters, both sides), scan/builtin
//     (the offline scanner), scan/osv (the OSV database), scan/engine
//     (scans as jobs, reports as referrers, the pull gate),
//     scan/securityhub (the registry-wide summary and search of findings,
//     kept at scan time), scan/cveexport (CSV exports of them, as jobs)
//     and scan/scantest, the suite a scanner must pass.
//   - settings: named run-time settings (schedules, the default scanner)
//     kept in the metadata store; generation: change counters in the
//     metadata store that keep what several instances hold in memory
//     (the authorizer's policy, schedules) in step.
//   - api: the Harbor-shaped admin REST API.
//   - server: everything above assembled into a complete registry from a
//     Config (New, Handler, Run, Close), with options for the parts a
//     host brings itself.
//   - registrytest: a throw-away in-memory registry for Go tests.
//   - examples/registry: flags, a YAML file and a listener around server;
//     examples/minimal: the smallest embedding.
//
// # Layers
//
// Imports flow one way, from the top down:
//
//  1. Core: registry, storage, meta. The OCI API over bytes and a
//     transactional store; meta's Tx is the typed core the registry's hot
//     paths need plus a record space (Tx.Records) for everything else.
//  2. Features: auth/accounts, webhook, replication, scan/engine, gc,
//     jobs, events, settings, generation, quota, immutable, retention,
//     trust. Each owns its record types (a
//     meta.RecordType declared next to the type), its rules and its
//     transactions, behind a small service that validates input, so a Go
//     caller and an API caller get the same checks and the same errors.
//  3. api: HTTP and JSON translation and authorization only; it calls the
//     feature services and never opens a transaction.
//  4. examples: flags and configuration around the pieces.
//
// A new feature is a new package in layer 2 with its records, rules and
// tests (metatest.RecordType checks its record types on a real backend),
// plus the lines that wire it in; it adds no method to meta.Tx, no code to
// a metadata backend, and nothing to another feature's package. What it
// keeps of a project goes with the project through
// accounts.WithProjectCleanup.
//
// # Construction
//
// One rule, everywhere: required dependencies are positional arguments of
// New, optional ones are functional options; one New per capability;
// nothing exported is changed after New returns; an invalid combination
// is an error from New that names what is wrong. Configuration structs
// are plain data for the example server's YAML, not a second way to
// construct; records, specs and results (jobs.Spec, meta.Event) are plain
// data too. Components are built by their New and tuned by options:
//
//	runner, _ := jobs.NewRunner(store, jobs.WithWorkers(8))
//	queue, _ := jobs.NewQueue(store, jobs.WithNotify(runner.Wake))
//	audit, _ := events.NewConsumer(store, "host-audit", events.Func(forward))
//

// A host assembles the pieces and serves the handler itself:
//
//	driver, _ := fs.New("/var/lib/berth/storage")
//	store, _ := bolt.Open("/var/lib/berth/meta.db")
//	h, _ := registry.New(driver, store)
//	http.ListenAndServe("127.0.0.1:5000", h)
package berth
