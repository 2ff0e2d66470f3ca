package postgres

import (
	"context"
	"time"
)

// WithBeforePoolAcquire makes the store call f just before each wait on
// its pool, so that a test can order a race around that wait.
func WithBeforePoolAcquire(f func()) Option {
	return func(o *options) { o.beforePoolAcquire = f }
}

// WithClock makes the store read the time from now (the read cache's
// entries' age).
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// WithManualDropPolls leaves the read cache's polls of the drop log to
// PollDrops.
func WithManualDropPolls() Option {
	return func(o *options) { o.manualDropPolls = true }
}

// PollDrops reads the drop log once, as the store does once an interval.
func PollDrops(s *Store) error { return s.pollDrops(context.Background()) }
