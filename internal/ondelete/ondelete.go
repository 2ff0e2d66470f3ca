// Package ondelete wraps a metadata store so that the manifests and
// repositories deleted through its Update transactions also drop what a
// feature keeps of them, in the deleting transaction: whoever deletes
// (the registry, retention, garbage collection, a proxy cache's expiry,
// the artifact service) then needs no hook of the feature's.
package ondelete

import (
	"context"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// Funcs are a feature's cleanups; either may be nil.
type Funcs struct {
	// Manifest runs after Manifests.Delete(repo, d) succeeded.
	Manifest func(tx meta.Tx, repo string, d digest.Digest) error
	// Repository runs after Repositories.Delete(repo) succeeded.
	Repository func(tx meta.Tx, repo string) error
}

// Wrap returns store running f on its Update transactions' deletions.
// Views read the store as it is; Close does nothing (the caller closes
// store). The store is a pointer, comparable as stores are compared.
func Wrap(store meta.Store, f Funcs) meta.Store { return &wrapped{Store: store, f: f} }

type wrapped struct {
	meta.Store
	f Funcs
}

func (s *wrapped) Update(ctx context.Context, fn func(meta.Tx) error) error {
	return s.Store.Update(ctx, func(tx meta.Tx) error { return fn(wrappedTx{Tx: tx, f: s.f}) })
}

func (*wrapped) Close() error { return nil }

type wrappedTx struct {
	meta.Tx
	f Funcs
}

func (t wrappedTx) Manifests() meta.Manifests {
	return manifests{Manifests: t.Tx.Manifests(), tx: t.Tx, f: t.f.Manifest}
}

func (t wrappedTx) Repositories() meta.Repositories {
	return repositories{Repositories: t.Tx.Repositories(), tx: t.Tx, f: t.f.Repository}
}

type manifests struct {
	meta.Manifests
	tx meta.Tx
	f  func(tx meta.Tx, repo string, d digest.Digest) error
}

func (m manifests) Delete(repo string, d digest.Digest) error {
	if err := m.Manifests.Delete(repo, d); err != nil || m.f == nil {
		return err
	}
	return m.f(m.tx, repo, d)
}

type repositories struct {
	meta.Repositories
	tx meta.Tx
	f  func(tx meta.Tx, repo string) error
}

func (r repositories) Delete(name string) error {
	if err := r.Repositories.Delete(name); err != nil || r.f == nil {
		return err
	}
	return r.f(r.tx, name)
}
