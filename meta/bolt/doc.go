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
//	schema/                        "version" -> "3"
//	repos/                         one nested bucket per repository name
//	  <name>/
//	    "repo"                     meta.Repository record
//	    "stats"                    uvarint manifests, artifacts, tags (Repositories.Stats)
//	    tags/                      tag -> D(digest)
//	    tagsByDigest/              D(digest) tag -> ""       (Tags.Of, delete cascade)
//	    manifests/                 K(digest) -> meta.Manifest record
//	    referrers/                 D(subject) K(referrer) -> ""
//	    byPush/                    T(pushedAt) digest -> "" (the artifacts, Manifests.Artifacts)
//	    parents/                   D(child) K(parent) -> "" (the children indexes list)
//	    blobs/                     K(digest) -> meta.Blob record (the repository link)
//	repoCounts/                    project -> uvarint count; its sequence counts all repositories
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
// manifests, referrers, artifact index, counters and blob links at once
// and touches no other repository.
//
// # Artifacts and counters
//
// byPush holds one key per artifact (meta.Manifest.IsArtifact): T, the
// push time in microseconds since the Unix epoch as 8 big-endian bytes
// with the sign bit flipped (byte order is time order), then the digest
// as its string, so that artifacts pushed in one microsecond sort as
// their digest strings do, exactly as in PostgreSQL and Go, whatever the
// digest. Manifests.Artifacts seeks to one end of the range its time
// bounds select (the last key at or before PushedTo, newest first) and
// steps the cursor, without decoding anything, past q.Offset keys, then
// reads the page's records: its cost is q.Offset+q.Limit steps and
// q.Limit lookups. Its total is the artifacts counter, or with a time
// bound a walk of the keys in range.
//
// parents has one key per child digest an index lists, whether or not
// the child has been pushed: whether a manifest has a parent is one Seek
// of its digest's prefix. Manifests.Put adds the keys of the children
// its record lists anew (unindexing those that were artifacts) and
// removes those of the children its replaced record listed and it does
// not (indexing those that exist, are not accessories and have no other
// parent); Manifests.Delete removes its children's keys likewise, but
// not the keys naming it as a child, so a child deleted and pushed again
// is still one. A re-push moves the manifest's byPush key to its new
// time. Every write keeps the "stats" counters in step (Tags.Put counts
// a new tag, not a moved one; Manifests.Delete its tags), and
// Repositories.Ensure and Delete the repository counts of
// naming.ProjectOf(name) and of all. Each of these costs the same
// whatever the repository's size: a write costs its children (and its
// tags, for a delete), a count one lookup.
//
// # Layout versions
//
// Open refuses a file of a layout version it does not know. A file of
// version 2 (written before the artifact index) is upgraded in place in
// Open's transaction: the parent links, byPush keys and counters of
// every repository and the repository counts are built from the records
// (a pass over every manifest and tag), then the version becomes 3. An
// interrupted upgrade commits nothing and runs again at the next Open.
package bolt
