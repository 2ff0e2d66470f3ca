package meta

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/berthreg/berth/registry/naming"
)

// Records is one kind of record a feature package keeps in the store: opaque
// values by key, in key order. The store knows nothing of what the values
// hold; the package that owns the kind does (see RecordType). A backend
// implements this once, and every feature's records live in it, so a new
// feature adds no method to Tx.
//
// Kinds are created on first Put: in a read-only transaction an unknown
// kind is simply empty.
type Records interface {
	// Get returns the value stored under key, or ErrNotFound.
	Get(key string) ([]byte, error)
	// GetMany returns the values stored under keys, by key, leaving out
	// keys that have none: one read, whatever the number of keys (a
	// database backend sends one statement).
	GetMany(keys []string) (map[string][]byte, error)
	// Put stores value under key, replacing any earlier value. Empty keys
	// are an error.
	Put(key string, value []byte) error
	// PutNew stores each record whose key holds none yet, leaves the
	// others as they are, and returns the keys it stored, in the order of
	// recs (a key given twice is stored once, with its first value). It
	// reads nothing it does not write: where a concurrent transaction may
	// add keys next to these (a serializable database), learning which
	// keys were new this way conflicts with it only on the same key, not
	// as reading before writing would. With the same round trip, it reads
	// the keys in read as GetMany does (their values before the call).
	// One statement, whatever the number of records. Empty keys in recs
	// are an error.
	PutNew(recs []Record, read ...string) (stored []string, values map[string][]byte, err error)
	// Delete removes key; ErrNotFound if absent.
	Delete(key string) error
	// List returns up to limit records with keys sorting after "after", in
	// key order (limit <= 0: no limit). Cost grows with the page size, not
	// with the number of records of the kind.
	List(after string, limit int) ([]Record, error)
}

// Record is one key and value of a Records kind.
type Record struct {
	// Key identifies the record within its kind.
	Key string
	// Value is what the owning package stored.
	Value []byte
}

// ErrBadKind reports a record kind that is not a valid name.
var ErrBadKind = errors.New("meta: bad record kind")

// ValidKind reports whether kind can name a Records kind: 1 to 64 ASCII
// letters, digits, dots, dashes and underscores (naming.CheckName's rule).
// Backends call it before they touch their storage.
func ValidKind(kind string) error {
	if err := naming.CheckName(kind); err != nil {
		return fmt.Errorf("%w %q: %v", ErrBadKind, kind, err)
	}
	return nil
}

// RecordType describes a record type that a feature package keeps in the
// record space: the kind it is stored under and how a value is keyed.
// Values are stored as JSON, so fields can be added without a layout
// change. Declare one per type, next to the type:
//
//	var policies = meta.RecordType[Policy]{Kind: "replicationPolicies", Key: func(p Policy) string { return p.Name }}
//
// and use policies.In(tx) inside a transaction.
type RecordType[T any] struct {
	// Kind names the Records kind (see ValidKind).
	Kind string
	// Key returns the key a value is stored under.
	Key func(T) string
}

// In returns the typed table of this record type in tx.
func (rt RecordType[T]) In(tx Tx) Table[T] {
	return typedTable[T]{rt: rt, r: tx.Records(rt.Kind)}
}

// Table is a typed view of one record kind: values keyed by a name the value
// itself carries.
type Table[T any] interface {
	// Get returns the record with the given key, or ErrNotFound.
	Get(key string) (T, error)
	// Put creates or replaces the record with v's key (empty keys are an
	// error).
	Put(v T) error
	// Delete removes the record; ErrNotFound if absent.
	Delete(key string) error
	// List returns up to limit records with keys after "after", in key
	// order (limit <= 0: no limit).
	List(after string, limit int) ([]T, error)
}

// typedTable is the Table of a RecordType over the raw Records of a kind.
type typedTable[T any] struct {
	rt RecordType[T]
	r  Records
}

func (tb typedTable[T]) decode(key string, raw []byte) (T, error) {
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, fmt.Errorf("meta: %s %q: %w", tb.rt.Kind, key, err)
	}
	if k := tb.rt.Key(v); k != key {
		return v, fmt.Errorf("meta: %s %q: record is keyed %q", tb.rt.Kind, key, k)
	}
	return v, nil
}

// Get returns the record stored under key, or ErrNotFound.
func (tb typedTable[T]) Get(key string) (T, error) {
	raw, err := tb.r.Get(key)
	if err != nil {
		var zero T
		return zero, err
	}
	return tb.decode(key, raw)
}

// Put stores v under its key.
func (tb typedTable[T]) Put(v T) error {
	key := tb.rt.Key(v)
	if key == "" {
		return fmt.Errorf("meta: put %s: empty key", tb.rt.Kind)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("meta: put %s %q: %w", tb.rt.Kind, key, err)
	}
	return tb.r.Put(key, raw)
}

// Delete removes the record stored under key.
func (tb typedTable[T]) Delete(key string) error { return tb.r.Delete(key) }

// List decodes a page of records.
func (tb typedTable[T]) List(after string, limit int) ([]T, error) {
	recs, err := tb.r.List(after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(recs))
	for _, rec := range recs {
		v, err := tb.decode(rec.Key, rec.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
