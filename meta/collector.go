package meta

import (
	"errors"
	"time"

	"github.com/opencontainers/go-digest"
)

// Collector is the metadata side of garbage collection's safety against
// concurrent pushes, in three protocols, each with its own users.
//
// While a collection is active (Collection: Begin to End), manifest puts,
// tag puts and blob links record every digest they reference (Touched), so
// the sweep can skip what was referenced after its mark read the metadata.
// Writers claim a digest before they put its bytes in storage (Claims;
// Release once the metadata records them), so the sweep never deletes bytes
// a writer is about to rely on. Deleting a blob is two steps around the
// storage delete (Tombstones): Tombstone removes the registry-wide record,
// which makes every repository's link to it unknown (Blobs.Linked), and
// keeps a tombstone; Bury drops the tombstone once the bytes are gone. A
// tombstone left by a crash is found again by List. Links are not deleted
// one by one: when the blob is stored and linked again, repositories that
// linked it before the collection see it again (they had its content then).
type Collector interface {
	// Collection is the collector's own window: whether one runs, and what
	// was referenced since it began.
	Collection() Collection
	// Claims are the writers' side: digests about to be stored.
	Claims() Claims
	// Tombstones are the sweep's side: blobs being deleted.
	Tombstones() Tombstones
}

// Collection marks a garbage collection active and tracks what writers
// reference meanwhile.
type Collection interface {
	// Begin marks a collection active and clears the touched set.
	Begin(at time.Time) error
	// End marks it over.
	End() error
	// Active reports whether a collection is active, and since when.
	Active() (time.Time, bool, error)
	// Touched reports whether d was referenced since Begin.
	Touched(d digest.Digest) (bool, error)
}

// Claims records digests whose bytes a writer is about to put in storage.
type Claims interface {
	// Claim records that d's bytes are about to be written to storage.
	Claim(d digest.Digest, at time.Time) error
	// ClaimUnlessTombstoned claims d unless it has a tombstone, and then
	// fails with ErrTombstoned: from the call, or, in a store that sends
	// its writes with the commit, from Update, whose transaction then
	// changes nothing. A registry claims bytes it is about to write so.
	ClaimUnlessTombstoned(d digest.Digest, at time.Time) error
	// Release drops a claim (absent claims are no error).
	Release(d digest.Digest) error
	// Claimed returns when d was claimed, if it is.
	Claimed(d digest.Digest) (time.Time, bool, error)
}

// Tombstones records blobs whose bytes are being deleted.
type Tombstones interface {
	// Tombstone deletes blob d's registry-wide record and records that its
	// bytes are being deleted.
	Tombstone(d digest.Digest, at time.Time) error
	// Tombstoned reports whether d has a tombstone.
	Tombstoned(d digest.Digest) (bool, error)
	// List lists up to limit tombstoned digests after "after".
	List(after digest.Digest, limit int) ([]digest.Digest, error)
	// Bury drops d's tombstone.
	Bury(d digest.Digest) error
}

// ErrTombstoned reports a claim of a digest whose bytes garbage collection
// is deleting (Claims.ClaimUnlessTombstoned).
var ErrTombstoned = errors.New("meta: blob is being garbage collected")
