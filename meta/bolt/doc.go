// Package bolt is the embedded meta.Store backend, kept in one bbolt file.
//
// A Store is used by one process at a time: Open takes an exclusive lock on
// the file (waiting up to the Timeout option). Update transactions run one at
// a time and are fsynced on commit unless NoSync is set; View transactions run
// concurrently with each other and with the writer on a consistent snapshot.
// Never start a transaction inside another one's function: an Update waits
// for the running Update, and a growing file waits for open Views.
//
// # Layout
//
// Every per-request operation is a handful of B+tree lookups or one or two
// cursor Seeks followed by a page-sized scan, so its cost does not grow with
// the size of the repository:
//
//	schema/                        "version" -> "2"
//	repos/                         one nested bucket per repository name
//	  <name>/
//	    "repo"                     meta.Repository record
//	    tags/                      tag -> D(digest)
//	    tagsByDigest/              D(digest) tag -> ""       (Tags.Of, delete cascade)
//	    manifests/                 K(digest) -> meta.Manifest record
//	    referrers/                 D(subject) K(referrer) -> ""
//	    blobs/                     K(digest) -> meta.Blob record (the repository link)
//	blobs/                         K(digest) -> meta.Blob record (registry-wide)
//	uploads/                       id -> meta.Upload record
//	events/                        seq (8 bytes, big-endian) -> meta.Event as JSON
//	cursors/                       consumer name -> meta.Cursor as JSON
//	jobs/                          id (8 bytes, big-endian) -> meta.Job as JSON
//	jobsActive/                    id -> ""               (pending and running jobs, for Lease)
//	jobKeys/                       job key -> id          (unique keys, e.g. cron fires)
//	gc/                            "active" -> time        (a collection is running)
//	gcTouched/                     K(digest) -> ""         (referenced since it began)
//	gcClaims/                      K(digest) -> time       (bytes being written)
//	gcTombstones/                  K(digest) -> time       (bytes being deleted)
//	records/                       the record space (meta.Tx.Records)
//	  <kind>/                      key -> the owning package's bytes (JSON, for meta.RecordType)
//
// The feature records (projects, users, robots, webhook policies and
// deliveries, replication and scanning records, settings) live in the
// record space, one nested bucket per kind, created on its first Put; a
// store written by an earlier build, which kept them in top-level buckets
// of the same names, has them moved there when opened. The event log, the
// cursors and the job queue hold JSON: they are not read on every registry
// request, and JSON lets their fields grow without a layout version. The
// registry's own records are the compact binary encoding of codec.go,
// without the field that is their key. Digests are compact too (digests.go): an algorithm byte
// and the raw bytes of a canonical sha256 or sha512 digest (33 or 65 bytes
// instead of 71 or 135), else a literal digest string. D is the prefix-free
// form, in which a literal carries its length, so the keys of one digest are
// found by prefix and a composite key needs no separator; K is the whole-key
// form, whose byte order is the lexical order of canonical digests (digest
// listings merge in the literals, see digestlist.go). Repository names, tags
// and upload ids are stored as given, so their listings are in byte order.
//
// Deleting a repository deletes its nested bucket, which removes its tags,
// manifests, referrers and blob links at once and touches no other
// repository.
package bolt
