package bolt

import (
	"context"
	"errors"
	"slices"

	bbolt "go.etcd.io/bbolt"

	"github.com/berthreg/berth/meta"
)

// maxBatch bounds how many queued Updates share one bbolt transaction.
const maxBatch = 256

// errBatchAborted rolls back a shared transaction when one of its functions
// fails, so that each is re-run alone and only the failing one fails.
var errBatchAborted = errors.New("meta/bolt: batch aborted")

// call is one Update waiting for, or done by, a group commit.
type call struct {
	ctx context.Context
	fn  func(meta.Tx) error
	err error
	// panicked holds a panic raised by fn, re-raised in the caller.
	panicked any
	// wake delivers true when this caller must lead the next batch, false
	// when its result is ready.
	wake chan bool
	// chosen is set (under Store.mu) when the call was picked to lead.
	chosen bool
}

// update queues fn and commits it together with whatever other Updates are
// waiting (group commit): one leader at a time runs all queued functions in
// one bbolt transaction with one fsync, so concurrent writers share the cost
// of durability instead of queueing for one fsync each. A lone Update runs
// at once, with no added delay.
func (s *Store) update(ctx context.Context, fn func(meta.Tx) error) error {
	c := &call{ctx: ctx, fn: fn, wake: make(chan bool, 1)}
	s.mu.Lock()
	s.queue = append(s.queue, c)
	if !s.leading {
		s.leading = true
		s.mu.Unlock()
		return s.lead(c)
	}
	s.mu.Unlock()
	select {
	case lead := <-c.wake:
		if lead {
			return s.lead(c)
		}
		return c.result()
	case <-ctx.Done():
		s.mu.Lock()
		if i := slices.Index(s.queue, c); i >= 0 && !c.chosen {
			s.queue = slices.Delete(s.queue, i, i+1)
			s.mu.Unlock()
			return ctx.Err()
		}
		s.mu.Unlock()
		// Already taken into a batch, or picked to lead: see it through.
		if <-c.wake {
			return s.lead(c)
		}
		return c.result()
	}
}

// result returns the call's error, re-raising a panic of its function.
func (c *call) result() error {
	if c.panicked != nil {
		panic(c.panicked)
	}
	return c.err
}

// lead runs one batch of queued calls (which includes self), wakes their
// callers, and hands leadership to the next waiting call, if any.
func (s *Store) lead(self *call) error {
	s.mu.Lock()
	n := min(len(s.queue), maxBatch)
	batch := slices.Clone(s.queue[:n])
	s.queue = slices.Delete(s.queue, 0, n)
	s.mu.Unlock()

	s.runBatch(batch)
	for _, c := range batch {
		if c != self {
			c.wake <- false
		}
	}

	s.mu.Lock()
	if len(s.queue) > 0 {
		next := s.queue[0]
		next.chosen = true
		next.wake <- true
	} else {
		s.leading = false
	}
	s.mu.Unlock()
	return self.result()
}

// runBatch commits the live calls of batch in one transaction; if any fails,
// it rolls back and runs each in its own transaction, so one call's error
// never affects another's changes.
func (s *Store) runBatch(batch []*call) {
	live := make([]*call, 0, len(batch))
	for _, c := range batch {
		if err := c.ctx.Err(); err != nil {
			c.err = err
			continue
		}
		live = append(live, c)
	}
	if len(live) == 0 {
		return
	}
	s.stats.batches.Add(1)
	s.stats.batched.Add(uint64(len(live)))
	if len(live) == 1 {
		live[0].runAlone(s)
		return
	}
	failed := false
	err := s.db.Update(func(btx *bbolt.Tx) error {
		for _, c := range live {
			c.runIn(btx)
			if c.err != nil || c.panicked != nil {
				failed = true
				return errBatchAborted
			}
		}
		return nil
	})
	switch {
	case failed:
		for _, c := range live {
			if c.panicked == nil {
				s.stats.reruns.Add(1)
				c.runAlone(s)
			}
		}
	case err != nil:
		for _, c := range live {
			c.err = s.wrapErr(err)
		}
	}
}

// runIn runs the call's function on btx, catching a panic.
func (c *call) runIn(btx *bbolt.Tx) {
	t := &tx{btx: btx}
	defer t.done.Store(true)
	defer func() {
		if p := recover(); p != nil {
			c.panicked = p
		}
	}()
	c.err = c.fn(t)
}

// runAlone runs the call in a transaction of its own.
func (c *call) runAlone(s *Store) {
	c.err = nil
	err := s.db.Update(func(btx *bbolt.Tx) error {
		c.runIn(btx)
		if c.panicked != nil {
			return errBatchAborted
		}
		return c.err
	})
	if c.panicked == nil {
		c.err = s.wrapErr(err)
	}
}
