package bolt

import (
	"errors"
	"fmt"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// manifests is the meta.Manifests view of a tx.
type manifests struct{ t *tx }

// get returns the manifest record d of repo, or meta.ErrNotFound.
func (m manifests) get(repo string, d digest.Digest) (meta.Manifest, error) {
	mb, err := m.t.repoSub(repo, bucketManifests)
	if err != nil {
		return meta.Manifest{}, err
	}
	var rec meta.Manifest
	found, err := getJSON(mb, []byte(d), &rec)
	if err == nil && !found {
		err = fmt.Errorf("meta/bolt: manifest %s in %q: %w", d, repo, meta.ErrNotFound)
	}
	return rec, err
}

// Get returns the manifest with digest d in repo, or meta.ErrNotFound.
func (m manifests) Get(repo string, d digest.Digest) (meta.Manifest, error) {
	if err := m.t.live(); err != nil {
		return meta.Manifest{}, err
	}
	return m.get(repo, d)
}

// Put records rec in repo, replacing a record with the same digest, and
// keeps the referrers index in step with the record's subject.
func (m manifests) Put(repo string, rec meta.Manifest) error {
	if err := m.t.writable("put manifest"); err != nil {
		return err
	}
	if rec.Digest == "" {
		return errors.New("meta/bolt: put manifest: empty digest")
	}
	rb, err := m.t.repo(repo)
	if err != nil {
		return err
	}
	mb, ib := rb.Bucket(bucketManifests), rb.Bucket(bucketReferrers)
	var old meta.Manifest
	found, err := getJSON(mb, []byte(rec.Digest), &old)
	if err != nil {
		return err
	}
	if found && old.Subject != "" && old.Subject != rec.Subject {
		if err := del(ib, pairKey(string(old.Subject), string(rec.Digest))); err != nil {
			return err
		}
	}
	if err := putJSON(mb, []byte(rec.Digest), rec); err != nil {
		return err
	}
	if rec.Subject != "" {
		if err := ib.Put(pairKey(string(rec.Subject), string(rec.Digest)), nil); err != nil {
			return fmt.Errorf("meta/bolt: index referrer %s: %w", rec.Digest, err)
		}
	}
	return nil
}

// Delete removes the manifest, its referrers-index entry and every tag
// pointing at it; the cost grows with the number of those tags only.
func (m manifests) Delete(repo string, d digest.Digest) error {
	if err := m.t.writable("delete manifest"); err != nil {
		return err
	}
	rec, err := m.get(repo, d)
	if err != nil {
		return err
	}
	rb, _ := m.t.repo(repo)
	if err := untagAll(rb, d); err != nil {
		return err
	}
	if rec.Subject != "" {
		if err := del(rb.Bucket(bucketReferrers), pairKey(string(rec.Subject), string(d))); err != nil {
			return err
		}
	}
	return del(rb.Bucket(bucketManifests), []byte(d))
}

// Referrers returns the manifests in repo whose subject is subject, in
// digest order.
func (m manifests) Referrers(repo string, subject digest.Digest) ([]meta.Manifest, error) {
	if err := m.t.live(); err != nil {
		return nil, err
	}
	ib, err := m.t.repoSub(repo, bucketReferrers)
	if err != nil {
		return nil, err
	}
	var out []meta.Manifest
	for _, ref := range suffixes(ib, string(subject)) {
		rec, err := m.get(repo, digest.Digest(ref))
		if err != nil {
			return nil, fmt.Errorf("meta/bolt: referrers index of %s in %q: %w", subject, repo, err)
		}
		out = append(out, rec)
	}
	return out, nil
}

// List returns up to limit manifest digests of repo after "after".
func (m manifests) List(repo string, after digest.Digest, limit int) ([]digest.Digest, error) {
	if err := m.t.live(); err != nil {
		return nil, err
	}
	mb, err := m.t.repoSub(repo, bucketManifests)
	if err != nil {
		return nil, err
	}
	var out []digest.Digest
	err = page(mb, string(after), limit, func(k, _ []byte) error {
		out = append(out, digest.Digest(k))
		return nil
	})
	return out, err
}
