package meta

import (
	"context"
	"time"
)

// The transaction types Observed reports.
const (
	OpView   = "view"
	OpUpdate = "update"
)

// Observed returns s with every transaction reported to observe: its
// type (OpView or OpUpdate), how long the call took (waiting for a
// group commit, every retry of a conflict and fn's own work included)
// and the error it returned. The transactions handed to fn are s's own,
// so their optional interfaces (Porter) stay; Close goes through.
func Observed(s Store, observe func(ctx context.Context, o Observation)) Store {
	return observedWith(s, observe, time.Now)
}

// observedWith is Observed reading the time from now.
func observedWith(s Store, observe func(ctx context.Context, o Observation), now func() time.Time) Store {
	return &observed{s: s, observe: observe, now: now}
}

// observed is the Store Observed returns.
type observed struct {
	s       Store
	observe func(ctx context.Context, o Observation)
	now     func() time.Time
}

// Observation is one transaction Observed reports.
type Observation struct {
	// Op is OpView or OpUpdate.
	Op string
	// Start is when the transaction was asked for, Took how long it ran
	// until it returned (waits for a group commit and retries included).
	Start time.Time
	Took  time.Duration
	// Err is the error it returned.
	Err error
}

func (o *observed) View(ctx context.Context, fn func(Tx) error) error {
	start := o.now()
	err := o.s.View(ctx, fn)
	o.observe(ctx, Observation{Op: OpView, Start: start, Took: o.now().Sub(start), Err: err})
	return err
}

func (o *observed) Update(ctx context.Context, fn func(Tx) error) error {
	start := o.now()
	err := o.s.Update(ctx, fn)
	o.observe(ctx, Observation{Op: OpUpdate, Start: start, Took: o.now().Sub(start), Err: err})
	return err
}

func (o *observed) Close() error { return o.s.Close() }
