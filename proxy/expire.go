package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/retention"
)

// ExpireJobKind is the kind of the jobs that remove what the caches hold
// and nobody pulled lately (Service.ExpireJob).
const ExpireJobKind = "proxy.expire"

// DefaultExpireAfter is how long a cached artifact stays without a pull
// (Harbor's 7 days).
const DefaultExpireAfter = 7 * 24 * time.Hour

// ExpireResult is what an expiry removed.
type ExpireResult struct {
	// Projects counts the caches looked at.
	Projects int `json:"projects"`
	// Manifests counts the manifests removed; their blobs go with the
	// next garbage collection.
	Manifests int `json:"manifests"`
}

// Expire removes, from every cache, the manifests neither fetched nor
// pulled (as package retention's PullTimes records pulls) for after, and
// their tags: what a pull asks for again is fetched again. Each
// repository is a transaction of its own, through the Service's store
// (so a quota gives the space back).
func (s *Service) Expire(ctx context.Context, after time.Duration) (ExpireResult, error) {
	var res ExpireResult
	var caches []Settings
	err := s.store.View(ctx, func(tx meta.Tx) error {
		var err error
		caches, err = settings.In(tx).List("", 0)
		return err
	})
	if err != nil {
		return res, err
	}
	cutoff := s.now().Add(-after)
	for _, st := range caches {
		res.Projects++
		var repos []string
		if err := s.store.View(ctx, func(tx meta.Tx) error {
			var err error
			repos, err = meta.RepositoriesWithPrefix(tx, st.Project+"/")
			return err
		}); err != nil {
			return res, err
		}
		for _, repo := range repos {
			n, err := s.expireRepo(ctx, repo, cutoff)
			res.Manifests += n
			if err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

// expireRepo removes repo's manifests last used before cutoff.
func (s *Service) expireRepo(ctx context.Context, repo string, cutoff time.Time) (int, error) {
	var removed int
	err := s.store.Update(ctx, func(tx meta.Tx) error {
		removed = 0
		var after digest.Digest
		for {
			page, err := tx.Manifests().List(repo, after, 256)
			if err != nil {
				return err
			}
			pulled, err := retention.PullTimesIn(tx, repo, page)
			if err != nil {
				return err
			}
			for _, d := range page {
				m, err := tx.Manifests().Get(repo, d)
				if errors.Is(err, meta.ErrNotFound) {
					continue // gone with a subject deleted before it
				}
				if err != nil {
					return err
				}
				if m.PushedAt.After(cutoff) || pulled[d].After(cutoff) {
					continue
				}
				if err := tx.Manifests().Delete(repo, d); err != nil && !errors.Is(err, meta.ErrNotFound) {
					return err
				}
				removed++
			}
			if len(page) < 256 {
				return nil
			}
			after = page[len(page)-1]
		}
	})
	if removed > 0 {
		s.forgetChecked(repo)
		s.logger.InfoContext(ctx, "proxy: expired cached manifests", "repository", repo, "removed", removed)
	}
	return removed, err
}

// ExpirePayload says how long an expiry job keeps what was not pulled
// (0: DefaultExpireAfter).
type ExpirePayload struct {
	After time.Duration `json:"after,omitempty"`
}

// ExpireJob returns the jobs.Handler of ExpireJobKind: it runs Expire
// with the payload's age and keeps the ExpireResult as the job's result.
func (s *Service) ExpireJob() jobs.Handler {
	return jobs.HandlerFunc(func(ctx context.Context, j meta.Job) error {
		var p ExpirePayload
		if len(j.Payload) > 0 {
			if err := json.Unmarshal(j.Payload, &p); err != nil {
				return jobs.Permanent(fmt.Errorf("proxy: job %d: bad payload: %w", j.ID, err))
			}
		}
		if p.After <= 0 {
			p.After = DefaultExpireAfter
		}
		res, err := s.Expire(ctx, p.After)
		if err != nil {
			return err
		}
		q, err := jobs.NewQueue(s.store)
		if err != nil {
			return err
		}
		return q.SetResult(context.WithoutCancel(ctx), j.ID, res)
	})
}
