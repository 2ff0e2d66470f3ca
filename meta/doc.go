// Package meta defines Berth's transactional metadata store: repositories,
// manifests, tags, repository→blob links, the referrers index and upload
// sessions.
//
// A Store runs functions inside read-only (View) or read-write (Update)
// transactions; everything done in one Update commits together or not at all.
// meta/bolt is the embedded bbolt implementation; meta/metatest is the
// conformance suite every backend must pass.
//
// "Lexical order" in listings is byte-wise order of the names (Go's < on
// strings), not a locale collation.
package meta
