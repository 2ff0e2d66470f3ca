package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

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
	bell        *Bell
	done        func(batch []meta.Event)
	logger      *slog.Logger
}

// Handler is what a Consumer does with a batch: a Func or a TxFunc.
type Handler interface{ handler() }

// Func handles a batch outside any transaction; the cursor moves past the
// batch once it returns nil. Events may be seen again after a crash (at
// least once).
type Func func(ctx context.Context, batch []meta.Event) error

// TxFunc handles a batch inside the transaction that moves the cursor:
// its writes and the cursor commit together (exactly once). It may run
// more than once, like any Update function.
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
// a minute).
func WithRetry(d time.Duration) ConsumerOption { return func(c *Consumer) { c.retry = d } }

// WithBell makes b wake the consumer as soon as events are appended here.
func WithBell(b *Bell) ConsumerOption { return func(c *Consumer) { c.bell = b } }

// WithDone makes the consumer call f after each batch is committed (to
// wake the job runner a TxFunc enqueued work for).
func WithDone(f func(batch []meta.Event)) ConsumerOption {
	return func(c *Consumer) { c.done = f }
}

// WithLogger sets the logger that receives failures (default: none).
func WithLogger(l *slog.Logger) ConsumerOption { return func(c *Consumer) { c.logger = l } }

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
	return c, nil
}

// Name returns the name of the consumer's cursor.
func (c *Consumer) Name() string { return c.name }

// FromNow, given to WithFrom, starts a new cursor at the end of the log.
const FromNow = ^uint64(0)

// Init creates the consumer's cursor if it has none, so that a FromNow
// consumer's "now" is this call, not its first Run step: call it before
// serving requests whose events it must see.
func (c *Consumer) Init(ctx context.Context) error {
	return c.store.Update(ctx, func(tx meta.Tx) error { _, err := c.cursor(tx); return err })
}

// Run consumes until ctx is done.
func (c *Consumer) Run(ctx context.Context) error {
	poll, retry := c.poll, c.retry
	delay := retry
	for {
		wake := c.bell.Wait()
		n, err := c.Step(ctx)
		wait := poll
		switch {
		case err != nil && ctx.Err() == nil:
			if c.logger != nil {
				c.logger.Error("events: consumer", "name", c.name, "err", err)
			}
			wait, delay = delay, min(2*delay, time.Minute)
			wake = nil
		case err == nil:
			delay = retry
			if n > 0 {
				continue // there may be more
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// Step handles the next batch, if any, and returns its size.
func (c *Consumer) Step(ctx context.Context) (int, error) {
	limit := c.batch
	// Look before writing: with nothing new, no commit (and no fsync).
	var pending bool
	if err := c.store.View(ctx, func(tx meta.Tx) error {
		cur, err := tx.Cursors().Get(c.name)
		if errors.Is(err, meta.ErrNotFound) {
			pending = true // the cursor is created below
			return nil
		}
		if err != nil {
			return err
		}
		next, err := tx.Events().List(cur.Seq, 1)
		pending = len(next) > 0
		return err
	}); err != nil || !pending {
		return 0, err
	}
	var batch []meta.Event
	err := c.store.Update(ctx, func(tx meta.Tx) error {
		cur, err := c.cursor(tx)
		if err != nil {
			return err
		}
		if batch, err = tx.Events().List(cur.Seq, limit); err != nil || len(batch) == 0 {
			return err
		}
		if c.tx != nil {
			if err := c.tx(ctx, tx, batch); err != nil {
				return err
			}
			return c.advance(tx, cur, batch)
		}
		return nil
	})
	if err != nil || len(batch) == 0 {
		return len(batch), err
	}
	if c.fn == nil {
		c.finished(batch)
		return len(batch), nil
	}
	if err := c.fn(ctx, batch); err != nil {
		return 0, fmt.Errorf("events: consumer %s: %w", c.name, err)
	}
	err = c.store.Update(ctx, func(tx meta.Tx) error {
		cur, err := c.cursor(tx)
		if err != nil {
			return err
		}
		return c.advance(tx, cur, batch)
	})
	if err == nil {
		c.finished(batch)
	}
	return len(batch), err
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
	cur = meta.Cursor{Name: c.name, Seq: c.from, UpdatedAt: time.Now().UTC()}
	if c.from == FromNow {
		if cur.Seq, err = tx.Events().Last(); err != nil {
			return cur, err
		}
	}
	return cur, tx.Cursors().Put(cur) // from now means from its creation

}

func (c *Consumer) advance(tx meta.Tx, cur meta.Cursor, batch []meta.Event) error {
	if last := batch[len(batch)-1].Seq; last > cur.Seq {
		cur.Seq, cur.UpdatedAt = last, time.Now().UTC()
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
