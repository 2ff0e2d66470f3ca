package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// Store is a meta.Store kept in a PostgreSQL database. It is safe for
// concurrent use, also by several processes on one database.
type Store struct {
	pool   *pgxpool.Pool
	opts   options
	closed atomic.Bool
	stats  counters
}

var _ meta.Store = (*Store)(nil)

// Open connects to the database dsn names (a postgres:// URL or a
// key=value string, as pgx parses it; pool_max_conns and the other pgxpool
// settings are honoured), brings its schema up to date under an advisory
// lock, and returns the store. Several processes may Open one database at
// once: one migrates, the others wait for it. Errors reaching the server
// wrap meta.ErrUnavailable.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("meta/postgres: open: %w", err)
	}
	if o.maxConns > 0 {
		cfg.MaxConns = o.maxConns
	}
	if o.minConns > 0 {
		cfg.MinConns = min(o.minConns, cfg.MaxConns)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "berth"
	}
	if err := migrateUp(ctx, cfg.ConnConfig.Copy(), o.logger); err != nil {
		return nil, wrap(ctx, "open: migrate", err)
	}
	if o.tracer != nil {
		cfg.ConnConfig.Tracer = o.tracer
	}
	for k, v := range sessionSettings {
		if _, ok := cfg.ConnConfig.RuntimeParams[k]; !ok {
			cfg.ConnConfig.RuntimeParams[k] = v
		}
	}
	if o.statementTimeout > 0 {
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(o.statementTimeout.Milliseconds(), 10)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, wrap(ctx, "open", err)
	}
	return &Store{pool: pool, opts: o}, nil
}

// sessionSettings are the server settings of the store's connections,
// unless the DSN sets them. Index scans take serializable read locks on
// the index pages they read; a sequential scan, which the planner prefers
// on a small table, takes one on the whole table, so that every other
// writer of the table conflicts with the transaction: every statement of
// the store is an index lookup or range, and enable_seqscan off keeps the
// planner to that. The cost it adds to a sequential scan it cannot avoid
// (gc_state's one row) would make the planner compile such a statement
// (JIT) for a quarter of a second; short statements gain nothing from
// JIT anyway.
var sessionSettings = map[string]string{"enable_seqscan": "off", "jit": "off"}

// Close waits for running transactions to end and closes every
// connection. Calling it again does nothing.
func (s *Store) Close() error {
	if s.closed.CompareAndSwap(false, true) {
		s.pool.Close()
	}
	return nil
}

