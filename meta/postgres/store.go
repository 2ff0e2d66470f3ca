package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/berthreg/berth/meta"
)

// Store is a meta.Store kept in a PostgreSQL database. It is safe for
// concurrent use, also by several processes on one database.
type Store struct {
	pool    *pgxpool.Pool
	opts    options
	closed  atomic.Bool
	stats   counters
	parking *parking
	cache   *readCache // nil without WithReadCache
	shards  *shardPool
	// The read cache's polls of the drop log (see droplog.go).
	pollMu   sync.Mutex
	drops    dropLog
	pollStop context.CancelFunc
	pollDone chan struct{}
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
	s := &Store{pool: pool, opts: o, parking: newParking(o.parkLinger), cache: newReadCache(o.readCacheInterval, o.now), shards: newShardPool()}
	if s.cache != nil && !o.manualDropPolls {
		s.startDropPolls()
	}
	return s, nil
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
		s.stopDropPolls()
		s.parking.close()
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
//
// A View takes its connection with its first statement (one that the read
// cache answers entirely takes none); an Update at once.
func (s *Store) attempt(ctx context.Context, readOnly bool, fn func(meta.Tx) error) (err error, again bool) {
	t := &tx{s: s, ctx: ctx, readOnly: readOnly}
	if readOnly {
		if s.closed.Load() {
			return ErrClosed, false
		}
		if s.cache != nil {
			t.ticket = s.cache.ticket()
		}
	} else {
		c, err := s.acquire(ctx)
		if err != nil {
			return err, false
		}
		t.conn, t.prev = c.conn, c
		t.takeShard()
	}
	// The shard goes back once the transaction has ended (committed or
	// rolled back): the deferred calls run last first.
	defer t.releaseShard()
	defer t.end()
	// Once the transaction has ended (the deferred calls run after
	// commit, last first): its writes are what a View may read now.
	defer t.dropCached()
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
	}
	return t.commit()
}

// acquire takes a parked connection (whose View the transaction ends),
// or one from the pool.
func (s *Store) acquire(ctx context.Context) (parked, error) {
	if s.closed.Load() {
		return parked{}, ErrClosed
	}
	if c, ok := s.parking.take(); ok {
		return c, nil
	}
	return s.fromPool(ctx, true)
}

// fromPool takes a connection from the pool, waiting up to the acquire
// timeout. When the pool is exhausted and handoff is set, a connection
// being parked meanwhile serves too (see parking).
func (s *Store) fromPool(ctx context.Context, handoff bool) (parked, error) {
	if s.closed.Load() {
		return parked{}, ErrClosed
	}
	actx, cancel := ctx, context.CancelFunc(func() {})
	if s.opts.acquireTimeout > 0 {
		actx, cancel = context.WithTimeout(ctx, s.opts.acquireTimeout)
	}
	var conn *pgxpool.Conn
	var err error
	// Every transaction that may be handed a parked connection waits as a
	// parking waiter while it waits for the pool, even when the pool looked
	// free: others may take what was free first, and parked connections
	// pass from View to View without returning to the pool while reads
	// keep coming, so a wait on the pool alone may last the whole timeout.
	if !handoff || s.parking.linger == 0 {
		s.opts.beforePoolAcquire()
		conn, err = s.pool.Acquire(actx)
		cancel()
	} else {
		c, ok, handed := s.parking.wait()
		if ok {
			cancel()
			return c, nil
		}
		type acquired struct {
			conn *pgxpool.Conn
			err  error
		}
		got := make(chan acquired, 1)
		go func() {
			defer cancel()
			s.opts.beforePoolAcquire()
			c, err := s.pool.Acquire(actx)
			got <- acquired{c, err}
		}()
		select {
		case a := <-got:
			if c, ok := s.parking.unwait(handed); ok {
				if a.conn != nil {
					a.conn.Release()
				}
				return c, nil
			}
			conn, err = a.conn, a.err
		case c := <-handed:
			s.parking.unwait(handed)
			go func() {
				// The pool's connection comes later (or the wait for it
				// times out): give it back.
				if a := <-got; a.conn != nil {
					a.conn.Release()
				}
			}()
			return c, nil
		}
	}
	switch {
	case err == nil:
		return parked{conn: conn}, nil
	case ctx.Err() != nil:
		return parked{}, fmt.Errorf("meta/postgres: acquire connection: %w", ctx.Err())
	case s.closed.Load():
		return parked{}, ErrClosed
	case actx.Err() != nil:
		return parked{}, fmt.Errorf("meta/postgres: no connection within %v: %w: %w", s.opts.acquireTimeout, meta.ErrUnavailable, err)
	}
	// Failing to get a connection is the server's trouble (refused,
	// unreachable, out of connections), not the request's.
	if !errors.Is(err, meta.ErrUnavailable) {
		err = fmt.Errorf("%w: %w", meta.ErrUnavailable, err)
	}
	return parked{}, fmt.Errorf("meta/postgres: acquire connection: %w", err)
}

// park keeps c for the next transaction (see parking), or ends its
// transaction now when the store is closing.
func (s *Store) park(c parked) {
	if !s.parking.park(c) {
		endParked(c.conn)
	}
}
