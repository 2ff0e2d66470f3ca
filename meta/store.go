package meta

import (
	"context"
	"errors"

	"github.com/opencontainers/go-digest"
)

// Sentinel errors returned by every backend (possibly wrapped).
var (
	// ErrNotFound reports a missing repository, manifest, tag, blob link or upload.
	ErrNotFound = errors.New("meta: not found")
	// ErrReadOnly reports a write attempted inside a View transaction.
	ErrReadOnly = errors.New("meta: read-only transaction")
	// ErrUnavailable reports a backend that cannot be reached (a database
	// server down or unreachable, its connections exhausted): the request
	// may succeed later, and callers answer 503 with Retry-After rather
	// than treat it as a fault of the request.
	ErrUnavailable = errors.New("meta: backend unavailable")
)

// Store is a transactional metadata store. Implementations are safe for
// concurrent use. Times are kept to the microsecond (PostgreSQL's
// precision): a time read back may have lost finer digits, so compare
// stored times with times truncated alike, never with a raw time.Now. A transaction's function must not start another
// transaction on the same Store (an embedded backend would deadlock).
type Store interface {
	// View runs fn in a read-only transaction with a consistent snapshot
	// (under a context made by AllowCachedReads, a store with a read
	// cache may answer a tag and its manifest from it instead). If ctx is
	// done before the transaction starts, fn is not run and the context's
	// error is returned (possibly wrapped).
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in a read-write transaction. If fn returns an error the
	// transaction rolls back and Update returns that error; otherwise its
	// changes are durably committed before Update returns. fn may be run
	// more than once (backends batch concurrent Updates into one commit and
	// retry conflicts), so it must confine its effects to the transaction. If ctx is done
	// before the transaction starts, fn is not run and the context's error is
	// returned (possibly wrapped).
	Update(ctx context.Context, fn func(Tx) error) error
	// Close releases the store. Transactions must not be used afterwards.
	Close() error
}

// Tx groups the typed views of one transaction. The views are valid only
// inside the function the transaction was handed to.
//
// Every method that takes a repository name returns ErrNotFound if that
// repository does not exist (Repositories.Ensure creates it); upload sessions
// and Blobs.Stat are registry-wide and need none. A method that returns an
// error has changed nothing, and the transaction goes on: fn may handle the
// error and carry on.
type Tx interface {
	// Repositories is the catalog of repository names.
	Repositories() Repositories
	// Manifests holds manifest records and the referrers index.
	Manifests() Manifests
	// Tags maps tags to manifest digests.
	Tags() Tags
	// Blobs holds registry-wide blob records and repository links.
	Blobs() Blobs
	// Uploads holds in-progress upload sessions.
	Uploads() Uploads
	// Events is the durable change log.
	Events() Events
	// Cursors holds event log consumers' positions.
	Cursors() Table[Cursor]
	// Jobs is the job queue.
	Jobs() Jobs
	// Collector is garbage collection's bookkeeping.
	Collector() Collector
	// Records returns the feature records of kind (see RecordType). An
	// invalid kind yields a Records whose every call fails with
	// ErrBadKind.
	Records(kind string) Records
}

// Repositories is the catalog of repository names.
type Repositories interface {
	// Get returns the repository, or ErrNotFound.
	Get(name string) (Repository, error)
	// Ensure returns the repository, creating it first if it does not exist;
	// created reports whether it did.
	Ensure(name string) (repo Repository, created bool, err error)
	// Delete removes the repository and everything recorded in it (tags,
	// manifests, referrers, blob links). ErrNotFound if it does not exist.
	Delete(name string) error
	// List returns up to limit repository names sorting after "after", in
	// lexical order (limit <= 0: no limit). Cost grows with the page size.
	List(after string, limit int) ([]string, error)
	// Count returns the number of repositories in project (the first
	// path component of their names, naming.ProjectOf), or of all
	// repositories when project is "". Backends keep counters: the cost
	// does not grow with the number.
	Count(project string) (int, error)
	// Stats returns the counts of what repository name holds (kept as
	// counters, like Count), or ErrNotFound.
	Stats(name string) (RepositoryStats, error)
}

