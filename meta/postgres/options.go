package postgres

import (
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// Defaults of the options.
const (
	// DefaultRetryBudget is how long Update keeps re-running a
	// transaction that failed with a serialization failure or a deadlock.
	DefaultRetryBudget = 5 * time.Second
	// DefaultAcquireTimeout is how long a transaction waits for a pooled
	// connection before it fails with meta.ErrUnavailable.
	DefaultAcquireTimeout = 10 * time.Second
	// DefaultParkLinger is how long a View's connection keeps its
	// read-only transaction open for the next transaction to end (see
	// WithParkLinger).
	DefaultParkLinger = 5 * time.Millisecond
	// DefaultConnectTimeout bounds a new connection's dial and startup
	// when the DSN sets no connect_timeout.
	DefaultConnectTimeout = 5 * time.Second
)

// Option configures Open.
type Option func(*options)

type options struct {
	maxConns          int32
	minConns          int32
	statementTimeout  time.Duration
	acquireTimeout    time.Duration
	retryBudget       time.Duration
	parkLinger        time.Duration
	readCacheInterval time.Duration
	// manualDropPolls leaves the drop log's polls to the caller (tests,
	// export_test.go).
	manualDropPolls bool
	now             func() time.Time
	logger          *slog.Logger
	tracer          pgx.QueryTracer
	// beforePoolAcquire runs just before every wait on the pool; tests
	// set it (export_test.go) to order a race.
	beforePoolAcquire func()
}

func defaultOptions() options {
	return options{acquireTimeout: DefaultAcquireTimeout, retryBudget: DefaultRetryBudget, parkLinger: DefaultParkLinger, logger: slog.New(slog.DiscardHandler), now: time.Now,
		beforePoolAcquire: func() {}}
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

// WithRetryBudget sets how long Update keeps re-running a transaction,
// with jittered exponential backoff, after a serialization failure or a
// deadlock, counted from the first failure (default DefaultRetryBudget;
// d <= 0: never). An Update that spends it returns the failure wrapping
// meta.ErrUnavailable.
func WithRetryBudget(d time.Duration) Option {
	return func(o *options) { o.retryBudget = d }
}

// WithParkLinger sets how long a View's connection is kept, its
// read-only transaction still open, for the next transaction to end that
// transaction in its own first round trip instead of the View spending
// one on its COMMIT (default DefaultParkLinger; d <= 0: Views commit at
// once). A parked connection counts against the pool, and shows as idle
// in transaction in pg_stat_activity, for at most d.
func WithParkLinger(d time.Duration) Option {
	return func(o *options) { o.parkLinger = d }
}

// WithReadCache keeps what Views' Tags.Get read (the digest and the
// manifest's record) in memory (default interval 0: no cache), and
// answers from it the Views whose context meta.AllowCachedReads made. A
// registry resolves a tag on every manifest pull; with the cache, a pull
// of a tag pulled before sends nothing to the server.
//
// What the cache answers was committed, and no change it misses is older
// than two intervals:
//   - a write through this Store to a repository's tags or manifests (or
//     its deletion) drops the repository's entries when its transaction
//     ends, before Update returns, so a View begun after it reads it;
//   - a write by any Store on the database (another instance) that
//     changes what an existing tag resolves to (a tag moved or deleted, a
//     tagged manifest deleted, a repository deleted) appends the
//     repository to a drop log in its transaction; the Store reads the
//     log once an interval and drops what it names;
//   - the cache answers only while its last successful read of the log
//     started less than two intervals ago.
//
// A manifest's record is cached with its tag and may lag another
// instance's push of the same manifest again (its PushedAt); the fields
// read from the manifest's bytes cannot change. Other Views read their
// snapshot as ever. Tags not found are not kept. The cache holds at most
// 32 MiB of manifest records. The drop log keeps its rows for an hour.
func WithReadCache(interval time.Duration) Option {
	return func(o *options) { o.readCacheInterval = interval }
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

// WithTracer traces the store's statements with t: pgx calls it for every
// query, and, when t also implements them, for batches (pgx.BatchTracer),
// prepares and connects. Tracing libraries for pgx plug in here; the
// package's tests count round trips with it.
func WithTracer(t pgx.QueryTracer) Option {
	return func(o *options) { o.tracer = t }
}
