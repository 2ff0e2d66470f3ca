package bolt

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"
	bbolt "go.etcd.io/bbolt"

	"github.com/berthreg/berth/meta"
)

var _ meta.Porter = (*tx)(nil)

// dumper is the meta.Dumper of a transaction.
type dumper struct{ t *tx }

// Dump returns the reads a whole-store copy needs beyond the views.
func (t *tx) Dump() meta.Dumper { return dumper{t} }

// Restore returns the writes that keep records exactly as read.
func (t *tx) Restore() meta.Restorer { return restorer{t} }

// Kinds returns the record kinds that hold a record: the non-empty
// buckets of the record space, in key order.
func (d dumper) Kinds() ([]string, error) {
	if err := d.t.live(); err != nil {
		return nil, err
	}
	parent := d.t.top(bucketRecords)
	var out []string
	c := parent.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v != nil {
			continue // not a bucket
		}
		if first, _ := parent.Bucket(k).Cursor().First(); first != nil {
			out = append(out, string(k))
		}
	}
	return out, nil
}

// Links returns a page of repo's blob links with their records.
func (d dumper) Links(repo string, after digest.Digest, limit int) ([]meta.Blob, error) {
	if err := d.t.live(); err != nil {
		return nil, err
	}
	lb, err := d.t.repoSub(repo, bucketLinks)
	if err != nil {
		return nil, err
	}
	return stamped(lb, after, limit, "links of "+repo, func(dg digest.Digest, raw []byte) (meta.Blob, error) {
		return decodeBlob(dg, raw)
	})
}

// Claims returns a page of claims with their times.
func (d dumper) Claims(after digest.Digest, limit int) ([]meta.Stamp, error) {
	if err := d.t.live(); err != nil {
		return nil, err
	}
	return stamped(d.t.top(bucketClaims), after, limit, "claims", func(dg digest.Digest, raw []byte) (meta.Stamp, error) {
		at, err := decodeTime(raw)
		return meta.Stamp{Digest: dg, At: at.UTC()}, err
	})
}

// Tombstones returns a page of tombstones with their times.
func (d dumper) Tombstones(after digest.Digest, limit int) ([]meta.Stamp, error) {
	if err := d.t.live(); err != nil {
		return nil, err
	}
	return stamped(d.t.top(bucketTombstones), after, limit, "tombstones", func(dg digest.Digest, raw []byte) (meta.Stamp, error) {
		var at time.Time
		err := json.Unmarshal(raw, &at)
		return meta.Stamp{Digest: dg, At: at.UTC()}, err
	})
}

// stamped decodes a page of the digest-keyed bucket b (see listDigests),
// each value with decode; what names the bucket in errors.
func stamped[T any](b *bbolt.Bucket, after digest.Digest, limit int, what string, decode func(digest.Digest, []byte) (T, error)) ([]T, error) {
	ds, err := listDigests(b, string(after), limit)
	if err != nil {
		return nil, fmt.Errorf("meta/bolt: %s: %w", what, err)
	}
	out := make([]T, 0, len(ds))
	for _, dg := range ds {
		v, err := decode(dg, b.Get(digestKey(dg)))
		if err != nil {
			return out, fmt.Errorf("meta/bolt: %s: %s: %w", what, dg, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// Sequences returns the counters of the events and jobs buckets.
func (d dumper) Sequences() (meta.Sequences, error) {
	if err := d.t.live(); err != nil {
		return meta.Sequences{}, err
	}
	return meta.Sequences{Events: d.t.top(bucketEvents).Sequence(), Jobs: d.t.top(bucketJobs).Sequence()}, nil
}
