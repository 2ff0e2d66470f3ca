package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/berthreg/berth/internal/outage"
	"github.com/berthreg/berth/meta"
)

// Consumer reads the event log from its own persisted cursor. Make one
// with NewConsumer, then call Run.
type Consumer struct {
	store       meta.Store
	name        string
	from        uint64
	fn          Func
	tx          TxFunc
	batch       int
	poll, retry time.Duration
	// outageRetry caps the wait after a step that failed because the
	// store (or a backend the handler uses) cannot be reached.
	outageRetry time.Duration
	// storeDown is set while steps fail with an outage: the change is
	// logged, not each failure (Run only).
	storeDown bool
	bell      *Bell
	done      func(batch []meta.Event)
	logger    *slog.Logger
	// lease is how long a Func consumer's hold on its batch lasts without
	// a renewal; owner names this instance in the lease record.
	lease time.Duration
	owner string
	now   func() time.Time
	// token is this consumer's last claim, kept by a failed batch so
	// that its retry here takes the hold it still has (Step is not
	// called concurrently).
	token uint64
}

// Handler is what a Consumer does with a batch: a Func or a TxFunc.
type Handler interface{ handler() }

// Func handles a batch outside any transaction; the cursor moves past the
// batch once it returns nil. While it runs, this consumer holds a lease on
// its name in the store (see WithLease), so that of the instances running
// a consumer of that name one handles a batch at a time: each event is
// handled once, in order, across the cluster, except a batch whose
// instance died or lost its lease while handling it, which is handled
// again (at least once) by the instance that takes over.
type Func func(ctx context.Context, batch []meta.Event) error

// TxFunc handles a batch inside the transaction that moves the cursor:
// its writes and the cursor commit together (exactly once, whatever the
// number of instances running the consumer: the store's transactions are
// serializable, so two instances cannot both move the cursor past a
// batch). It may run more than once, like any Update function. The
// instance that handled the last batch holds the consumer's lease (see
// WithLease) while it keeps handling batches, renewing it in the same
// transactions, and the others leave the cursor to it: without that,
// every instance would write the one cursor row at each batch, and all
// but one of those transactions would fail to serialize and run again.
// An instance stopped by its Run's context gives the lease up; one that
// died holds the consumer until the lease expires.
type TxFunc func(ctx context.Context, tx meta.Tx, batch []meta.Event) error

func (Func) handler()   {}
func (TxFunc) handler() {}

// ConsumerOption configures a Consumer made by NewConsumer.
type ConsumerOption func(*Consumer)

// WithFrom sets where a new cursor starts: 0 (the default) is the
// beginning of the log, FromNow its current end (only what is appended
// from now on).
func WithFrom(seq uint64) ConsumerOption { return func(c *Consumer) { c.from = seq } }

// WithBatch sets the most events per call (default 100).
func WithBatch(n int) ConsumerOption { return func(c *Consumer) { c.batch = n } }

// WithPoll sets how often the consumer looks for new events without a
// Bell ring (default 1 s).
func WithPoll(d time.Duration) ConsumerOption { return func(c *Consumer) { c.poll = d } }

// WithRetry sets the delay after a failed batch (default 1 s, doubling to
// a minute). Failures because a backend cannot be reached wait less (see
// WithOutageRetry).
func WithRetry(d time.Duration) ConsumerOption { return func(c *Consumer) { c.retry = d } }

// WithOutageRetry caps the delay after a step that failed because a
// backend cannot be reached (an error wrapping meta.ErrUnavailable or
// storage.ErrUnavailable: the metadata store is down) at d (default 5 s):
// the delay starts at WithRetry's and doubles up to d, and a Bell ring
// (an event appended here, so the store is back) ends it at once. The
// consumer so resumes within d of the store's return, where a failing
// handler's batch backs off up to a minute and ignores the Bell.
func WithOutageRetry(d time.Duration) ConsumerOption {
	return func(c *Consumer) { c.outageRetry = d }
}

// WithBell makes b wake the consumer as soon as events are appended here.
func WithBell(b *Bell) ConsumerOption { return func(c *Consumer) { c.bell = b } }

// WithDone makes the consumer call f after each batch is committed (to
// wake the job runner a TxFunc enqueued work for).
func WithDone(f func(batch []meta.Event)) ConsumerOption {
	return func(c *Consumer) { c.done = f }
}

