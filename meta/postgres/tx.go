package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// tx is the meta.Tx of one transaction. What a statement needs before it
// on the wire goes in one round trip with it, as a pipelined batch: the
// COMMIT of the View its connection was parked by (see parking), BEGIN,
// and the writes deferred so far (see postpone). A View so costs one round
// trip per statement, its COMMIT riding with the connection's next
// transaction; an Update costs its reads plus one, its deferred writes
// riding with its COMMIT.
type tx struct {
	s    *Store
	ctx  context.Context
	conn *pgxpool.Conn
	// prev is the connection as acquired: prev.since is set while the
	// transaction of the View that parked it is still open.
	prev      parked
	readOnly  bool
	begun     bool  // BEGIN has been sent
	committed bool  // the transaction is over: COMMIT was sent
	failed    error // the failure that ended the server-side transaction
	done      atomic.Bool
	// deferred are the writes not sent yet, in order.
	deferred []statement
	// repos holds the repositories this transaction has seen exist (and
	// not deleted since), with their creation time when a statement read
	// it (else zero): a write into one of them cannot fail to find it,
	// and is deferred (see postpone); Ensure of one whose time is known
	// sends nothing.
	repos map[string]time.Time
	// put holds the manifests this transaction has put (and not deleted
	// since), which its Tags.Put need not look up, and whose tags it
	// defers.
	put map[manifestKey]bool
	// fetched holds, in a View, the manifest records Tags.Get read with
	// the tags: resolving a tag and reading its manifest is one
	// statement.
	fetched map[manifestKey][]byte
	// ticket is the read cache's ticket of a View, taken before its
	// first statement (see readCache).
	ticket uint64
	// wrote holds the repositories whose tags or manifests this
	// transaction wrote (or that it deleted): the read cache drops them
	// when it ends.
	wrote map[string]bool
	// shard is the counter shard the transaction writes, when hasShard
	// (see counterShard).
	shard    int16
	hasShard bool
}

// wroteTo records that the transaction wrote repo's tags or manifests.
func (t *tx) wroteTo(repo string) {
	if t.s.cache == nil {
		return
	}
	if t.wrote == nil {
		t.wrote = map[string]bool{}
	}
	t.wrote[repo] = true
}

// dropCached drops from the read cache the repositories the transaction
// wrote to, whatever its outcome.
func (t *tx) dropCached() {
	if len(t.wrote) > 0 {
		t.s.cache.drop(t.wrote)
	}
}

// statement is a deferred write; op names it in errors.
type statement struct {
	op, sql string
	args    []any
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

// staleRetries bounds how often the first round trip of a transaction is
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
	tag, scanErr, failedOp, err := t.exec(op, sql, args, scan, false)
	if err == nil {
		return tag, scanErr
	}
	if failedOp == op && sqlState(err) == "" && !unavailable(err) && t.ctx.Err() == nil && !t.conn.Conn().IsClosed() {
		// A client-side error (encoding a parameter, decoding a value):
		// the server's transaction goes on.
		return tag, fmt.Errorf("meta/postgres: %s: %w", op, err)
	}
	t.failed = wrap(t.ctx, failedOp, err)
	return tag, t.failed
}

// postpone queues a write whose only possible failures are the server's or
// the connection's (it has no expected error, meta.ErrNotFound and the
// like, that the caller could act on): it is sent in the transaction's
// next round trip, with the next statement or with the COMMIT, and a
// failure is returned there, by Update at the latest.
func (t *tx) postpone(op, sql string, args ...any) error {
	if t.done.Load() {
		return ErrTxDone
	}
	if t.failed != nil {
		return t.failed
	}
	t.deferred = append(t.deferred, statement{op, sql, args})
	return nil
}

// upsert runs a write into repo whose statement returns the number of
// rows of its repository CTE r (0: the repository does not exist), or
// defers it when the transaction has seen the repository: it cannot fail
// to find it then (the snapshot holds it; a concurrent deletion fails the
// transaction to serialize).
func (t *tx) upsert(op, repo, sql string, args ...any) (found bool, err error) {
	if _, ok := t.repos[repo]; ok {
		return true, t.postpone(op, sql, args...)
	}
	var n int
	if _, err := t.one(op, sql, args, &n); err != nil {
		return false, err
	}
	if n > 0 {
		t.sawRepo(repo)
	}
	return n > 0, nil
}

// sawRepo records that repo exists in this transaction.
func (t *tx) sawRepo(repo string) {
	if _, ok := t.repos[repo]; !ok {
		t.sawRepoAt(repo, time.Time{})
	}
}

// sawRepoAt records that repo exists in this transaction, created at
// createdAt.
func (t *tx) sawRepoAt(repo string, createdAt time.Time) {
	if t.repos == nil {
		t.repos = map[string]time.Time{}
	}
	t.repos[repo] = createdAt
}

// forgetRepo records that repo was deleted in this transaction.
func (t *tx) forgetRepo(repo string) {
	delete(t.repos, repo)
	for k := range t.put {
		if k.repo == repo {
			delete(t.put, k)
		}
	}
}

