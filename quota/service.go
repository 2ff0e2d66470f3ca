package quota

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/meta"
)

// Service keeps the projects' storage limits and usage. Make one with
// New; everything that writes manifests (the registry, garbage
// collection, retention) must use the store Store returns, so that every
// change is counted in its own transaction.
type Service struct {
	store        meta.Store
	defaultLimit int64
	warnAt       int
	shards       int
	pool         *shardPool
	now          func() time.Time
	logger       *slog.Logger
}

// Option configures a Service made by New.
type Option func(*Service)

// WithDefaultLimit sets the limit, in bytes, of a project that has none
// when it is first pushed to (default Unlimited).
func WithDefaultLimit(bytes int64) Option { return func(s *Service) { s.defaultLimit = bytes } }

// WithWarnAt sets the share of a project's limit, in percent, at which
// a push that takes usage across it records a QUOTA_WARNING event
// (default 85; 0 records none).
func WithWarnAt(percent int) Option { return func(s *Service) { s.warnAt = percent } }

// WithShards sets how many parts each project's usage counter is kept in
// (default 16): concurrent pushes of one instance into one project write
// different parts, so no push waits for another far from the limit.
func WithShards(n int) Option { return func(s *Service) { s.shards = n } }

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithLogger sets the logger that receives failures to record a
// QUOTA_EXCEED event (default: none).
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.logger = l } }

// New returns the quota service over store, the registry's metadata
// store.
func New(store meta.Store, opts ...Option) (*Service, error) {
	s := &Service{store: store, defaultLimit: Unlimited, warnAt: 85, shards: 16, now: time.Now,
		logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(s)
	}
	switch {
	case store == nil:
		return nil, errors.New("quota: New: nil store")
	case s.defaultLimit < Unlimited:
		return nil, fmt.Errorf("quota: New: WithDefaultLimit(%d): want -1 (unlimited) or a number of bytes", s.defaultLimit)
	case s.warnAt < 0 || s.warnAt > 100:
		return nil, fmt.Errorf("quota: New: WithWarnAt(%d): want a percentage from 0 to 100", s.warnAt)
	case s.shards < 1 || s.shards > 256:
		return nil, fmt.Errorf("quota: New: WithShards(%d): want 1 to 256", s.shards)
	}
	s.pool = newShardPool(s.shards)
	return s, nil
}

// Quota is a project's limit and usage.
type Quota struct {
	// Project is the project's name.
	Project string `json:"project"`
	// Limit is its storage limit in bytes (Unlimited: none).
	Limit int64 `json:"limit"`
	// Used is what its repositories hold, in bytes: each manifest and
	// each blob a manifest references counted once in the project.
	Used int64 `json:"used"`
	// UpdatedAt is when the limit was last set (zero: never).
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// ErrForbidden refuses a limit change to a caller that is not a system
// administrator.
var ErrForbidden = errors.New("quota: only a system administrator may set storage limits")

// ErrInvalid reports a limit that is neither -1 nor a number of bytes.
var ErrInvalid = errors.New("quota: invalid limit")

// SetLimit sets project's storage limit (Unlimited, or bytes; 0 refuses
// every push that adds anything). A limit below the project's usage is
// accepted: pushes that add to it are refused until deletes bring usage
// down. When ctx carries a principal (auth.WithPrincipal), it must be a
// system administrator; a Go caller without one is trusted.
func (s *Service) SetLimit(ctx context.Context, project string, bytes int64) (Quota, error) {
	if p, ok := auth.PrincipalFrom(ctx); ok && !p.Admin {
		return Quota{}, ErrForbidden
	}
	if bytes < Unlimited {
		return Quota{}, fmt.Errorf("%w: %d: want -1 (unlimited) or a number of bytes", ErrInvalid, bytes)
	}
	if project == "" {
		return Quota{}, fmt.Errorf("%w: empty project name", ErrInvalid)
	}
	var q Quota
	err := s.store.Update(ctx, func(tx meta.Tx) error {
		lim := Limit{Project: project, Bytes: bytes, UpdatedAt: s.now().UTC()}
		if err := limits.In(tx).Put(lim); err != nil {
			return err
		}
		a := &account{s: s, ctx: ctx, tx: tx, part: fixedPart(0)}
		used, err := a.rebalance(project, lim, 0)
		q = Quota{Project: project, Limit: bytes, Used: used, UpdatedAt: lim.UpdatedAt}
		return err
	})
	return q, err
}

// KeepDefault gives project the default limit as it is now, unless it
// has a limit already, so that a later change of the default leaves it
// be. Anyone may call it: it sets nothing an operator did not.
func (s *Service) KeepDefault(ctx context.Context, project string) error {
	if project == "" {
		return fmt.Errorf("%w: empty project name", ErrInvalid)
	}
	return s.store.Update(ctx, func(tx meta.Tx) error {
		if _, err := limits.In(tx).Get(limitKey(project)); !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		lim := Limit{Project: project, Bytes: s.defaultLimit, UpdatedAt: s.now().UTC()}
		if err := limits.In(tx).Put(lim); err != nil {
			return err
		}
		_, err := (&account{s: s, ctx: ctx, tx: tx, part: fixedPart(0)}).rebalance(project, lim, 0)
		return err
	})
}

// Get returns project's limit and usage.
func (s *Service) Get(ctx context.Context, project string) (Quota, error) {
	var q Quota
	err := s.store.View(ctx, func(tx meta.Tx) error {
		var err error
		q, err = s.quotaIn(tx, project)
		return err
	})
	return q, err
}

// quotaIn reads project's limit and usage in tx.
func (s *Service) quotaIn(tx meta.Tx, project string) (Quota, error) {
	lim, err := s.limitIn(tx, project)
	if err != nil {
		return Quota{}, err
	}
	all, err := shardsIn(tx, project)
	if err != nil {
		return Quota{}, err
	}
	return Quota{Project: project, Limit: lim.Bytes, Used: all.used(), UpdatedAt: lim.UpdatedAt}, nil
}

// limitIn is project's limit record, or the default limit when it has
// none yet.
func (s *Service) limitIn(tx meta.Tx, project string) (Limit, error) {
	lim, err := limits.In(tx).Get(limitKey(project))
	if errors.Is(err, meta.ErrNotFound) {
		return Limit{Project: project, Bytes: s.defaultLimit}, nil
	}
	return lim, err
}

// decodeLimit decodes project's limit record as read (nil: none yet,
// the default limit).
func (s *Service) decodeLimit(project string, raw []byte) (Limit, error) {
	if raw == nil {
		return Limit{Project: project, Bytes: s.defaultLimit}, nil
	}
	var lim Limit
	if err := json.Unmarshal(raw, &lim); err != nil {
		return lim, fmt.Errorf("quota: limit of %s: %w", project, err)
	}
	return lim, nil
}

// DeleteProject deletes what the service keeps of project: its limit,
// usage and marks. accounts.WithProjectCleanup runs it when a project is
// deleted, so a project re-created under the name starts afresh.
func (s *Service) DeleteProject(tx meta.Tx, project string, _ time.Time) error {
	r := tx.Records(Kind)
	if err := r.Delete(limitKey(project)); err != nil && !errors.Is(err, meta.ErrNotFound) {
		return err
	}
	for _, prefix := range []string{shardPrefix(project), markPrefix(project), holdersOf(project)} {
		recs, err := meta.RecordsWithPrefix(r, prefix, 0)
		if err != nil {
			return err
		}
		for _, rec := range recs {
			if err := r.Delete(rec.Key); err != nil {
				return err
			}
		}
	}
	return nil
}
