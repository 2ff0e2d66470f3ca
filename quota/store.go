package quota

import (
	"context"
	"errors"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/meta"
)

// Store returns the metadata store through which every change is
// counted: its Update transactions count each manifest put into a
// project (and what it references) against the project's limit,
// refusing a put that would exceed it with an *ExceededError, and give
// back what deleting a manifest or a repository frees, in the same
// transaction. Views read the store as it is. Close does nothing: the
// store stays the caller's to close.
func (s *Service) Store() meta.Store { return countingStore{s: s} }

type countingStore struct{ s *Service }

func (c countingStore) View(ctx context.Context, fn func(meta.Tx) error) error {
	return c.s.store.View(ctx, fn)
}

func (c countingStore) Update(ctx context.Context, fn func(meta.Tx) error) error {
	part := &partLease{pool: c.s.pool}
	var refused *ExceededError
	fill := meta.IsFill(ctx)
	err := c.s.store.Update(ctx, func(tx meta.Tx) error {
		a := &account{s: c.s, ctx: ctx, tx: tx, part: part, fill: fill}
		err := fn(countingTx{Tx: tx, a: a})
		refused = nil
		errors.As(err, &refused)
		return err
	})
	part.release()
	if refused != nil {
		c.s.recordExceeded(ctx, refused)
	}
	return err
}

func (c countingStore) Close() error { return nil }

// recordExceeded appends a QUOTA_EXCEED event for a refused push, in a
// transaction of its own (the push's rolled back).
func (s *Service) recordExceeded(ctx context.Context, e *ExceededError) {
	ev := quotaEvent(ctx, events.QuotaExceed, e.Project, e.Repository, e.Digest, e.Limit, e.Usage, e.Adding, s.now())
	err := s.store.Update(context.WithoutCancel(ctx), func(tx meta.Tx) error {
		_, err := tx.Events().Append(ev)
		return err
	})
	if err != nil {
		s.logger.Warn("quota: recording a refused push", "project", e.Project, "repository", e.Repository, "err", err)
	}
}

// countingTx is a transaction whose manifest and repository writes are
// counted.
type countingTx struct {
	meta.Tx
	a *account
}

func (t countingTx) Manifests() meta.Manifests {
	return countingManifests{Manifests: t.Tx.Manifests(), a: t.a}
}

// Blobs counts, in a fill (meta.MarkFill), the blobs linked that
// manifests already hold; other transactions' links count nothing (a
// blob counts once a manifest holds it).
func (t countingTx) Blobs() meta.Blobs {
	if !t.a.fill {
		return t.Tx.Blobs()
	}
	return countingBlobs{Blobs: t.Tx.Blobs(), a: t.a}
}

type countingBlobs struct {
	meta.Blobs
	a *account
}

func (b countingBlobs) Link(repo string, blob meta.Blob) error {
	if err := b.Blobs.Link(repo, blob); err != nil {
		return err
	}
	return b.a.filled(repo, blob)
}

func (t countingTx) Repositories() meta.Repositories {
	return countingRepositories{Repositories: t.Tx.Repositories(), a: t.a}
}

type countingManifests struct {
	meta.Manifests
	a *account
}

func (m countingManifests) Put(repo string, man meta.Manifest) error {
	if err := m.a.hold(repo, man); err != nil {
		return err
	}
	return m.Manifests.Put(repo, man)
}

func (m countingManifests) Delete(repo string, d digest.Digest) error {
	man, err := m.Manifests.Get(repo, d)
	if err != nil {
		return err
	}
	if err := m.a.drop(repo, man); err != nil {
		return err
	}
	return m.Manifests.Delete(repo, d)
}

type countingRepositories struct {
	meta.Repositories
	a *account
}

func (r countingRepositories) Delete(name string) error {
	ms := r.a.tx.Manifests()
	var after digest.Digest
	for {
		page, err := ms.List(name, after, 256)
		if err != nil {
			return err
		}
		for _, d := range page {
			man, err := ms.Get(name, d)
			if err != nil {
				return err
			}
			if err := r.a.drop(name, man); err != nil {
				return err
			}
		}
		if len(page) < 256 {
			break
		}
		after = page[len(page)-1]
	}
	return r.Repositories.Delete(name)
}
