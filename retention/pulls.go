package retention

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry"
)

// pullKind holds the last pull time of each pulled manifest, keyed
// repository@digest.
const pullKind = "pullTimes"

func pullKey(repo string, d digest.Digest) string { return repo + "@" + d.String() }

type pullTime struct {
	At time.Time `json:"at"`
}

// PullTimes records when manifests are pulled, for the templates that
// keep what was pulled lately: it keeps them in memory and writes them
// in one transaction per interval (WithFlushEvery), not one per pull. A
// process that dies loses at most the interval's pull times. At most
// WithMaxPending manifests wait at once; pulls of others are dropped
// until the next write (so anonymous pulls cannot grow it without
// bound). Make one with NewPullTimes, pass Hooks to the registry and run
// Run.
type PullTimes struct {
	store      meta.Store
	every      time.Duration
	maxPending int
	now        func() time.Time
	logger     *slog.Logger

	mu      sync.Mutex
	pending map[string]time.Time
	dropped int
}

// PullTimesOption configures NewPullTimes.
type PullTimesOption func(*PullTimes)

// WithFlushEvery sets how often pull times are written (default 10 s).
func WithFlushEvery(d time.Duration) PullTimesOption { return func(p *PullTimes) { p.every = d } }

// WithMaxPending bounds the manifests whose pull time waits to be
// written (default 100000).
func WithMaxPending(n int) PullTimesOption { return func(p *PullTimes) { p.maxPending = n } }

// WithPullClock sets the clock (default time.Now).
func WithPullClock(now func() time.Time) PullTimesOption { return func(p *PullTimes) { p.now = now } }

// WithPullLogger sets the logger of failed writes (default: none).
func WithPullLogger(l *slog.Logger) PullTimesOption { return func(p *PullTimes) { p.logger = l } }

// NewPullTimes returns a recorder of pull times into store.
func NewPullTimes(store meta.Store, opts ...PullTimesOption) (*PullTimes, error) {
	p := &PullTimes{store: store, every: 10 * time.Second, maxPending: 100000, now: time.Now,
		logger: slog.New(slog.DiscardHandler), pending: map[string]time.Time{}}
	for _, o := range opts {
		o(p)
	}
	switch {
	case store == nil:
		return nil, errors.New("retention: NewPullTimes: nil store")
	case p.every <= 0:
		return nil, errors.New("retention: NewPullTimes: WithFlushEvery must be positive")
	case p.maxPending < 1:
		return nil, errors.New("retention: NewPullTimes: WithMaxPending must be positive")
	}
	return p, nil
}

// Hooks returns the registry hooks that note manifest pulls.
func (p *PullTimes) Hooks() registry.Hooks {
	return registry.Hooks{AfterPull: func(_ context.Context, ev *registry.Event) {
		if ev.Action == registry.ActionPullManifest && ev.Digest != "" {
			p.Pulled(ev.Repository, ev.Digest)
		}
	}}
}

// Pulled notes that manifest d of repo was pulled now.
func (p *PullTimes) Pulled(repo string, d digest.Digest) {
	at := p.now().UTC()
	p.mu.Lock()
	defer p.mu.Unlock()
	k := pullKey(repo, d)
	if _, ok := p.pending[k]; !ok && len(p.pending) >= p.maxPending {
		p.dropped++
		return
	}
	p.pending[k] = at
}

// Run writes the pull times every interval until ctx is done, and once
// more then.
func (p *PullTimes) Run(ctx context.Context) error {
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := p.Flush(context.WithoutCancel(ctx)); err != nil {
				p.logger.Warn("retention: writing pull times", "err", err)
			}
			return nil
		case <-t.C:
			if err := p.Flush(ctx); err != nil {
				p.logger.Warn("retention: writing pull times", "err", err)
			}
		}
	}
}

// Flush writes the pull times noted since the last write, in one
// transaction; a time never moves back (another instance may have
// written a later one). On failure they are kept for the next write.
func (p *PullTimes) Flush(ctx context.Context) error {
	p.mu.Lock()
	batch := p.pending
	p.pending = map[string]time.Time{}
	dropped := p.dropped
	p.dropped = 0
	p.mu.Unlock()
	if dropped > 0 {
		p.logger.Warn("retention: pull times dropped: too many waiting", "dropped", dropped)
	}
	if len(batch) == 0 {
		return nil
	}
	keys := make([]string, 0, len(batch))
	for k := range batch {
		keys = append(keys, k)
	}
	err := p.store.Update(ctx, func(tx meta.Tx) error {
		r := tx.Records(pullKind)
		known, err := r.GetMany(keys)
		if err != nil {
			return err
		}
		for k, at := range batch {
			var old pullTime
			if raw, ok := known[k]; ok && json.Unmarshal(raw, &old) == nil && !old.At.Before(at) {
				continue
			}
			raw, _ := json.Marshal(pullTime{At: at})
			if err := r.Put(k, raw); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		p.mu.Lock()
		for k, at := range batch {
			if cur, ok := p.pending[k]; !ok || cur.Before(at) {
				if ok || len(p.pending) < p.maxPending {
					p.pending[k] = at
				}
			}
		}
		p.mu.Unlock()
	}
	return err
}

// PullTimesIn reads the last pull times of manifests ds of repo in tx,
// as a PullTimes recorded them (absent: never pulled, as far as
// recorded): one read.
func PullTimesIn(tx meta.Tx, repo string, ds []digest.Digest) (map[digest.Digest]time.Time, error) {
	return pullTimesIn(tx, repo, ds)
}

// pullTimesIn reads the pull times of digests of repo in tx (absent:
// never pulled, as far as recorded).
func pullTimesIn(tx meta.Tx, repo string, ds []digest.Digest) (map[digest.Digest]time.Time, error) {
	keys := make([]string, len(ds))
	for i, d := range ds {
		keys[i] = pullKey(repo, d)
	}
	raw, err := tx.Records(pullKind).GetMany(keys)
	if err != nil {
		return nil, err
	}
	out := make(map[digest.Digest]time.Time, len(raw))
	for i, d := range ds {
		var pt pullTime
		if v, ok := raw[keys[i]]; ok && json.Unmarshal(v, &pt) == nil {
			out[d] = pt.At
		}
	}
	return out, nil
}
