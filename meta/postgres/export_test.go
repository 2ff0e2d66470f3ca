package postgres

import "time"

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
