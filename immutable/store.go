package immutable

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/registry/naming"
)

// ErrImmutable is what an *ImmutableError matches with errors.Is.
var ErrImmutable = errors.New("immutable: tag is immutable")

// ImmutableError refuses a change to an immutable tag. It also matches a
// *registry.Error (412 DENIED, as Harbor answers).
type ImmutableError struct {
	// Repository and Tag name the immutable tag.
	Repository, Tag string
	// Change says what was refused: "moved", "deleted", or "deleted with
	// its manifest".
	Change string
}

// Error says what was refused and why.
func (e *ImmutableError) Error() string {
	return fmt.Sprintf("immutable: tag %s:%s is immutable and cannot be %s", e.Repository, e.Tag, e.Change)
}

// Unwrap makes the error match ErrImmutable and a *registry.Error.
func (e *ImmutableError) Unwrap() []error {
	return []error{ErrImmutable, registry.NewError(http.StatusPreconditionFailed, registry.CodeDenied, "%s", e.Error())}
}

// Store returns the store New was given, with immutability enforced in
// its Update transactions: Tags.Put refuses to move an immutable tag to
// another manifest (creating it, or putting it again on its manifest, is
// fine), Tags.Delete refuses to delete one, Manifests.Delete refuses
// to delete a manifest an immutable tag points at, and
// Repositories.Delete a repository holding one, each with an
// *ImmutableError. Whoever writes through it (the registry, the API,
// retention, replication into the project) is held to the rules. Views
// read the store as it is; Close does nothing.
func (s *Service) Store() meta.Store { return guardedStore{s: s} }

type guardedStore struct{ s *Service }

func (g guardedStore) View(ctx context.Context, fn func(meta.Tx) error) error {
	return g.s.store.View(ctx, fn)
}

func (g guardedStore) Update(ctx context.Context, fn func(meta.Tx) error) error {
	return g.s.store.Update(ctx, func(tx meta.Tx) error { return fn(guardedTx{Tx: tx, s: g.s}) })
}

func (g guardedStore) Close() error { return nil }

type guardedTx struct {
	meta.Tx
	s *Service
}

func (t guardedTx) Tags() meta.Tags { return guardedTags{Tags: t.Tx.Tags(), tx: t.Tx, s: t.s} }

func (t guardedTx) Repositories() meta.Repositories {
	return guardedRepositories{Repositories: t.Tx.Repositories(), tx: t.Tx, s: t.s}
}

func (t guardedTx) Manifests() meta.Manifests {
	return guardedManifests{Manifests: t.Tx.Manifests(), tx: t.Tx, s: t.s}
}

type guardedTags struct {
	meta.Tags
	tx meta.Tx
	s  *Service
}

func (g guardedTags) Put(repo, tag string, d digest.Digest) error {
	if immutable, err := g.s.immutableIn(g.tx, repo, tag); err != nil || !immutable {
		if err != nil {
			return err
		}
		return g.Tags.Put(repo, tag, d)
	}
	old, err := g.Tags.Get(repo, tag)
	switch {
	case errors.Is(err, meta.ErrNotFound):
	case err != nil:
		return err
	case old != d:
		return &ImmutableError{Repository: repo, Tag: tag, Change: "moved"}
	}
	return g.Tags.Put(repo, tag, d)
}

func (g guardedTags) Delete(repo, tag string) error {
	immutable, err := g.s.immutableIn(g.tx, repo, tag)
	if err != nil {
		return err
	}
	if immutable {
		if _, err := g.Tags.Get(repo, tag); err != nil {
			return err // a missing tag stays not found
		}
		return &ImmutableError{Repository: repo, Tag: tag, Change: "deleted"}
	}
	return g.Tags.Delete(repo, tag)
}

type guardedRepositories struct {
	meta.Repositories
	tx meta.Tx
	s  *Service
}

// Delete refuses to delete a repository holding an immutable tag: the
// tag would go with it. Only a project with rules reads the tags.
func (g guardedRepositories) Delete(name string) error {
	rs, err := g.s.rulesIn(g.tx, naming.ProjectOf(name))
	if err != nil {
		return err
	}
	if len(rs) > 0 {
		tags, err := g.tx.Tags().List(name, "", 0)
		if err != nil && !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		for _, tag := range tags {
			immutable, err := g.s.immutableIn(g.tx, name, tag)
			if err != nil {
				return err
			}
			if immutable {
				return &ImmutableError{Repository: name, Tag: tag, Change: "deleted with its repository"}
			}
		}
	}
	return g.Repositories.Delete(name)
}

type guardedManifests struct {
	meta.Manifests
	tx meta.Tx
	s  *Service
}

func (g guardedManifests) Delete(repo string, d digest.Digest) error {
	rs, err := g.s.rulesIn(g.tx, naming.ProjectOf(repo))
	if err != nil {
		return err
	}
	if len(rs) > 0 {
		tags, err := g.tx.Tags().Of(repo, d)
		if err != nil {
			return err
		}
		for _, tag := range tags {
			immutable, err := g.s.immutableIn(g.tx, repo, tag)
			if err != nil {
				return err
			}
			if immutable {
				return &ImmutableError{Repository: repo, Tag: tag, Change: "deleted with its manifest"}
			}
		}
	}
	return g.Manifests.Delete(repo, d)
}
