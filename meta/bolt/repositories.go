package bolt

import (
	"errors"
	"fmt"
	"time"

	"github.com/berthreg/berth/meta"
)

// repositories is the meta.Repositories view of a tx.
type repositories struct{ t *tx }

// Get returns the repository, or meta.ErrNotFound.
func (r repositories) Get(name string) (meta.Repository, error) {
	if err := r.t.live(); err != nil {
		return meta.Repository{}, err
	}
	rb, err := r.t.repo(name)
	if err != nil {
		return meta.Repository{}, err
	}
	repo, found, err := getRecord(rb, keyRepo, func(raw []byte) (meta.Repository, error) {
		return decodeRepository(name, raw)
	})
	switch {
	case err != nil:
		return meta.Repository{}, fmt.Errorf("meta/bolt: repository %q: %w", name, err)
	case !found:
		return meta.Repository{}, fmt.Errorf("meta/bolt: repository %q has no record", name)
	}
	return repo, nil
}

// Ensure returns the repository, creating it (with CreatedAt now) first if
// it does not exist.
func (r repositories) Ensure(name string) (meta.Repository, bool, error) {
	if err := r.t.writable("ensure repository"); err != nil {
		return meta.Repository{}, false, err
	}
	repo, err := r.Get(name)
	if !errors.Is(err, meta.ErrNotFound) {
		return repo, false, err
	}
	if name == "" {
		return meta.Repository{}, false, errors.New("meta/bolt: empty repository name")
	}
	repo = meta.Repository{Name: name, CreatedAt: time.Now().UTC().Round(0)}
	if err := r.t.createRepo(repo); err != nil {
		return meta.Repository{}, false, err
	}
	return repo, true, nil
}

// createRepo creates the bucket of repository repo, which must not exist,
// with its sub-buckets, record and zero counters, and counts it.
func (t *tx) createRepo(repo meta.Repository) error {
	raw, err := encodeRepository(repo)
	if err != nil {
		return fmt.Errorf("meta/bolt: create repository %q: %w", repo.Name, err)
	}
	rb, err := t.top(bucketRepos).CreateBucket([]byte(repo.Name))
	if err != nil {
		return fmt.Errorf("meta/bolt: create repository %q: %w", repo.Name, err)
	}
	for _, sub := range repoSubBuckets {
		if _, err := rb.CreateBucket(sub); err != nil {
			return fmt.Errorf("meta/bolt: create repository %q: %w", repo.Name, err)
		}
	}
	if err := rb.Put(keyRepo, raw); err != nil {
		return fmt.Errorf("meta/bolt: create repository %q: %w", repo.Name, err)
	}
	if err := writeStats(rb, repoStats{}); err != nil {
		return fmt.Errorf("meta/bolt: create repository %q: %w", repo.Name, err)
	}
	if err := t.countRepository(repo.Name, 1); err != nil {
		return fmt.Errorf("meta/bolt: create repository %q: %w", repo.Name, err)
	}
	return nil
}

// Delete removes the repository's bucket and with it every tag, manifest,
// referrers-index and artifact-index entry, parent link, blob link and
// counter recorded in it, and uncounts it.
func (r repositories) Delete(name string) error {
	if err := r.t.writable("delete repository"); err != nil {
		return err
	}
	if _, err := r.t.repo(name); err != nil {
		return err
	}
	if err := r.t.countRepository(name, -1); err != nil {
		return fmt.Errorf("meta/bolt: delete repository %q: %w", name, err)
	}
	if err := r.t.top(bucketRepos).DeleteBucket([]byte(name)); err != nil {
		return fmt.Errorf("meta/bolt: delete repository %q: %w", name, err)
	}
	return nil
}

// List returns up to limit repository names sorting after "after".
func (r repositories) List(after string, limit int) ([]string, error) {
	if err := r.t.live(); err != nil {
		return nil, err
	}
	var names []string
	err := page(r.t.top(bucketRepos), []byte(after), limit, func(k, _ []byte) error {
		names = append(names, string(k))
		return nil
	})
	return names, err
}
