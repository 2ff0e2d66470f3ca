// Package faultmeta is a metadata store for tests that can be switched
// down: it delegates to a real store and, while down, refuses every
// transaction with an error wrapping meta.ErrUnavailable, as a database
// backend does when its server cannot be reached. Switched up again, it
// serves from the same store, unchanged.
package faultmeta

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/berthreg/berth/meta"
)

// ErrDown is the error a down Store returns; it wraps meta.ErrUnavailable.
var ErrDown = fmt.Errorf("faultmeta: switched down: %w", meta.ErrUnavailable)

// Store wraps a meta.Store. The zero value is not usable; make one with
// Wrap.
type Store struct {
	inner meta.Store
	down  atomic.Bool
	// refused counts the transactions refused while down.
	refused atomic.Int64
}

// Wrap returns a Store delegating to inner, up.
func Wrap(inner meta.Store) *Store { return &Store{inner: inner} }

// SetDown switches the store down (every View and Update fails with
// ErrDown, without running its function) or up again.
func (s *Store) SetDown(down bool) { s.down.Store(down) }

// Down reports whether the store is switched down.
func (s *Store) Down() bool { return s.down.Load() }

// Refused returns how many transactions were refused while down.
func (s *Store) Refused() int64 { return s.refused.Load() }

// View implements meta.Store.
func (s *Store) View(ctx context.Context, fn func(meta.Tx) error) error {
	if s.down.Load() {
		s.refused.Add(1)
		return ErrDown
	}
	return s.inner.View(ctx, fn)
}

// Update implements meta.Store.
func (s *Store) Update(ctx context.Context, fn func(meta.Tx) error) error {
	if s.down.Load() {
		s.refused.Add(1)
		return ErrDown
	}
	return s.inner.Update(ctx, fn)
}

// Close implements meta.Store: it closes the wrapped store.
func (s *Store) Close() error { return s.inner.Close() }
