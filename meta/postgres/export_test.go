package postgres

// WithBeforePoolAcquire makes the store call f just before each wait on
// its pool, so that a test can order a race around that wait.
func WithBeforePoolAcquire(f func()) Option {
	return func(o *options) { o.beforePoolAcquire = f }
}
