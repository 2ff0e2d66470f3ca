// Package txcount counts a metadata store's transactions, so a test can
// wait for background work to have polled the store some number of times
// rather than for some length of time, which a busy machine stretches.
package txcount

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/meta"
)

// Store wraps a meta.Store and counts the transactions run through it.
type Store struct {
	meta.Store
	views   atomic.Int64
	updates atomic.Int64
}

// New wraps s.
func New(s meta.Store) *Store { return &Store{Store: s} }

// View counts, then runs the wrapped store's View.
func (s *Store) View(ctx context.Context, fn func(meta.Tx) error) error {
	s.views.Add(1)
	return s.Store.View(ctx, fn)
}

// Update counts, then runs the wrapped store's Update.
func (s *Store) Update(ctx context.Context, fn func(meta.Tx) error) error {
	s.updates.Add(1)
	return s.Store.Update(ctx, fn)
}

// Views is the number of read-only transactions begun so far.
func (s *Store) Views() int64 { return s.views.Load() }

// Updates is the number of read-write transactions begun so far.
func (s *Store) Updates() int64 { return s.updates.Load() }

// Transactions is the number of transactions of either kind begun so far.
func (s *Store) Transactions() int64 { return s.Views() + s.Updates() }

// WaitMore waits until n more transactions (of either kind) than now have
// begun: background pollers have looked at the store that often since.
func (s *Store) WaitMore(t testing.TB, n int64) {
	t.Helper()
	want := s.Transactions() + n
	eventually.True(t, "more polls of the store", func() bool { return s.Transactions() >= want })
}
