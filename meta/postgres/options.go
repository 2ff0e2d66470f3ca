package postgres

import (
	"log/slog"
	"time"
)

// Defaults of the options.
const (
	// DefaultMaxRetries is how many times Update re-runs a transaction
	// that failed with a serialization failure or a deadlock.
	DefaultMaxRetries = 20
	// DefaultAcquireTimeout is how long a transaction waits for a pooled
	// connection before it fails with meta.ErrUnavailable.
	DefaultAcquireTimeout = 10 * time.Second
	// DefaultConnectTimeout bounds a new connection's dial and startup
	// when the DSN sets no connect_timeout.
	DefaultConnectTimeout = 5 * time.Second
)

// Option configures Open.
type Option func(*options)

type options struct {
	maxConns         int32
	minConns         int32
	statementTimeout time.Duration
	acquireTimeout   time.Duration
	maxRetries       int
	logger           *slog.Logger
}

func defaultOptions() options {
	return options{acquireTimeout: DefaultAcquireTimeout, maxRetries: DefaultMaxRetries, logger: slog.New(slog.DiscardHandler)}
}

// WithMaxConns caps the connection pool at n connections (default: the
// DSN's pool_max_conns, else pgxpool's default of max(4, GOMAXPROCS)).
// Every running transaction holds one.
func WithMaxConns(n int) Option {
	return func(o *options) { o.maxConns = int32(n) }
}

// WithMinConns keeps at least n connections open, idle or not (default:
// the DSN's pool_min_conns, else 0).
func WithMinConns(n int) Option {
	return func(o *options) { o.minConns = int32(n) }
}

// WithStatementTimeout sets the server's statement_timeout on every
// connection: a statement running longer is cancelled and its
// transaction fails with meta.ErrUnavailable (default: the server's
// setting, usually none).
func WithStatementTimeout(d time.Duration) Option {
	return func(o *options) { o.statementTimeout = d }
}

// WithAcquireTimeout sets how long a transaction waits for a connection
// from an exhausted pool before failing with meta.ErrUnavailable (default
// DefaultAcquireTimeout; d <= 0 waits as long as the context allows).
func WithAcquireTimeout(d time.Duration) Option {
	return func(o *options) { o.acquireTimeout = d }
}

// WithMaxRetries sets how many times Update re-runs a transaction after a
// serialization failure or a deadlock, with jittered exponential backoff,
// before it returns the failure (default DefaultMaxRetries; 0: never).
func WithMaxRetries(n int) Option {
	return func(o *options) { o.maxRetries = max(n, 0) }
}

// WithLogger sets where the store logs migrations, retries and broken
// connections (default: nowhere).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}
