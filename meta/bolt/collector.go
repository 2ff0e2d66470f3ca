package bolt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"
	bbolt "go.etcd.io/bbolt"

	"github.com/berthreg/berth/meta"
)

// Buckets of garbage collection's bookkeeping: the active marker, digests
// touched since, claims and tombstones (keys in the whole-key digest form).
var (
	bucketGC         = []byte("gc")
	bucketTouched    = []byte("gcTouched")
	bucketClaims     = []byte("gcClaims")
	bucketTombstones = []byte("gcTombstones")

	keyActive = []byte("active")
)

// collector is the meta.Collector view of a transaction; collection,
// claims and tombstones are its three protocols.
type (
	collector  struct{ t *tx }
	collection struct{ t *tx }
	claims     struct{ t *tx }
	tombstones struct{ t *tx }
)

// Collector returns garbage collection's bookkeeping.
func (t *tx) Collector() meta.Collector { return collector{t} }

// Collection returns the collection window.
func (c collector) Collection() meta.Collection { return collection(c) }

// Claims returns the writers' claims.
func (c collector) Claims() meta.Claims { return claims(c) }

// Tombstones returns the sweep's tombstones.
func (c collector) Tombstones() meta.Tombstones { return tombstones(c) }

func encodeTime(at time.Time) []byte { b, _ := at.UTC().MarshalBinary(); return b }

func decodeTime(b []byte) (time.Time, error) {
	var at time.Time
	err := at.UnmarshalBinary(b)
	return at, err
}

// Begin marks a collection active and clears the touched set.
func (c collection) Begin(at time.Time) error {
	if err := c.t.writable("begin collection"); err != nil {
		return err
	}
	if err := c.t.btx.DeleteBucket(bucketTouched); err != nil {
		return fmt.Errorf("meta/bolt: begin collection: %w", err)
	}
	if _, err := c.t.btx.CreateBucket(bucketTouched); err != nil {
		return fmt.Errorf("meta/bolt: begin collection: %w", err)
	}
	return c.t.top(bucketGC).Put(keyActive, encodeTime(at))
}

// End marks the collection over.
func (c collection) End() error {
	if err := c.t.writable("end collection"); err != nil {
		return err
	}
	return c.t.top(bucketGC).Delete(keyActive)
}

// Active reports whether a collection is active.
func (c collection) Active() (time.Time, bool, error) {
	if err := c.t.live(); err != nil {
		return time.Time{}, false, err
	}
	raw := c.t.top(bucketGC).Get(keyActive)
	if raw == nil {
		return time.Time{}, false, nil
	}
	at, err := decodeTime(raw)
	return at, err == nil, err
}

// touchedValue is what a touch stores. It is not empty: bbolt's Get
// returns nil for an empty value put in the same transaction, which made
// a push's touches invisible to a collection's deletion committed with it
// (group commit), and the collection deleted blobs the push had just
// referenced.
var touchedValue = []byte{1}

// hasKey reports whether b holds key, whatever its value.
func hasKey(b *bbolt.Bucket, key []byte) bool {
	k, _ := b.Cursor().Seek(key)
	return bytes.Equal(k, key)
}

// touch records ds as referenced when a collection is active: what
// manifest puts and blob links call.
func (t *tx) touch(ds ...digest.Digest) error {
	if t.top(bucketGC).Get(keyActive) == nil {
		return nil
	}
	b := t.top(bucketTouched)
	for _, d := range ds {
		if d == "" {
			continue
		}
		if err := b.Put(digestKey(d), touchedValue); err != nil {
			return fmt.Errorf("meta/bolt: touch %s: %w", d, err)
		}
	}
	return nil
}

// Touched reports whether d was referenced since Begin.
func (c collection) Touched(d digest.Digest) (bool, error) {
	if err := c.t.live(); err != nil {
		return false, err
	}
	return hasKey(c.t.top(bucketTouched), digestKey(d)), nil
}

// Claim records that d's bytes are about to be written.
func (c claims) Claim(d digest.Digest, at time.Time) error {
	if err := c.t.writable("claim"); err != nil {
		return err
	}
	return c.t.top(bucketClaims).Put(digestKey(d), encodeTime(at))
}

// ClaimUnlessTombstoned claims d, or fails with meta.ErrTombstoned.
func (c claims) ClaimUnlessTombstoned(d digest.Digest, at time.Time) error {
	if err := c.t.writable("claim"); err != nil {
		return err
	}
	if c.t.top(bucketTombstones).Get(digestKey(d)) != nil {
		return fmt.Errorf("meta/bolt: claim %s: %w", d, meta.ErrTombstoned)
	}
	return c.Claim(d, at)
}

// Release drops a claim.
func (c claims) Release(d digest.Digest) error {
	if err := c.t.writable("release"); err != nil {
		return err
	}
	return c.t.top(bucketClaims).Delete(digestKey(d))
}

// Claimed returns when d was claimed.
func (c claims) Claimed(d digest.Digest) (time.Time, bool, error) {
	if err := c.t.live(); err != nil {
		return time.Time{}, false, err
	}
	raw := c.t.top(bucketClaims).Get(digestKey(d))
	if raw == nil {
		return time.Time{}, false, nil
	}
	at, err := decodeTime(raw)
	return at, err == nil, err
}

// Tombstone deletes d's registry-wide record and keeps a tombstone.
func (c tombstones) Tombstone(d digest.Digest, at time.Time) error {
	if err := c.t.writable("tombstone"); err != nil {
		return err
	}
	key := digestKey(d)
	if err := c.t.top(bucketBlobs).Delete(key); err != nil {
		return fmt.Errorf("meta/bolt: tombstone %s: %w", d, err)
	}
	raw, _ := json.Marshal(at.UTC())
	return c.t.top(bucketTombstones).Put(key, raw)
}

// Tombstoned reports whether d has a tombstone.
func (c tombstones) Tombstoned(d digest.Digest) (bool, error) {
	if err := c.t.live(); err != nil {
		return false, err
	}
	return c.t.top(bucketTombstones).Get(digestKey(d)) != nil, nil
}

// List lists tombstoned digests after "after".
func (c tombstones) List(after digest.Digest, limit int) ([]digest.Digest, error) {
	if err := c.t.live(); err != nil {
		return nil, err
	}
	return listDigests(c.t.top(bucketTombstones), string(after), limit)
}

// Bury drops d's tombstone.
func (c tombstones) Bury(d digest.Digest) error {
	if err := c.t.writable("bury"); err != nil {
		return err
	}
	return c.t.top(bucketTombstones).Delete(digestKey(d))
}
