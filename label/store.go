package label

import (
	"context"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// Forgetting returns store with attachments kept in step with every
// deletion made through it: in its Update transactions,
// Manifests.Delete also drops the manifest's attachments (Forget) and
// Repositories.Delete the repository's (ForgetRepository). Whoever
// deletes manifests through it (the registry, retention, garbage
// collection, a proxy cache's expiry, the artifact service) then needs no
// hook of its own. Views read the store as it is; Close does nothing.
func Forgetting(store meta.Store) meta.Store { return forgettingStore{store} }

type forgettingStore struct{ meta.Store }

func (s forgettingStore) Update(ctx context.Context, fn func(meta.Tx) error) error {
	return s.Store.Update(ctx, func(tx meta.Tx) error { return fn(forgettingTx{tx}) })
}

func (forgettingStore) Close() error { return nil }

type forgettingTx struct{ meta.Tx }

func (t forgettingTx) Manifests() meta.Manifests {
	return forgettingManifests{Manifests: t.Tx.Manifests(), tx: t.Tx}
}

func (t forgettingTx) Repositories() meta.Repositories {
	return forgettingRepositories{Repositories: t.Tx.Repositories(), tx: t.Tx}
}

type forgettingManifests struct {
	meta.Manifests
	tx meta.Tx
}

func (m forgettingManifests) Delete(repo string, d digest.Digest) error {
	if err := m.Manifests.Delete(repo, d); err != nil {
		return err
	}
	return Forget(m.tx, repo, d)
}

type forgettingRepositories struct {
	meta.Repositories
	tx meta.Tx
}

func (r forgettingRepositories) Delete(name string) error {
	if err := r.Repositories.Delete(name); err != nil {
		return err
	}
	return ForgetRepository(r.tx, name)
}
