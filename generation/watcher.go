package generation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/berthreg/berth/meta"
)

// DefaultInterval is how often a Watcher reads the counters without
// WithInterval.
const DefaultInterval = time.Second

// Watcher reads the counters now and again and calls the functions
// watching the ones that moved. Make it with NewWatcher, register with
// Watch, and run it with Run (or drive it with Poll). It is safe for
// concurrent use.
type Watcher struct {
	store    meta.Store
	interval time.Duration
	resync   time.Duration
	ticks    <-chan time.Time
	logger   *slog.Logger
	now      func() time.Time
	err      error // an option's, returned by NewWatcher

	polling sync.Mutex // one poll at a time, so a later read is never applied before an earlier one

	mu      sync.Mutex
	watches []*watch
	failing bool // the last poll failed (logged once, until one succeeds)
}

// watch is one function watching one counter.
type watch struct {
	name string
	fn   func(context.Context) error
	// started, seen and ran are guarded by the Watcher's mu: fn has
	// succeeded (at least once), for counter value seen, last at ran.
	started bool
	seen    uint64
	ran     time.Time
}

// Option configures a Watcher made by NewWatcher.
type Option func(*Watcher)

// WithInterval sets how often Run reads the counters (default
// DefaultInterval); it must be positive. It is the first part of the
// bound on how stale the watched state can be.
func WithInterval(d time.Duration) Option {
	return func(w *Watcher) {
		if d <= 0 {
			w.err = fmt.Errorf("generation: WithInterval(%v): must be positive", d)
		}
		w.interval = d
	}
}

// WithTicks makes Run poll each time ticks delivers instead of every
// interval: tests drive the watcher by hand with it, independent of any
// clock. A closed ticks stops the polling (Run then waits for its
// context).
func WithTicks(ticks <-chan time.Time) Option {
	return func(w *Watcher) { w.ticks = ticks }
}

// WithResync also calls each watch when d has passed since it last ran,
// whether its counter moved or not (default 0: only when it moved), so
// that changes made without a Bump are picked up within d. d must not be
// negative.
func WithResync(d time.Duration) Option {
	return func(w *Watcher) {
		if d < 0 {
			w.err = fmt.Errorf("generation: WithResync(%v): must not be negative", d)
		}
		w.resync = d
	}
}

// WithLogger makes Run log failed polls and watches to l (default:
// nowhere).
func WithLogger(l *slog.Logger) Option { return func(w *Watcher) { w.logger = l } }

// WithClock makes the watcher read the time from now (default time.Now):
// what WithResync measures.
func WithClock(now func() time.Time) Option { return func(w *Watcher) { w.now = now } }

// NewWatcher returns a watcher of the counters in store. A nil store and
// bad options are errors.
func NewWatcher(store meta.Store, opts ...Option) (*Watcher, error) {
	w := &Watcher{store: store, interval: DefaultInterval, logger: slog.New(slog.DiscardHandler), now: time.Now}
	for _, o := range opts {
		o(w)
	}
	switch {
	case w.err != nil:
		return nil, w.err
	case store == nil:
		return nil, errors.New("generation: NewWatcher: nil store")
	case w.logger == nil || w.now == nil:
		return nil, errors.New("generation: NewWatcher: nil logger or clock")
	}
	return w, nil
}

// Watch registers fn to be called at the next poll, and then whenever
// counter name has moved since fn last succeeded. fn reloads what it
// keeps from the store, in a transaction of its own (which starts after
// the poll's read, so sees at least the change the counter stands for);
// an error makes the next poll call it again. Functions run one at a
// time, in the poll's goroutine, in the order they were registered.
func (w *Watcher) Watch(name string, fn func(ctx context.Context) error) error {
	if err := checkName(name); err != nil {
		return err
	}
	if fn == nil {
		return fmt.Errorf("generation: Watch %s: nil function", name)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.watches = append(w.watches, &watch{name: name, fn: fn})
	return nil
}

// Seen returns the value of counter name that every function watching
// it has caught up with; ok is false while one has not yet succeeded
// once (or none watches name). A test waits on it to know that a change
// made elsewhere has reached this watcher's state.
func (w *Watcher) Seen(name string) (value uint64, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, wa := range w.watches {
		if wa.name != name {
			continue
		}
		if !wa.started {
			return 0, false
		}
		if !ok || wa.seen < value {
			value, ok = wa.seen, true
		}
	}
	return value, ok
}

// Poll reads every counter in one read-only transaction and calls the
// watches that are due: new ones, those whose counter moved, and, with
// WithResync, those that have not run for that long. It returns the
// read's error or the watches' errors joined. Run calls it; tests may
// call it by hand.
func (w *Watcher) Poll(ctx context.Context) error {
	w.polling.Lock()
	defer w.polling.Unlock()
	var values map[string]uint64
	if err := w.store.View(ctx, func(tx meta.Tx) error {
		var err error
		values, err = all(tx)
		return err
	}); err != nil {
		return err
	}
	now := w.now()
	w.mu.Lock()
	list := slices.Clone(w.watches)
	w.mu.Unlock()
	var errs []error
	for _, wa := range list {
		v := values[wa.name]
		w.mu.Lock()
		due := !wa.started || wa.seen != v || (w.resync > 0 && now.Sub(wa.ran) >= w.resync)
		w.mu.Unlock()
		if !due {
			continue
		}
		if err := wa.fn(ctx); err != nil {
			errs = append(errs, fmt.Errorf("generation: reloading on %s: %w", wa.name, err))
			continue
		}
		w.mu.Lock()
		wa.started, wa.seen, wa.ran = true, v, now
		w.mu.Unlock()
	}
	return errors.Join(errs...)
}

// Run polls at once and then every interval (or at each of WithTicks's
// ticks) until ctx is done, and returns nil then. A failed poll is logged
// at Warn once, and its end once, and tried again at the next tick.
func (w *Watcher) Run(ctx context.Context) error {
	ticks := w.ticks
	if ticks == nil {
		t := time.NewTicker(w.interval)
		defer t.Stop()
		ticks = t.C
	}
	for {
		w.report(ctx, w.Poll(ctx))
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-ticks:
			if !ok {
				<-ctx.Done()
				return nil
			}
		}
	}
}

// report logs the first failed poll of a run of them, and the first
// success after.
func (w *Watcher) report(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	w.mu.Lock()
	was := w.failing
	w.failing = err != nil
	w.mu.Unlock()
	switch {
	case err != nil && !was:
		w.logger.Warn("generation: cached state may be stale; polling again", "err", err)
	case err == nil && was:
		w.logger.Warn("generation: cached state reloaded after failures")
	}
}