// WithLogger sets the logger that receives failures (default: none).
func WithLogger(l *slog.Logger) ConsumerOption { return func(c *Consumer) { c.logger = l } }

// WithLease sets how long a consumer's lease lasts without a renewal
// (default 30 s): how long the other instances wait before they take over
// the batch of an instance that died handling it (Func), or the consumer
// of an instance that died (TxFunc). A Func's lease is renewed every third
// of it while the Func runs, and released when the cursor moves; a
// TxFunc's is renewed with the batches and released when Run stops.
// Instances' clocks must agree to well within a third of it.
func WithLease(d time.Duration) ConsumerOption { return func(c *Consumer) { c.lease = d } }

// WithOwner names this instance in the consumer's lease record (default
// host:pid:random).
func WithOwner(name string) ConsumerOption { return func(c *Consumer) { c.owner = name } }

// withClock replaces time.Now (tests).
func withClock(now func() time.Time) ConsumerOption { return func(c *Consumer) { c.now = now } }

// NewConsumer returns the consumer name of the event log in store, which
// handles batches with h (a Func or a TxFunc). A new name starts at
// WithFrom.
func NewConsumer(store meta.Store, name string, h Handler, opts ...ConsumerOption) (*Consumer, error) {
	c := &Consumer{store: store, name: name}
	switch h := h.(type) {
	case Func:
		c.fn = h
	case TxFunc:
		c.tx = h
	}
	for _, o := range opts {
		o(c)
	}
	switch {
	case store == nil:
		return nil, errors.New("events: NewConsumer: nil store")
	case name == "":
		return nil, errors.New("events: NewConsumer: empty name")
	case c.fn == nil && c.tx == nil:
		return nil, fmt.Errorf("events: NewConsumer %s: no handler (a Func or a TxFunc)", name)
	case c.batch < 0:
		return nil, fmt.Errorf("events: NewConsumer %s: WithBatch(%d): negative", name, c.batch)
	case c.poll < 0:
		return nil, fmt.Errorf("events: NewConsumer %s: WithPoll(%v): negative", name, c.poll)
	case c.retry < 0:
		return nil, fmt.Errorf("events: NewConsumer %s: WithRetry(%v): negative", name, c.retry)
	case c.outageRetry < 0:
		return nil, fmt.Errorf("events: NewConsumer %s: WithOutageRetry(%v): negative", name, c.outageRetry)
	case c.lease < 0:
		return nil, fmt.Errorf("events: NewConsumer %s: WithLease(%v): negative", name, c.lease)
	}
	if c.batch == 0 {
		c.batch = 100
	}
	if c.poll == 0 {
		c.poll = time.Second
	}
	if c.retry == 0 {
		c.retry = time.Second
	}
	if c.outageRetry == 0 {
		c.outageRetry = 5 * time.Second
	}
	if c.lease == 0 {
		c.lease = 30 * time.Second
	}
	if c.owner == "" {
		host, _ := os.Hostname()
		c.owner = host + ":" + strconv.Itoa(os.Getpid()) + ":" + strconv.FormatUint(rand.Uint64()%1e6, 10)
	}
	return c, nil
}

func (c *Consumer) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

// Name returns the name of the consumer's cursor.
func (c *Consumer) Name() string { return c.name }

// FromNow, given to WithFrom, starts a new cursor at the end of the log
// (Events.Last when the cursor is created: an event committed at the same
// time by another instance may fall on either side).
const FromNow = ^uint64(0)

// Init creates the consumer's cursor if it has none, so that a FromNow
// consumer's "now" is this call, not its first Run step: call it before
// serving requests whose events it must see.
func (c *Consumer) Init(ctx context.Context) error {
	return c.store.Update(ctx, func(tx meta.Tx) error { _, err := c.cursor(tx); return err })
}

