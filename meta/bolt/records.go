package bolt

import (
	"encoding/json"
	"fmt"
	"slices"

	bbolt "go.etcd.io/bbolt"

	"github.com/berthreg/berth/meta"
)

// bucketRecords holds the feature records: one sub-bucket per kind, created
// on the kind's first Put, values as the owning package encoded them.
var bucketRecords = []byte("records")

// records is the meta.Records view of one kind in a transaction.
type records struct {
	t    *tx
	kind string
	err  error // the kind's validation error, returned by every call
}

// Records returns the feature records of kind.
func (t *tx) Records(kind string) meta.Records {
	return records{t: t, kind: kind, err: meta.ValidKind(kind)}
}

// bucket returns the kind's bucket, nil if it has none yet (create: make
// it).
func (r records) bucket(create bool) (*bbolt.Bucket, error) {
	parent := r.t.top(bucketRecords)
	if b := parent.Bucket([]byte(r.kind)); b != nil || !create {
		return b, nil
	}
	b, err := parent.CreateBucket([]byte(r.kind))
	if err != nil {
		return nil, fmt.Errorf("meta/bolt: records %q: %w", r.kind, err)
	}
	return b, nil
}

func (r records) notFound(key string) error {
	return fmt.Errorf("meta/bolt: %s %q: %w", r.kind, key, meta.ErrNotFound)
}

// Get returns the value stored under key, or meta.ErrNotFound.
func (r records) Get(key string) ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	if err := r.t.live(); err != nil {
		return nil, err
	}
	b, _ := r.bucket(false)
	if b == nil || key == "" {
		return nil, r.notFound(key)
	}
	raw := b.Get([]byte(key))
	if raw == nil && !hasKey(b, []byte(key)) { // an empty value reads as nil
		return nil, r.notFound(key)
	}
	return append([]byte{}, raw...), nil
}

// GetMany returns the values stored under keys, leaving out the absent.
func (r records) GetMany(keys []string) (map[string][]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	if err := r.t.live(); err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(keys))
	b, _ := r.bucket(false)
	if b == nil {
		return out, nil
	}
	for _, key := range keys {
		if key == "" {
			continue
		}
		raw := b.Get([]byte(key))
		if raw == nil && !hasKey(b, []byte(key)) {
			continue
		}
		out[key] = append([]byte{}, raw...)
	}
	return out, nil
}

// PutNew stores the records whose keys hold none, returning their keys,
// and the values of the keys in read as they were before.
func (r records) PutNew(recs []meta.Record, read ...string) ([]string, map[string][]byte, error) {
	if r.err != nil {
		return nil, nil, r.err
	}
	if err := r.t.writable("put " + r.kind); err != nil {
		return nil, nil, err
	}
	for _, rec := range recs {
		if rec.Key == "" {
			return nil, nil, fmt.Errorf("meta/bolt: put %s: empty key", r.kind)
		}
	}
	got, err := r.GetMany(read)
	if err != nil || len(recs) == 0 {
		return nil, got, err
	}
	b, err := r.bucket(true)
	if err != nil {
		return nil, nil, err
	}
	var stored []string
	for _, rec := range recs {
		if hasKey(b, []byte(rec.Key)) {
			continue
		}
		if err := b.Put([]byte(rec.Key), rec.Value); err != nil {
			return stored, nil, fmt.Errorf("meta/bolt: put %s %q: %w", r.kind, rec.Key, err)
		}
		stored = append(stored, rec.Key)
	}
	return stored, got, nil
}

// Put stores value under key.
func (r records) Put(key string, value []byte) error {
	if r.err != nil {
		return r.err
	}
	if err := r.t.writable("put " + r.kind); err != nil {
		return err
	}
	if key == "" {
		return fmt.Errorf("meta/bolt: put %s: empty key", r.kind)
	}
	b, err := r.bucket(true)
	if err != nil {
		return err
	}
	if err := b.Put([]byte(key), value); err != nil {
		return fmt.Errorf("meta/bolt: put %s %q: %w", r.kind, key, err)
	}
	return nil
}

// Delete removes key, or returns meta.ErrNotFound.
func (r records) Delete(key string) error {
	if r.err != nil {
		return r.err
	}
	if err := r.t.writable("delete " + r.kind); err != nil {
		return err
	}
	b, _ := r.bucket(false)
	if b == nil || key == "" || !hasKey(b, []byte(key)) {
		return r.notFound(key)
	}
	return del(b, []byte(key))
}

// List returns up to limit records with keys after "after", in key order.
func (r records) List(after string, limit int) ([]meta.Record, error) {
	if r.err != nil {
		return nil, r.err
	}
	if err := r.t.live(); err != nil {
		return nil, err
	}
	b, _ := r.bucket(false)
	if b == nil {
		return nil, nil
	}
	var out []meta.Record
	err := page(b, []byte(after), limit, func(k, v []byte) error {
		out = append(out, meta.Record{Key: string(k), Value: slices.Clone(v)})
		return nil
	})
	return out, err
}

// legacyRecordBuckets are the top-level buckets in which earlier builds kept
// feature records that now live in the record space, each under the kind
// of the same name.
var legacyRecordBuckets = []string{"projects", "users", "robots", "settings", "scanners", "scanReports",
	"registryEndpoints", "replicationPolicies", "replicationExecutions", "replicationTasks",
	"webhookPolicies", "deliveries"}

// moveLegacyRecords moves the records of legacyRecordBuckets into the
// record space (run at open; a no-op once done). The values are the same
// JSON, so nothing is re-encoded.
func moveLegacyRecords(btx *bbolt.Tx) error {
	parent := btx.Bucket(bucketRecords)
	for _, name := range legacyRecordBuckets {
		old := btx.Bucket([]byte(name))
		if old == nil {
			continue
		}
		dst, err := parent.CreateBucketIfNotExists([]byte(name))
		if err != nil {
			return fmt.Errorf("meta/bolt: move %s: %w", name, err)
		}
		if err := old.ForEach(func(k, v []byte) error { return dst.Put(slices.Clone(k), slices.Clone(v)) }); err != nil {
			return fmt.Errorf("meta/bolt: move %s: %w", name, err)
		}
		if err := btx.DeleteBucket([]byte(name)); err != nil {
			return fmt.Errorf("meta/bolt: move %s: %w", name, err)
		}
	}
	return nil
}

// rekeyWebhookPolicies moves the webhook policies an earlier build kept in
// a top-level bucket keyed by name alone to the key webhook.Policy.Key
// gives them, "<project>/<name>" ("<name>" for system policies), before
// the bucket joins the record space (run at open; a no-op once done).
func rekeyWebhookPolicies(btx *bbolt.Tx) error {
	b := btx.Bucket([]byte("webhookPolicies"))
	if b == nil {
		return nil
	}
	type move struct{ from, to, raw []byte }
	var moves []move
	err := b.ForEach(func(k, raw []byte) error {
		var p struct{ Name, Project string }
		if err := json.Unmarshal(raw, &p); err != nil {
			return fmt.Errorf("meta/bolt: webhook policy %q: %w", k, err)
		}
		key := p.Name
		if p.Project != "" {
			key = p.Project + "/" + p.Name
		}
		if key != string(k) {
			moves = append(moves, move{slices.Clone(k), []byte(key), slices.Clone(raw)})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, m := range moves {
		if err := b.Delete(m.from); err != nil {
			return err
		}
		if err := b.Put(m.to, m.raw); err != nil {
			return err
		}
	}
	return nil
}
