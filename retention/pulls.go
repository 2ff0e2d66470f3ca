package retention

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"slices"
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

// pullCountKind holds how many pulls of each repository's manifests
// were recorded, keyed by repository name.
const pullCountKind = "pullCounts"

type pullCount struct {
	N int64 `json:"n"`
}

// pending is what waits to be written of one manifest's pulls.
type pending struct {
	repo string
	at   time.Time
	n    int64
}

// PullTimes records when manifests are pulled, for the templates that
// keep what was pulled lately, and counts the pulls of each repository
// (PullCountsIn): it keeps them in memory and writes them
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
	pending map[string]pending
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
		logger: slog.New(slog.DiscardHandler), pending: map[string]pending{}}
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
	cur, ok := p.pending[k]
	if !ok && len(p.pending) >= p.maxPending {
		p.dropped++
		return
	}
	p.pending[k] = pending{repo: repo, at: at, n: cur.n + 1}
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
	p.pending = map[string]pending{}
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
	counts := map[string]int64{}
	for k, pe := range batch {
		keys = append(keys, k)
		counts[pe.repo] += pe.n
	}
	repos := slices.Sorted(maps.Keys(counts))
	err := p.store.Update(ctx, func(tx meta.Tx) error {
		r := tx.Records(pullKind)
		known, err := r.GetMany(keys)
		if err != nil {
			return err
		}
		for k, pe := range batch {
			var old pullTime
			if raw, ok := known[k]; ok && json.Unmarshal(raw, &old) == nil && !old.At.Before(pe.at) {
				continue
			}
			raw, _ := json.Marshal(pullTime{At: pe.at})
			if err := r.Put(k, raw); err != nil {
				return err
			}
		}
		c := tx.Records(pullCountKind)
		had, err := c.GetMany(repos)
		if err != nil {
			return err
		}
		for _, repo := range repos {
			var old pullCount
			if raw, ok := had[repo]; ok {
				_ = json.Unmarshal(raw, &old)
			}
			raw, _ := json.Marshal(pullCount{N: old.N + counts[repo]})
			if err := c.Put(repo, raw); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		p.mu.Lock()
		for k, pe := range batch {
			cur, ok := p.pending[k]
			if !ok && len(p.pending) >= p.maxPending {
				continue
			}
			if cur.at.After(pe.at) {
				pe.at = cur.at
			}
			pe.n += cur.n
			p.pending[k] = pe
		}
		p.mu.Unlock()
	}
	return err
}

// PullCountsIn reads how many pulls of repos were recorded, by
// repository (absent: none): one read.
func PullCountsIn(tx meta.Tx, repos []string) (map[string]int64, error) {
	raw, err := tx.Records(pullCountKind).GetMany(repos)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(raw))
	for repo, v := range raw {
		var pc pullCount
		if json.Unmarshal(v, &pc) == nil {
			out[repo] = pc.N
		}
	}
	return out, nil
}

// ForgetRepository drops what was recorded of repo's pulls: its count
// and its manifests' pull times (a repository deleted and pushed again
// starts afresh).
func ForgetRepository(tx meta.Tx, repo string) error {
	if err := tx.Records(pullCountKind).Delete(repo); err != nil && !errors.Is(err, meta.ErrNotFound) {
		return err
	}
	times := tx.Records(pullKind)
	recs, err := meta.RecordsWithPrefix(times, repo+"@", 0)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if err := times.Delete(rec.Key); err != nil && !errors.Is(err, meta.ErrNotFound) {
			return err
		}
	}
	return nil
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