// exec sends a statement (see send), on a fresh connection again when the
// connection turns out dead before the transaction began. commits marks
// a batch that holds the transaction's COMMIT: it is sent again only
// when none of it reached the server.
func (t *tx) exec(op, sql string, args []any, scan func(pgx.Rows) error, commits bool) (tag pgconn.CommandTag, scanErr error, failedOp string, err error) {
	if t.conn == nil {
		c, err := t.s.acquire(t.ctx)
		if err != nil {
			return tag, nil, "acquire connection", err
		}
		t.conn, t.prev = c.conn, c
	}
	for stale := 0; ; stale++ {
		first := !t.begun
		tag, scanErr, failedOp, err = t.send(op, sql, args, scan)
		if err == nil || !first || t.begun || stale >= staleRetries || !unavailable(err) || t.ctx.Err() != nil ||
			!t.conn.Conn().IsClosed() || (commits && !pgconn.SafeToRetry(err)) {
			return tag, scanErr, failedOp, err
		}
		// Nothing happened in this transaction yet: start it on another
		// connection instead. The parked ones may be as dead.
		t.s.opts.logger.Debug("meta/postgres: dropping a dead connection", "error", err)
		t.conn.Release()
		c, aerr := t.s.fromPool(t.ctx, false)
		if aerr != nil {
			t.conn = nil
			return tag, nil, "acquire connection", aerr
		}
		t.conn, t.prev = c.conn, c
	}
}

// send runs sql, preceded on the wire by what must go first (the parked
// View's COMMIT, BEGIN, the deferred writes) in one pipelined batch when
// there is any. failedOp names the statement that failed.
func (t *tx) send(op, sql string, args []any, scan func(pgx.Rows) error) (tag pgconn.CommandTag, scanErr error, failedOp string, err error) {
	if t.begun && len(t.deferred) == 0 {
		rows, err := t.conn.Query(t.ctx, sql, args...)
		if err != nil {
			return tag, nil, op, err
		}
		tag, scanErr, err = readRows(rows, scan)
		return tag, scanErr, op, err
	}
	type step struct {
		op   string
		done func()
	}
	var steps []step
	b := &pgx.Batch{}
	if !t.prev.since.IsZero() {
		b.Queue("COMMIT")
		steps = append(steps, step{"end the parked view", func() { t.prev.since = time.Time{} }})
	}
	if !t.begun {
		b.Queue(t.beginSQL())
		steps = append(steps, step{"begin", func() { t.begun = true }})
	}
	for _, d := range t.deferred {
		b.Queue(d.sql, d.args...)
		steps = append(steps, step{d.op, nil})
	}
	b.Queue(sql, args...)
	br := t.conn.SendBatch(t.ctx, b)
	failedOp = op
	for _, s := range steps {
		if _, err = br.Exec(); err != nil {
			failedOp = s.op
			break
		}
		if s.done != nil {
			s.done()
		}
	}
	if err == nil {
		t.deferred = t.deferred[:0]
		var rows pgx.Rows
		if rows, err = br.Query(); err == nil {
			tag, scanErr, err = readRows(rows, scan)
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, scanErr, failedOp, err
}

// readRows hands each row to scan (which may be nil) until it fails.
func readRows(rows pgx.Rows, scan func(pgx.Rows) error) (tag pgconn.CommandTag, scanErr, err error) {
	for rows.Next() {
		if scan != nil {
			if scanErr = scan(rows); scanErr != nil {
				break
			}
		}
	}
	rows.Close()
	return rows.CommandTag(), scanErr, rows.Err()
}

// commit ends a transaction whose function succeeded. A View's
// transaction stays open for its connection's next one to end (see
// end); an Update that sent nothing has nothing to commit.
func (t *tx) commit() (err error, again bool) {
	if t.readOnly || (!t.begun && len(t.deferred) == 0) {
		return nil, false
	}
	if t.conn == nil {
		return errors.New("meta/postgres: commit: no connection"), false
	}
	tag, _, failedOp, err := t.exec("commit", "COMMIT", nil, nil, true)
	switch {
	case err == nil && tag.String() == "ROLLBACK":
		t.committed = true
		return errors.New("meta/postgres: commit: the transaction had failed and was rolled back"), false
	case err == nil:
		t.committed = true
		return nil, false
	case unavailable(err) && t.ctx.Err() == nil && !pgconn.SafeToRetry(err):
		// The COMMIT may have reached the server, and taken effect.
		return fmt.Errorf("meta/postgres: commit: outcome unknown: %w: %w", meta.ErrUnavailable, err), false
	case failedOp == "commit":
		t.committed = true // the server ended the transaction
	}
	return wrap(t.ctx, failedOp, err), retryable(err)
}

// end gives the connection back when the transaction is over: a View's,
// still open, is parked; an Update that did not commit is rolled back.
func (t *tx) end() {
	if t.conn == nil {
		return
	}
	switch {
	case t.committed:
	case t.failed == nil && t.begun && t.readOnly:
		t.s.park(parked{conn: t.conn, since: time.Now()})
		return
	case t.failed == nil && !t.begun && !t.prev.since.IsZero():
		// Nothing was sent: the parked View's transaction is still
		// open, as old as it was.
		t.s.park(t.prev)
		return
	default:
		t.rollback()
	}
	t.conn.Release()
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
