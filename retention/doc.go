// Package retention keeps what a project's retention policy says to keep
// and deletes the rest: Harbor's tag retention, with a dry run that
// deletes nothing.
//
// # Rules
//
// A policy (one per project) has up to MaxRules rules, OR'ed. A rule
// selects repositories (by their name inside the project) and, in them,
// the artifacts with a tag its tag selector selects (doublestar patterns,
// matches or excludes, as package immutable's), and untagged artifacts
// when Untagged is set; of those it keeps, by its template, the Count
// most recently pushed (LatestPushed) or pulled (LatestPulled, never
// pulled last), those pushed or pulled within Count days (PushedWithin,
// PulledWithin), or all (Always). A repository no enabled rule selects
// is left alone; in one that a rule selects, an artifact is kept when any
// rule keeps it, or when one of its tags is immutable (WithImmutable).
//
// An artifact here is a manifest that does not belong to another of the
// repository: an index's children go with their index (kept while it is
// kept), referrers (signatures, SBOMs, attestations pushed with a
// subject) and cosign's tag-named attachments ("sha256-<hex>.sig") go
// with their subject, and are deleted when their subject is (or is gone
// already). cosign's tags never select or count as an artifact's tags.
//
// # Runs
//
// Service.Start queues a run (a job of kind JobKind; a policy's Schedule,
// a cron spec with seconds, queues them too, once per tick across
// instances). A run plans every selected repository in one read-only
// snapshot (Plan). A dry run stops there and records the plan: it writes
// nothing but its execution record and event. A real run then deletes
// the planned manifests in batches, through the store New was given (so
// quotas are given back and immutability rules hold), each only if it
// still has the tags it was planned with: a manifest tagged since, or a
// tag moved onto it, is left and counted as skipped. On a repository no
// one writes meanwhile, what a real run deletes is exactly what a dry run
// reports. Each run leaves an Execution (per repository: artifacts
// weighed, kept, deleted, and up to 1000 of the deleted listed) and a
// TAG_RETENTION event.
//
// # Pull times
//
// PullTimes records when each manifest is pulled, for the pull
// templates, without a write per pull: it notes pulls in memory (at most
// WithMaxPending manifests) and writes them in one transaction per
// interval, never moving a time back. A pull that never reached the
// store (the process died first) counts as not made.
package retention
