package bolt

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/berthreg/berth/meta"
)

// table is the meta.Table of one bucket of JSON records keyed by name(v):
// the event log's cursors, which are written once per consumed batch, not
// on every registry request.
type table[T any] struct {
	t      *tx
	bucket []byte
	what   string // for errors: "cursor"
	name   func(T) string
}

func (tb table[T]) decode(key, raw []byte) (T, error) {
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, fmt.Errorf("meta/bolt: %s %q: %w", tb.what, key, err)
	}
	if tb.name(v) != string(key) {
		return v, fmt.Errorf("meta/bolt: %s %q: record names %q", tb.what, key, tb.name(v))
	}
	return v, nil
}

// Get returns the record with the given name, or meta.ErrNotFound.
func (tb table[T]) Get(name string) (T, error) {
	var zero T
	if err := tb.t.live(); err != nil {
		return zero, err
	}
	raw := tb.t.top(tb.bucket).Get([]byte(name))
	if raw == nil {
		return zero, fmt.Errorf("meta/bolt: %s %q: %w", tb.what, name, meta.ErrNotFound)
	}
	return tb.decode([]byte(name), raw)
}

// Put creates or replaces the record named by v.
func (tb table[T]) Put(v T) error {
	if err := tb.t.writable("put " + tb.what); err != nil {
		return err
	}
	name := tb.name(v)
	if name == "" {
		return errors.New("meta/bolt: put " + tb.what + ": empty name")
	}
	raw, err := json.Marshal(v)
	if err == nil {
		err = tb.t.top(tb.bucket).Put([]byte(name), raw)
	}
	if err != nil {
		return fmt.Errorf("meta/bolt: put %s %q: %w", tb.what, name, err)
	}
	return nil
}

// Delete removes the record, or returns meta.ErrNotFound.
func (tb table[T]) Delete(name string) error {
	if err := tb.t.writable("delete " + tb.what); err != nil {
		return err
	}
	b := tb.t.top(tb.bucket)
	if b.Get([]byte(name)) == nil {
		return fmt.Errorf("meta/bolt: %s %q: %w", tb.what, name, meta.ErrNotFound)
	}
	return del(b, []byte(name))
}

// List returns up to limit records with names after "after", in name order.
func (tb table[T]) List(after string, limit int) ([]T, error) {
	if err := tb.t.live(); err != nil {
		return nil, err
	}
	var out []T
	err := page(tb.t.top(tb.bucket), []byte(after), limit, func(k, raw []byte) error {
		v, err := tb.decode(k, raw)
		if err == nil {
			out = append(out, v)
		}
		return err
	})
	return out, err
}
