package bolt

import "time"

// DefaultTimeout is how long Open waits for the file lock unless the Timeout
// option says otherwise.
const DefaultTimeout = 5 * time.Second

// Option configures Open.
type Option func(*options)

type options struct {
	timeout time.Duration
	noSync  bool
}

// Timeout sets how long Open waits for another process to release the file
// lock before failing; d <= 0 waits forever.
func Timeout(d time.Duration) Option {
	return func(o *options) { o.timeout = d }
}

// NoSync skips the fsync after each commit. Committed data can be lost on a
// crash or power failure, so use it only in tests.
func NoSync() Option {
	return func(o *options) { o.noSync = true }
}