// Run consumes until ctx is done. After a failed step it waits before
// the next: up to a minute, doubling from WithRetry's delay, when the
// handler failed; when the store (or another backend) could not be
// reached, at most WithOutageRetry's delay, or until the Bell rings. An
// outage is logged once when it starts and once when it ends (at Warn),
// other failures each time (at Error).
func (c *Consumer) Run(ctx context.Context) error {
	poll := c.poll
	delay, outageDelay := c.retry, c.retry
	for {
		wake := c.bell.Wait()
		n, err := c.Step(ctx)
		c.noteStore(err)
		wait := poll
		switch {
		case err != nil && ctx.Err() == nil:
			var bell bool
			if outage.Is(err) {
				wait, outageDelay, bell = c.afterFailure(err, outageDelay)
			} else {
				if c.logger != nil {
					c.logger.Error("events: consumer", "name", c.name, "err", err)
				}
				wait, delay, bell = c.afterFailure(err, delay)
			}
			if !bell {
				wake = nil
			}
		case err == nil:
			delay, outageDelay = c.retry, c.retry
			if n > 0 {
				continue // there may be more
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			if c.fn == nil && c.token != 0 { // let another instance go on at once
				fresh, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				c.release(fresh, c.token)
				cancel()
			}
			return ctx.Err()
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// afterFailure is the wait after a step that failed with err, given the
// current delay of its kind of failure: the wait, the delay for the next
// failure of the kind, and whether a Bell ring ends the wait. A handler's
// failure waits delay, doubling up to a minute, deaf to the Bell (the
// batch would fail again at once); an outage waits at most outageRetry
// and a ring ends it, since a ring says an event was just committed here:
// the store is back.
func (c *Consumer) afterFailure(err error, delay time.Duration) (wait, next time.Duration, bell bool) {
	if outage.Is(err) {
		wait = min(delay, c.outageRetry)
		return wait, min(2*wait, c.outageRetry), true
	}
	return delay, min(2*delay, time.Minute), false
}

// noteStore logs, once per change, that steps fail because a backend
// cannot be reached, and that one succeeded again.
func (c *Consumer) noteStore(err error) {
	switch {
	case outage.Is(err):
		if !c.storeDown && c.logger != nil {
			c.logger.Warn("events: consumer: a backend is unavailable; retrying", "name", c.name, "err", err)
		}
		c.storeDown = true
	case err == nil:
		if c.storeDown && c.logger != nil {
			c.logger.Warn("events: consumer: recovered", "name", c.name)
		}
		c.storeDown = false
	}
}

// Step handles the next batch, if any, and returns its size. A Func
// consumer whose lease another instance holds handles nothing (0, nil).
// Step must not be called concurrently on one Consumer.
func (c *Consumer) Step(ctx context.Context) (int, error) {
	if c.fn != nil {
		return c.stepFunc(ctx)
	}
	if pending, err := c.pending(ctx); err != nil || !pending {
		return 0, err
	}
	if c.token == 0 {
		c.token = rand.Uint64() | 1 // this instance's hold, for as long as it runs
	}
	var batch []meta.Event
	err := c.store.Update(ctx, func(tx meta.Tx) error {
		batch = nil
		cur, err := c.cursor(tx)
		if err != nil {
			return err
		}
		if held, err := c.holdTurn(tx); err != nil || held {
			return err
		}
		if batch, err = tx.Events().List(cur.Seq, c.batch); err != nil || len(batch) == 0 {
			return err
		}
		if err := c.tx(ctx, tx, batch); err != nil {
			return err
		}
		return c.advance(tx, cur, batch)
	})
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	c.finished(batch)
	return len(batch), nil
}

// pending looks, in a read-only transaction, for work this consumer may
// do: events past its cursor (or no cursor yet) and no lease held by
// another instance. An idle consumer polls without a
// commit (and the fsync it costs).
func (c *Consumer) pending(ctx context.Context) (bool, error) {
	var pending bool
	err := c.store.View(ctx, func(tx meta.Tx) error {
		pending = false
		cur, err := tx.Cursors().Get(c.name)
		if errors.Is(err, meta.ErrNotFound) {
			pending = true // the cursor is created by the Update that follows
			return nil
		}
		if err != nil {
			return err
		}
		next, err := tx.Events().List(cur.Seq, 1)
		if err != nil || len(next) == 0 {
			return err
		}
		held, err := c.heldElsewhere(tx)
		if err != nil || held {
			return err
		}
		pending = true
		return nil
	})
	return pending, err
}

// ErrLeaseLost reports a Func consumer's batch whose lease passed to
// another instance (it expired while the Func ran, or could not be
// renewed): the cursor was left for that instance, which handles the
// batch again.
var ErrLeaseLost = errors.New("events: consumer lease lost")

// consumerLease is a Func consumer's hold on its cursor while one
// instance handles a batch: the instance (Owner, for people), the claim
// (Token, which fences a holder that lost it) and its expiry.
type consumerLease struct {
	Name  string    `json:"name"`
	Owner string    `json:"owner"`
	Token uint64    `json:"token"`
	Until time.Time `json:"until"`
}

// leases keep Func consumers' leases, next to their cursors, by consumer
// name.
var leases = meta.RecordType[consumerLease]{Kind: "eventConsumerLeases", Key: func(l consumerLease) string { return l.Name }}

// heldElsewhere reports a live lease on the consumer that is not this
// consumer's last claim.
func (c *Consumer) heldElsewhere(tx meta.Tx) (bool, error) {
	l, err := leases.In(tx).Get(c.name)
	if errors.Is(err, meta.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return l.Token != c.token && l.Until.After(c.clock()), nil
}

// holdTurn takes or keeps a TxFunc consumer's lease in tx: held reports
// another instance's live lease (tx then does nothing). The lease is
// written only when it is not this instance's or has run down to two
// thirds, so a busy holder writes it once per third of a lease.
func (c *Consumer) holdTurn(tx meta.Tx) (held bool, err error) {
	l, err := leases.In(tx).Get(c.name)
	switch {
	case errors.Is(err, meta.ErrNotFound):
	case err != nil:
		return false, err
	case l.Token != c.token && l.Until.After(c.clock()):
		return true, nil
	case l.Token == c.token && l.Until.Sub(c.clock()) > 2*c.lease/3:
		return false, nil
	}
	return false, leases.In(tx).Put(consumerLease{Name: c.name, Owner: c.owner, Token: c.token, Until: c.clock().Add(c.lease).UTC()})
}

// stepFunc handles the next batch with the Func: claim the lease and read
// the batch in one transaction, run the Func while a heartbeat renews the
// lease, then move the cursor and release the lease in one transaction,
// unless the lease passed to another instance meanwhile.
func (c *Consumer) stepFunc(ctx context.Context) (int, error) {
	if pending, err := c.pending(ctx); err != nil || !pending {
		return 0, err
	}
	var (
		batch []meta.Event
		from  uint64
		claim consumerLease
	)
	token := rand.Uint64() | 1 // never 0, the no-claim token
	err := c.store.Update(ctx, func(tx meta.Tx) error {
		batch = nil
		cur, err := c.cursor(tx)
		if err != nil {
			return err
		}
		held, err := c.heldElsewhere(tx)
		if err != nil || held {
			return err
		}
		if batch, err = tx.Events().List(cur.Seq, c.batch); err != nil || len(batch) == 0 {
			return err
		}
		from = cur.Seq
		claim = consumerLease{Name: c.name, Owner: c.owner, Token: token, Until: c.clock().Add(c.lease).UTC()}
		return leases.In(tx).Put(claim)
	})
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	c.token = token
	lost, cause, err := c.handle(ctx, batch, claim)
	// A fresh context: what was done must be recorded even as Run stops.
	fresh, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	switch {
	case lost && cause != nil: // the store failed: an outage is one to Run
		return 0, fmt.Errorf("events: consumer %s: batch after %d: %w: renewing it: %w", c.name, from, ErrLeaseLost, cause)
	case lost:
		return 0, fmt.Errorf("events: consumer %s: batch after %d: %w", c.name, from, ErrLeaseLost)
	case err != nil:
		if ctx.Err() != nil { // stopping: let another instance go on at once
			c.release(fresh, token)
		}
		return 0, fmt.Errorf("events: consumer %s: %w", c.name, err)
	}
	err = c.store.Update(fresh, func(tx meta.Tx) error {
		l, err := leases.In(tx).Get(c.name)
		if errors.Is(err, meta.ErrNotFound) || err == nil && l.Token != token {
			return ErrLeaseLost
		}
		if err != nil {
			return err
		}
		cur, err := tx.Cursors().Get(c.name)
		if err != nil {
			return err
		}
		if cur.Seq != from {
			return ErrLeaseLost
		}
		if err := c.advance(tx, cur, batch); err != nil {
			return err
		}
		return leases.In(tx).Delete(c.name)
	})
	if err != nil {
		return 0, fmt.Errorf("events: consumer %s: batch after %d: %w", c.name, from, err)
	}
	c.token = 0
	c.finished(batch)
	return len(batch), nil
}

// handle runs the Func on batch with a heartbeat that renews claim every
// third of the lease; lost reports that the lease could not be kept (the
// Func's context was canceled then), cause the store's error when a
// renewal failed.
func (c *Consumer) handle(ctx context.Context, batch []meta.Event, claim consumerLease) (lost bool, cause, err error) {
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var gone atomic.Bool
	beat := make(chan struct{})
	go func() {
		defer close(beat)
		t := time.NewTicker(max(c.lease/3, time.Millisecond))
		defer t.Stop()
		until := claim.Until
		for {
			select {
			case <-hctx.Done():
				return
			case <-t.C:
				var ok bool
				if until, ok, cause = c.renew(hctx, claim.Token, until); !ok {
					if hctx.Err() != nil {
						// The Func returned (or the step stops) while the
						// renewal ran: that cut it short, nothing was lost.
						// The cursor's move still checks the lease.
						cause = nil
						return
					}
					gone.Store(true)
					cancel()
					return
				}
			}
		}
	}()
	err = c.fn(hctx, batch)
	cancel()
	<-beat
	return gone.Load(), cause, err
}

// renew extends the lease of claim token from now; it returns the new
// expiry, or false when the lease is no longer this claim's, or when it
// could not be renewed and would expire before the next try. The error
// is the store's, when the lease could not be renewed.
func (c *Consumer) renew(ctx context.Context, token uint64, until time.Time) (time.Time, bool, error) {
	mine := false
	next := until
	err := c.store.Update(ctx, func(tx meta.Tx) error {
		mine, next = false, until
		l, err := leases.In(tx).Get(c.name)
		if errors.Is(err, meta.ErrNotFound) {
			return nil
		}
		if err != nil || l.Token != token {
			return err
		}
		mine = true
		next = c.clock().Add(c.lease).UTC()
		l.Until = next
		return leases.In(tx).Put(l)
	})
	if err != nil {
		if c.logger != nil && ctx.Err() == nil {
			c.logger.Warn("events: consumer lease renewal", "name", c.name, "err", err)
		}
		// A store hiccup keeps the batch going while the lease has
		// slack past the next try; after that, another instance may
		// take over, and this one stops.
		return until, ctx.Err() == nil && c.clock().Add(c.lease/3).Before(until), err
	}
	return next, mine, nil
}

// release drops the lease of claim token, if it still holds it.
func (c *Consumer) release(ctx context.Context, token uint64) {
	err := c.store.Update(ctx, func(tx meta.Tx) error {
		l, err := leases.In(tx).Get(c.name)
		if err != nil || l.Token != token {
			if errors.Is(err, meta.ErrNotFound) {
				return nil
			}
			return err
		}
		return leases.In(tx).Delete(c.name)
	})
	if err == nil {
		c.token = 0
	} else if c.logger != nil {
		c.logger.Warn("events: consumer lease release", "name", c.name, "err", err)
	}
}

func (c *Consumer) finished(batch []meta.Event) {
	if c.done != nil {
		c.done(batch)
	}
}

// cursor returns the consumer's cursor, creating it at From when new.
func (c *Consumer) cursor(tx meta.Tx) (meta.Cursor, error) {
	cur, err := tx.Cursors().Get(c.name)
	if !errors.Is(err, meta.ErrNotFound) {
		return cur, err
	}
	cur = meta.Cursor{Name: c.name, Seq: c.from, UpdatedAt: c.clock().UTC()}
	if c.from == FromNow {
		if cur.Seq, err = tx.Events().Last(); err != nil {
			return cur, err
		}
	}
	return cur, tx.Cursors().Put(cur) // from now means from its creation

}

func (c *Consumer) advance(tx meta.Tx, cur meta.Cursor, batch []meta.Event) error {
	if last := batch[len(batch)-1].Seq; last > cur.Seq {
		cur.Seq, cur.UpdatedAt = last, c.clock().UTC()
		return tx.Cursors().Put(cur)
	}
	return nil
}

// Cursor returns the consumer's position (0 if it never ran).
func Cursor(ctx context.Context, s meta.Store, name string) (uint64, error) {
	var seq uint64
	err := s.View(ctx, func(tx meta.Tx) error {
		cur, err := tx.Cursors().Get(name)
		if errors.Is(err, meta.ErrNotFound) {
			return nil
		}
		seq = cur.Seq
		return err
	})
	return seq, err
}
