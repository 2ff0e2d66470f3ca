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
// keeps the referrers index, the parents of rec's children, the artifact
// index and the counters in step with it. What can fail for a reason of
// the data (a digest too long for a key, a record that does not decode)
// fails before anything is written; the cost grows with the number of
// children rec lists (and its replaced record listed) only.
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
	if err == nil {
		err = checkKeyDigests(rec)
	}
	if err != nil {
		return fmt.Errorf("meta/bolt: put manifest %s in %q: %w", rec.Digest, repo, err)
	}
	mb, ib := rb.Bucket(bucketManifests), rb.Bucket(bucketReferrers)
	xb, pb := rb.Bucket(bucketByPush), rb.Bucket(bucketParents)
	old, found, err := getManifest(mb, rec.Digest)
	if err != nil {
		return fmt.Errorf("meta/bolt: put manifest %s in %q: replaced record: %w", rec.Digest, repo, err)
	}
	st, err := readStats(rb)
	if err != nil {
		return fmt.Errorf("meta/bolt: put manifest %s in %q: %w", rec.Digest, repo, err)
	}
	// The children rec lists anew, and those its replaced record listed
	// that it does not, with the records of those that exist.
	kids := children(rec)
	var oldKids []digest.Digest
	if found {
		oldKids = children(old)
	}
	added, gone := without(kids, oldKids), without(oldKids, kids)
	addedRecs, err := existing(mb, added, rec.Digest)
	var goneRecs []meta.Manifest
	if err == nil {
		goneRecs, err = existing(mb, gone, rec.Digest)
	}
	if err != nil {
		return fmt.Errorf("meta/bolt: put manifest %s in %q: %w", rec.Digest, repo, err)
	}

	key := digestKey(rec.Digest)
	if !found {
		st.manifests++
	} else {
		if old.Subject != "" && old.Subject != rec.Subject {
			if err := del(ib, indexKey(old.Subject, key)); err != nil {
				return err
			}
		}
		if err := unindexArtifact(xb, old, &st); err != nil {
			return err
		}
	}
	for _, c := range gone {
		if err := del(pb, parentKey(c, rec.Digest)); err != nil {
			return err
		}
	}
	for _, c := range added {
		if err := pb.Put(parentKey(c, rec.Digest), nil); err != nil {
			return fmt.Errorf("meta/bolt: put manifest %s in %q: parent of %s: %w", rec.Digest, repo, c, err)
		}
	}
	// A child listed anew has a parent now; one no longer listed is an
	// artifact again when nothing else lists it.
	for _, c := range addedRecs {
		if err := unindexArtifact(xb, c, &st); err != nil {
			return err
		}
	}
	for _, c := range goneRecs {
		if c.IsArtifact(hasParent(pb, c.Digest)) {
			if err := indexArtifact(xb, c, &st); err != nil {
				return err
			}
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
	if rec.IsArtifact(hasParent(pb, rec.Digest)) {
		if err := indexArtifact(xb, rec, &st); err != nil {
			return err
		}
	}
	if err := writeStats(rb, st); err != nil {
		return err
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

// Delete removes the manifest, its referrers-index and artifact-index
// entries, its children's parent links (a child no other manifest lists
// is an artifact again) and every tag pointing at it; the cost grows with
// the number of those tags and children only.
func (m manifests) Delete(repo string, d digest.Digest) error {
	if err := m.t.writable("delete manifest"); err != nil {
		return err
	}
	rec, err := m.get(repo, d)
	if err != nil {
		return err
	}
	rb, _ := m.t.repo(repo)
	mb, xb, pb := rb.Bucket(bucketManifests), rb.Bucket(bucketByPush), rb.Bucket(bucketParents)
	st, err := readStats(rb)
	kids := children(rec)
	var kidRecs []meta.Manifest
	if err == nil {
		kidRecs, err = existing(mb, kids, d)
	}
	if err != nil {
		return fmt.Errorf("meta/bolt: delete manifest %s in %q: %w", d, repo, err)
	}
	untagged, err := untagAll(rb, d)
	if err != nil {
		return err
	}
	st.tags -= int64(untagged)
	st.manifests--
	key := digestKey(d)
	if rec.Subject != "" {
		if err := del(rb.Bucket(bucketReferrers), indexKey(rec.Subject, key)); err != nil {
			return err
		}
	}
	if err := unindexArtifact(xb, rec, &st); err != nil {
		return err
	}
	for _, c := range kids {
		if err := del(pb, parentKey(c, d)); err != nil {
			return err
		}
	}
	for _, c := range kidRecs {
		if c.IsArtifact(hasParent(pb, c.Digest)) {
			if err := indexArtifact(xb, c, &st); err != nil {
				return err
			}
		}
	}
	if err := del(mb, key); err != nil {
		return err
	}
	return writeStats(rb, st)
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
