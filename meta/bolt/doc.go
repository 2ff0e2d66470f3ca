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
// Every per-request operation is a handful of B+tree lookups or one cursor
// Seek followed by a page-sized scan, so its cost does not grow with the size
// of the repository:
//
//	schema/                        "version" -> "1"
//	repos/                         one nested bucket per repository name
//	  <name>/
//	    "repo"                     JSON meta.Repository
//	    tags/                      tag -> digest
//	    tagsByDigest/              digest "\x00" tag -> ""   (Tags.Of, delete cascade)
//	    manifests/                 digest -> JSON meta.Manifest
//	    referrers/                 subject "\x00" referrer -> ""
//	    blobs/                     digest -> JSON meta.Blob (the repository link)
//	blobs/                         digest -> JSON meta.Blob (registry-wide record)
//	uploads/                       id -> JSON meta.Upload
//
// Deleting a repository deletes its nested bucket, which removes its tags,
// manifests, referrers and blob links at once and touches no other
// repository.
package bolt