// Manifests holds manifest records per repository and the referrers index.
type Manifests interface {
	// Get returns the manifest with digest d in repo, or ErrNotFound.
	Get(repo string, d digest.Digest) (Manifest, error)
	// Put records m in repo (replacing a record with the same digest, and the
	// replaced record's referrers-index entry) and, if m.Subject is set,
	// indexes m as a referrer of that subject.
	Put(repo string, m Manifest) error
	// Delete removes the manifest, its referrers-index entry and every tag
	// pointing at it. ErrNotFound if it does not exist.
	Delete(repo string, d digest.Digest) error
	// Referrers returns the manifests in repo whose subject is d, in digest
	// order. The subject itself need not exist.
	Referrers(repo string, subject digest.Digest) ([]Manifest, error)
	// List returns up to limit manifest digests of repo after "after", in
	// lexical order (limit <= 0: no limit).
	List(repo string, after digest.Digest, limit int) ([]digest.Digest, error)
	// Artifacts returns a page of repo's artifacts (see IsArtifact) in
	// push order, newest first unless q.OldestFirst, ties broken by
	// digest, and how many artifacts match q in all. The page costs
	// q.Offset+q.Limit index steps, not the repository's size; the total
	// is a counter, or, with a push time bound, a count of the index
	// entries within it.
	Artifacts(repo string, q ArtifactQuery) (page []Manifest, total int, err error)
}

// Tags maps tag names to manifest digests per repository.
type Tags interface {
	// Get returns the digest tag points at, or ErrNotFound.
	Get(repo, tag string) (digest.Digest, error)
	// Put points tag at d, replacing any earlier target. ErrNotFound if repo
	// has no manifest d.
	Put(repo, tag string, d digest.Digest) error
	// Delete removes the tag; ErrNotFound if it does not exist.
	Delete(repo, tag string) error
	// List returns up to limit tags of repo sorting after "after", in lexical
	// order (limit <= 0: no limit). Cost grows with the page size.
	List(repo, after string, limit int) ([]string, error)
	// Of returns the tags of repo that point at d, in lexical order.
	Of(repo string, d digest.Digest) ([]string, error)
}

// Blobs records which blobs exist in storage and which repositories link them.
type Blobs interface {
	// Stat returns the registry-wide record of blob d, or ErrNotFound.
	Stat(d digest.Digest) (Blob, error)
	// Link records b registry-wide (if new) and links it into repo (if not
	// linked yet); existing records are kept as they are.
	Link(repo string, b Blob) error
	// Linked returns blob d as linked into repo, or ErrNotFound (also when
	// garbage collection tombstoned d since).
	Linked(repo string, d digest.Digest) (Blob, error)
	// Unlinked returns the digests of ds that Linked would not find in
	// repo (all of them when repo does not exist), in the order of ds:
	// one lookup for a manifest's blobs.
	Unlinked(repo string, ds []digest.Digest) ([]digest.Digest, error)
	// Unlink removes the link of d from repo; ErrNotFound if absent. The blob's
	// registry-wide record stays until garbage collection removes it.
	Unlink(repo string, d digest.Digest) error
	// List returns up to limit registry-wide blob records whose digests
	// sort after "after", in lexical order (limit <= 0: no limit): what
	// garbage collection walks.
	List(after digest.Digest, limit int) ([]Blob, error)
}

// Uploads holds in-progress blob upload sessions.
type Uploads interface {
	// Get returns the session with the given id, or ErrNotFound.
	Get(id string) (Upload, error)
	// Put creates or replaces the session u.ID.
	Put(u Upload) error
	// Delete removes the session; ErrNotFound if absent.
	Delete(id string) error
	// List returns up to limit sessions with ids after "after", in id order
	// (limit <= 0: no limit).
	List(after string, limit int) ([]Upload, error)
}
