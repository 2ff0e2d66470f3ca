package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/berthreg/berth/meta"
)

// Consumer reads the event log from its own persisted cursor. Set Store,
// Name and one of Func or Tx, then call Run.
type Consumer struct {
	// Store holds the log and the cursor.
	Store meta.Store
	// Name identifies the consumer's cursor; a new name starts at From.
	Name string
	// From is where a new cursor starts: 0 is the beginning of the log,
	// FromNow its current end (only what is appended from now on).
	From uint64
	// Func handles a batch outside any transaction; the cursor moves past
	// the batch once it returns nil. Events may be seen again after a
	// crash (at least once).
	Func func(ctx context.Context, batch []meta.Event) error
	// Tx handles a batch inside the transaction that moves the cursor: its
	// writes and the cursor commit together (exactly once). It may run more
	// than once, like any Update function.
	Tx func(ctx context.Context, tx meta.Tx, batch []meta.Event) error
	// Batch is the most events per call (0: 100).
	Batch int
	// Poll is how often it looks for new events without a Bell ring
	// (0: 1 s); Retry is the delay after a failed batch (0: 1 s, doubling
	// to a minute).
	Poll, Retry time.Duration
	// Bell, when set, wakes it as soon as events are appended here.
	Bell *Bell
	// Done, when set, is called after each batch is committed (to wake
	// the job runner a Tx consumer enqueued work for).
	Done func(batch []meta.Event)
	// Logger receives failures (nil: none).
	Logger *slog.Logger
}

// FromNow, as Consumer.From, starts a new cursor at the end of the log.
const FromNow = ^uint64(0)

// Init creates the consumer's cursor if it has none, so that a FromNow
// consumer's "now" is this call, not its first Run step: call it before
// serving requests whose events it must see.
func (c *Consumer) Init(ctx context.Context) error {
	return c.Store.Update(ctx, func(tx meta.Tx) error { _, err := c.cursor(tx); return err })
}

// Run consumes until ctx is done.
func (c *Consumer) Run(ctx context.Context) error {
	if (c.Func == nil) == (c.Tx == nil) || c.Name == "" || c.Store == nil {
		return errors.New("events: a Consumer needs a Store, a Name and exactly one of Func and Tx")
	}
	poll, retry := c.Poll, c.Retry
	if poll <= 0 {
		poll = time.Second
	}
	if retry <= 0 {
		retry = time.Second
	}
	delay := retry
	for {
		wake := c.Bell.Wait()
		n, err := c.Step(ctx)
		wait := poll
		switch {
		case err != nil && ctx.Err() == nil:
			if c.Logger != nil {
				c.Logger.Error("events: consumer", "name", c.Name, "err", err)
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
	limit := c.Batch
	if limit <= 0 {
		limit = 100
	}
	// Look before writing: with nothing new, no commit (and no fsync).
	var pending bool
	if err := c.Store.View(ctx, func(tx meta.Tx) error {
		cur, err := tx.Cursors().Get(c.Name)
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
	err := c.Store.Update(ctx, func(tx meta.Tx) error {
		cur, err := c.cursor(tx)
		if err != nil {
			return err
		}
		if batch, err = tx.Events().List(cur.Seq, limit); err != nil || len(batch) == 0 {
			return err
		}
		if c.Tx != nil {
			if err := c.Tx(ctx, tx, batch); err != nil {
				return err
			}
			return c.advance(tx, cur, batch)
		}
		return nil
	})
	if err != nil || len(batch) == 0 {
		return len(batch), err
	}
	if c.Func == nil {
		c.done(batch)
		return len(batch), nil
	}
	if err := c.Func(ctx, batch); err != nil {
		return 0, fmt.Errorf("events: consumer %s: %w", c.Name, err)
	}
	err = c.Store.Update(ctx, func(tx meta.Tx) error {
		cur, err := c.cursor(tx)
		if err != nil {
			return err
		}
		return c.advance(tx, cur, batch)
	})
	if err == nil {
		c.done(batch)
	}
	return len(batch), err
}

func (c *Consumer) done(batch []meta.Event) {
	if c.Done != nil {
		c.Done(batch)
	}
}

// cursor returns the consumer's cursor, creating it at From when new.
func (c *Consumer) cursor(tx meta.Tx) (meta.Cursor, error) {
	cur, err := tx.Cursors().Get(c.Name)
	if !errors.Is(err, meta.ErrNotFound) {
		return cur, err
	}
	cur = meta.Cursor{Name: c.Name, Seq: c.From, UpdatedAt: time.Now().UTC()}
	if c.From == FromNow {
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
