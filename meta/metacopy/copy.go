package metacopy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/berthreg/berth/meta"
)

// Errors of Copy and Compare.
var (
	// ErrNotEmpty reports a Copy into a store that holds something.
	ErrNotEmpty = errors.New("meta/metacopy: the destination store is not empty")
	// ErrNotPortable reports a store whose transactions do not implement
	// meta.Porter.
	ErrNotPortable = errors.New("meta/metacopy: the store's transactions do not implement meta.Porter")
)

// Counts are how many records Copy copied, by listing: "repositories",
// "manifests", "tags", "links", "blobs", "tombstones", "claims",
// "uploads", "events", "cursors", "jobs", "records".
type Counts map[string]int

// String lists the counts in name order ("blobs 3, events 10, …").
func (c Counts) String() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(c)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, c[k]))
	}
	return strings.Join(parts, ", ")
}

// Copy copies everything src holds into dst, which must be empty (else
// ErrNotEmpty, naming what it holds): repositories with their manifests,
// referrers, tags and blob links; blob records, tombstones and claims;
// upload sessions; the event log with its sequence numbers, and its
// cursors; the job queue with ids, states, attempts and leases; every
// record kind; garbage collection's window; and the counters, so that
// dst numbers new events and jobs above everything copied. Both stores'
// transactions must implement meta.Porter (else ErrNotPortable).
//
// Copy reads src in one View, so it copies one consistent snapshot, and
// writes dst in Updates of up to WithBatchSize records, so a large store
// makes no giant transaction; if Copy fails, dst holds part of src and
// must be emptied (or made anew) before trying again. What src commits
// during the copy is not copied: stop every writer first (Compare finds
// what they changed). The digests a running collection touched are not
// copied either: they matter only to that collection, which runs on src.
func Copy(ctx context.Context, dst, src meta.Store, opts ...Option) (Counts, error) {
	o := newOptions(opts)
	w := &writer{ctx: ctx, dst: dst, o: o, counts: Counts{}, pending: Counts{}}
	err := dst.View(ctx, func(tx meta.Tx) error {
		p, ok := tx.(meta.Porter)
		if !ok {
			return fmt.Errorf("destination: %w (%T)", ErrNotPortable, tx)
		}
		return checkEmpty(tx, p.Dump())
	})
	if err != nil {
		return w.counts, err
	}
	err = src.View(ctx, func(tx meta.Tx) error {
		p, ok := tx.(meta.Porter)
		if !ok {
			return fmt.Errorf("source: %w (%T)", ErrNotPortable, tx)
		}
		return w.copyAll(tx, p.Dump())
	})
	return w.counts, err
}

// checkEmpty returns ErrNotEmpty naming the first thing tx holds.
func checkEmpty(tx meta.Tx, d meta.Dumper) error {
	for _, s := range topSections() {
		page, err := s.list(tx, d, "", 1)
		if err != nil {
			return fmt.Errorf("meta/metacopy: destination %s: %w", s.name, err)
		}
		if len(page) > 0 {
			return fmt.Errorf("%w: it holds %s", ErrNotEmpty, s.label(page[0].key))
		}
	}
	return nil
}

// writer queues restores and writes them in batches.
type writer struct {
	ctx     context.Context
	dst     meta.Store
	o       options
	ops     []func(meta.Tx, meta.Restorer) error
	counts  Counts // committed
	pending Counts // queued
}

// copyAll copies the counters, every section and the collection window
// of src.
func (w *writer) copyAll(tx meta.Tx, d meta.Dumper) error {
	seqs, err := d.Sequences()
	if err != nil {
		return fmt.Errorf("meta/metacopy: source sequences: %w", err)
	}
	// First, so that the destination numbers nothing below what follows.
	if err := w.add("", func(_ meta.Tx, r meta.Restorer) error { return r.Sequences(seqs) }); err != nil {
		return err
	}
	for _, s := range topSections() {
		if err := w.section(tx, d, s); err != nil {
			return err
		}
	}
	since, active, err := tx.Collector().Collection().Active()
	if err != nil {
		return fmt.Errorf("meta/metacopy: source collection: %w", err)
	}
	if err := w.add("", func(tx meta.Tx, _ meta.Restorer) error {
		if active {
			return tx.Collector().Collection().Begin(since)
		}
		return tx.Collector().Collection().End()
	}); err != nil {
		return err
	}
	return w.flush()
}

// section queues the restores of every entry of s in src, each followed
// by its children's.
func (w *writer) section(tx meta.Tx, d meta.Dumper, s section) error {
	after := ""
	for {
		page, err := s.list(tx, d, after, w.o.batch)
		if err != nil {
			return fmt.Errorf("meta/metacopy: source %s: %w", s.name, err)
		}
		for _, e := range page {
			if s.restore != nil {
				err := w.add(s.name, func(tx meta.Tx, r meta.Restorer) error {
					if err := s.restore(tx, r, e); err != nil {
						return fmt.Errorf("%s: %w", s.label(e.key), err)
					}
					return nil
				})
				if err != nil {
					return err
				}
			}
			if s.children == nil {
				continue
			}
			for _, c := range s.children(e.key) {
				if err := w.section(tx, d, c); err != nil {
					return err
				}
			}
		}
		if len(page) < w.o.batch {
			return nil
		}
		after = page[len(page)-1].key
	}
}

// add queues op, counted under name (if not ""), and writes the queue
// once it holds a batch.
func (w *writer) add(name string, op func(meta.Tx, meta.Restorer) error) error {
	w.ops = append(w.ops, op)
	if name != "" {
		w.pending[name]++
	}
	if len(w.ops) >= w.o.batch {
		return w.flush()
	}
	return nil
}

// flush writes the queued restores in one destination Update.
func (w *writer) flush() error {
	if len(w.ops) == 0 {
		return nil
	}
	err := w.dst.Update(w.ctx, func(tx meta.Tx) error {
		p, ok := tx.(meta.Porter)
		if !ok {
			return fmt.Errorf("destination: %w (%T)", ErrNotPortable, tx)
		}
		r := p.Restore()
		for _, op := range w.ops {
			if err := op(tx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("meta/metacopy: write destination: %w", err)
	}
	for k, n := range w.pending {
		w.counts[k] += n
	}
	w.ops, w.pending = w.ops[:0], Counts{}
	if w.o.progress != nil {
		w.o.progress(w.counts)
	}
	return nil
}
