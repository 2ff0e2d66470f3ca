// Package meta defines Berth's transactional metadata store: the typed core
// the registry's hot paths need (repositories, manifests, tags,
// repository→blob links, the referrers index, upload sessions, the event
// log with its consumers' cursors, the job queue and garbage collection's
// bookkeeping), plus a record space for everything else.
//
// A Store runs functions inside read-only (View) or read-write (Update)
// transactions; everything done in one Update commits together or not at all.
// meta/bolt is the embedded bbolt implementation; meta/metatest is the
// conformance suite every backend must pass.
//
// # Feature records
//
// Features keep their records in the record space, not in this package:
// Tx.Records(kind) is an opaque, ordered key/value space per kind, and
// RecordType[T] a typed table over it, declared by the package that owns
// the type (accounts.Projects, webhook.PolicyRecords, replication.Policies,
// …). A new record type therefore changes neither this package's
// interfaces, nor any backend, nor metatest; the package checks its own
// type with metatest.RecordType. Tx stays at ten methods (TestTxStaysSmall).
//
// # Moving between backends
//
// A backend's transactions may also implement Porter (checked with a type
// assertion): what a whole-store copy needs beyond Tx's views, the blob
// links of every repository, record kinds, claims and tombstones with
// their times and the event and job counters (Dumper), and writes that
// keep records exactly as read (Restorer). meta/metacopy copies a store
// into an empty one of another backend with it, and compares the two.
//
// "Lexical order" in listings is byte-wise order of the names (Go's < on
// strings), not a locale collation.
package meta