// View runs fn in a read-only transaction (REPEATABLE READ READ ONLY: one
// snapshot for all of fn's reads, no waiting and no serialization
// failures). Writes through its views fail with meta.ErrReadOnly. fn runs
// once.
func (s *Store) View(ctx context.Context, fn func(meta.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.stats.views.Add(1)
	err, _ := s.attempt(ctx, true, fn)
	return err
}

// Update runs fn in a SERIALIZABLE READ WRITE transaction and commits it
// if fn returns nil. A serialization failure or a deadlock, whether a
// statement of fn or the commit hit it, rolls back and runs fn again
// after a jittered backoff, for up to WithRetryBudget after the first
// failure; so fn must confine its effects to the transaction. When the
// budget is spent, the last failure is returned wrapping
// meta.ErrUnavailable: the database is too busy with conflicting writes
// for now, and the caller answers 503 rather than 500. A done ctx ends
// the retries with its error. A statement that fails ends the
// transaction (PostgreSQL aborts it): every later call in fn returns the
// same error, and Update returns it (or fn's error) even if fn ignored
// it. Errors reaching the server wrap meta.ErrUnavailable; a commit whose
// outcome is unknown (the connection died during COMMIT) does too, and is
// not retried.
func (s *Store) Update(ctx context.Context, fn func(meta.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.stats.updates.Add(1)
	var giveUp time.Time
	for attempt := 1; ; attempt++ {
		err, again := s.attempt(ctx, false, fn)
		if !again {
			return err
		}
		if attempt == 1 {
			giveUp = time.Now().Add(s.opts.retryBudget)
		}
		d := backoff(attempt)
		if s.opts.retryBudget <= 0 || time.Now().Add(d).After(giveUp) {
			s.stats.exhausted.Add(1)
			s.opts.logger.Warn("meta/postgres: giving up on a conflicting transaction", "attempts", attempt, "error", err)
			return fmt.Errorf("meta/postgres: %d attempts conflicted with concurrent transactions: %w: %w",
				attempt, meta.ErrUnavailable, err)
		}
		s.stats.retries.Add(1)
		s.opts.logger.Debug("meta/postgres: retrying a transaction", "attempt", attempt, "after", d, "error", err)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("meta/postgres: retrying after %w: %w", err, ctx.Err())
		case <-t.C:
		}
	}
}

// backoff returns the wait before retry n (from 1): up to 1ms·2ⁿ⁻¹,
// capped at 100ms, uniformly jittered so that conflicting transactions do
// not meet again at once.
func backoff(n int) time.Duration {
	ceil := min(time.Millisecond<<min(n-1, 10), 100*time.Millisecond)
	return ceil/4 + rand.N(ceil-ceil/4+1)
}

// attempt runs fn in one transaction; again reports a failure that
// running it again may avoid.
func (s *Store) attempt(ctx context.Context, readOnly bool, fn func(meta.Tx) error) (err error, again bool) {
	conn, err := s.acquire(ctx)
	if err != nil {
		return err, false
	}
	t := &tx{s: s, ctx: ctx, conn: conn, readOnly: readOnly}
	ended := false
	defer func() {
		if !ended {
			t.rollback()
		}
		if t.conn != nil {
			t.conn.Release()
		}
	}()
	fnErr := func() error {
		defer t.done.Store(true)
		return fn(t)
	}()
	switch {
	case t.failed != nil:
		if retryable(t.failed) {
			return t.failed, true
		}
		if fnErr != nil {
			return fnErr, false
		}
		return t.failed, false
	case fnErr != nil:
		return fnErr, false
	case !t.begun:
		return nil, false
	}
	if t.conn == nil {
		return errors.New("meta/postgres: commit: no connection"), false
	}
	ended = true
	tag, err := t.conn.Exec(ctx, "COMMIT")
	switch {
	case err != nil:
		if !readOnly && unavailable(err) && ctx.Err() == nil {
			return fmt.Errorf("meta/postgres: commit: outcome unknown: %w: %w", meta.ErrUnavailable, err), false
		}
		return wrap(ctx, "commit", err), retryable(err)
	case tag.String() == "ROLLBACK":
		return errors.New("meta/postgres: commit: the transaction had failed and was rolled back"), false
	}
	return nil, false
}

// acquire takes a connection from the pool, waiting up to the acquire
// timeout.
func (s *Store) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	actx, cancel := ctx, context.CancelFunc(func() {})
	if s.opts.acquireTimeout > 0 {
		actx, cancel = context.WithTimeout(ctx, s.opts.acquireTimeout)
	}
	defer cancel()
	conn, err := s.pool.Acquire(actx)
	switch {
	case err == nil:
		return conn, nil
	case ctx.Err() != nil:
		return nil, fmt.Errorf("meta/postgres: acquire connection: %w", ctx.Err())
	case s.closed.Load():
		return nil, ErrClosed
	case actx.Err() != nil:
		return nil, fmt.Errorf("meta/postgres: no connection within %v: %w: %w", s.opts.acquireTimeout, meta.ErrUnavailable, err)
	}
	// Failing to get a connection is the server's trouble (refused,
	// unreachable, out of connections), not the request's.
	if !errors.Is(err, meta.ErrUnavailable) {
		err = fmt.Errorf("%w: %w", meta.ErrUnavailable, err)
	}
	return nil, fmt.Errorf("meta/postgres: acquire connection: %w", err)
}

// tx is the meta.Tx of one transaction. BEGIN is sent lazily, in one round
// trip with the first statement, so a transaction costs its statements
// plus its COMMIT.
type tx struct {
	s        *Store
	ctx      context.Context
	conn     *pgxpool.Conn
	readOnly bool
	begun    bool  // BEGIN has been sent
	failed   error // the failure that ended the server-side transaction
	done     atomic.Bool
	// put holds the manifests this transaction has put (and not deleted
	// since), which its Tags.Put need not look up.
	put map[manifestKey]bool
	// fetched holds, in a View, the manifest records Tags.Get read with
	// the tags: resolving a tag and reading its manifest is one
	// statement.
	fetched map[manifestKey][]byte
}

