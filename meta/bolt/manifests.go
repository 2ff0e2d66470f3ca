package bolt

import (
	"errors"
	"fmt"
	"slices"

	"github.com/opencontainers/go-digest"
	bbolt "go.etcd.io/bbolt"

	"github.com/berthreg/berth/meta"
)

// manifests is the meta.Manifests view of a tx.
type manifests struct{ t *tx }

// getManifest returns the manifest record d of the manifests bucket mb;
// found is false if there is none.
func getManifest(mb *bbolt.Bucket, d digest.Digest) (meta.Manifest, bool, error) {
	return getRecord(mb, digestKey(d), func(raw []byte) (meta.Manifest, error) {
		return decodeManifest(d, raw)
	})
}

// get returns the manifest record d of repo, or meta.ErrNotFound.
func (m manifests) get(repo string, d digest.Digest) (meta.Manifest, error) {
	mb, err := m.t.repoSub(repo, bucketManifests)
	if err != nil {
		return meta.Manifest{}, err
	}
	rec, found, err := getManifest(mb, d)
	switch {
	case err != nil:
		return meta.Manifest{}, fmt.Errorf("meta/bolt: manifest %s in %q: %w", d, repo, err)
	case !found:
		return meta.Manifest{}, fmt.Errorf("meta/bolt: manifest %s in %q: %w", d, repo, meta.ErrNotFound)
	}
	return rec, nil
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
	raw, err := encodeManifest(rec)
	if err != nil {
		return fmt.Errorf("meta/bolt: put manifest %s in %q: %w", rec.Digest, repo, err)
	}
	mb, ib := rb.Bucket(bucketManifests), rb.Bucket(bucketReferrers)
	old, found, err := getManifest(mb, rec.Digest)
	if err != nil {
		return fmt.Errorf("meta/bolt: put manifest %s in %q: replaced record: %w", rec.Digest, repo, err)
	}
	key := digestKey(rec.Digest)
	if found && old.Subject != "" && old.Subject != rec.Subject {
		if err := del(ib, indexKey(old.Subject, key)); err != nil {
			return err
		}
	}
	if err := mb.Put(key, raw); err != nil {
		return fmt.Errorf("meta/bolt: put manifest %s in %q: %w", rec.Digest, repo, err)
	}
	if rec.Subject != "" {
		if err := ib.Put(indexKey(rec.Subject, key), nil); err != nil {
			return fmt.Errorf("meta/bolt: index referrer %s: %w", rec.Digest, err)
		}
	}
	refs := []digest.Digest{rec.Digest, rec.Subject, rec.Config.Digest}
	for _, l := range rec.Layers {
		refs = append(refs, l.Digest)
	}
	for _, c := range rec.Manifests {
		refs = append(refs, c.Digest)
	}
	return m.t.touch(refs...)
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
	key := digestKey(d)
	if rec.Subject != "" {
		if err := del(rb.Bucket(bucketReferrers), indexKey(rec.Subject, key)); err != nil {
			return err
		}
	}
	return del(rb.Bucket(bucketManifests), key)
}

// Referrers returns the manifests in repo whose subject is subject, in
// lexical order of their digests.
func (m manifests) Referrers(repo string, subject digest.Digest) ([]meta.Manifest, error) {
	if err := m.t.live(); err != nil {
		return nil, err
	}
	ib, err := m.t.repoSub(repo, bucketReferrers)
	if err != nil {
		return nil, err
	}
	var refs []digest.Digest
	err = scanPrefix(ib, digestPrefix(subject), func(suffix []byte) error {
		ref, err := parseDigestKey(suffix)
		refs = append(refs, ref)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("meta/bolt: referrers index of %s in %q: %w", subject, repo, err)
	}
	// Key order is lexical order unless literals are mixed in (see digests.go).
	slices.Sort(refs)
	var out []meta.Manifest
	for _, ref := range refs {
		rec, err := m.get(repo, ref)
		if err != nil {
			return nil, fmt.Errorf("meta/bolt: referrers index of %s in %q: %w", subject, repo, err)
		}
		out = append(out, rec)
	}
	return out, nil
}

// List returns up to limit manifest digests of repo sorting after "after",
// in lexical order (see listDigests).
func (m manifests) List(repo string, after digest.Digest, limit int) ([]digest.Digest, error) {
	if err := m.t.live(); err != nil {
		return nil, err
	}
	mb, err := m.t.repoSub(repo, bucketManifests)
	if err != nil {
		return nil, err
	}
	out, err := listDigests(mb, string(after), limit)
	if err != nil {
		return nil, fmt.Errorf("meta/bolt: manifests of %q: %w", repo, err)
	}
	return out, nil
}