// manifestKey names a manifest of a repository.
type manifestKey struct {
	repo string
	d    digest.Digest
}

func (t *tx) beginSQL() string {
	if t.readOnly {
		return "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
	}
	return "BEGIN ISOLATION LEVEL SERIALIZABLE READ WRITE"
}

// staleRetries bounds how often the first statement of a transaction is
// sent again on a fresh connection when the pooled one turns out dead
// (the server restarted since it was last used).
const staleRetries = 2

// run sends one statement and hands each row to scan (which may be nil);
// op names it in errors. A failure of the server or the connection ends
// the transaction: t.failed keeps it, and every later call returns it.
func (t *tx) run(op, sql string, args []any, scan func(pgx.Rows) error) (pgconn.CommandTag, error) {
	if t.done.Load() {
		return pgconn.CommandTag{}, ErrTxDone
	}
	if t.failed != nil {
		return pgconn.CommandTag{}, t.failed
	}
	for stale := 0; ; stale++ {
		first := !t.begun
		tag, scanErr, err := t.send(sql, args, scan)
		if err == nil {
			return tag, scanErr
		}
		if first && !t.begun && stale < staleRetries && unavailable(err) && t.ctx.Err() == nil && t.conn.Conn().IsClosed() {
			// Nothing happened in this transaction yet: start it on another
			// connection instead.
			t.s.opts.logger.Debug("meta/postgres: dropping a dead connection", "error", err)
			t.conn.Release()
			conn, aerr := t.s.acquire(t.ctx)
			if aerr != nil {
				t.conn = nil
				t.failed = aerr
				return pgconn.CommandTag{}, aerr
			}
			t.conn = conn
			continue
		}
		if sqlState(err) == "" && !unavailable(err) && t.ctx.Err() == nil && !t.conn.Conn().IsClosed() {
			// A client-side error (encoding a parameter, decoding a value):
			// the server's transaction goes on.
			return tag, fmt.Errorf("meta/postgres: %s: %w", op, err)
		}
		t.failed = wrap(t.ctx, op, err)
		return tag, t.failed
	}
}

// send runs sql, with BEGIN before it when the transaction has not begun.
func (t *tx) send(sql string, args []any, scan func(pgx.Rows) error) (tag pgconn.CommandTag, scanErr, err error) {
	var rows pgx.Rows
	var br pgx.BatchResults
	if t.begun {
		rows, err = t.conn.Query(t.ctx, sql, args...)
	} else {
		b := &pgx.Batch{}
		b.Queue(t.beginSQL())
		b.Queue(sql, args...)
		br = t.conn.SendBatch(t.ctx, b)
		if _, err = br.Exec(); err == nil {
			t.begun = true
			rows, err = br.Query()
		}
	}
	if err == nil {
		for rows.Next() {
			if scan != nil {
				if scanErr = scan(rows); scanErr != nil {
					break
				}
			}
		}
		rows.Close()
		err = rows.Err()
		tag = rows.CommandTag()
	}
	if br != nil {
		if cerr := br.Close(); err == nil {
			err = cerr
		}
	}
	return tag, scanErr, err
}

// rollback ends a begun transaction without committing. A connection that
// cannot roll back is closed, and the pool drops it.
func (t *tx) rollback() {
	if t.conn == nil || !t.begun || t.conn.Conn().IsClosed() {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), 5*time.Second)
	defer cancel()
	if _, err := t.conn.Exec(ctx, "ROLLBACK"); err != nil {
		_ = t.conn.Conn().Close(ctx)
	}
}

// live reports ErrTxDone once the transaction's function has returned.
func (t *tx) live() error {
	if t.done.Load() {
		return ErrTxDone
	}
	return nil
}

// writable reports ErrTxDone, or meta.ErrReadOnly (wrapped, naming op) in a
// View transaction.
func (t *tx) writable(op string) error {
	if err := t.live(); err != nil {
		return err
	}
	if t.readOnly {
		return fmt.Errorf("meta/postgres: %s: %w", op, meta.ErrReadOnly)
	}
	return nil
}

// one runs a statement expected to return at most one row, scanning it
// into dest; found reports whether there was one.
func (t *tx) one(op, sql string, args []any, dest ...any) (found bool, err error) {
	_, err = t.run(op, sql, args, func(r pgx.Rows) error {
		found = true
		return r.Scan(dest...)
	})
	return found, err
}
