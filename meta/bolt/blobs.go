package bolt

import (
	"errors"
	"fmt"

	"github.com/opencontainers/go-digest"
	bbolt "go.etcd.io/bbolt"

	"github.com/berthreg/berth/meta"
)

// blobs is the meta.Blobs view of a tx.
type blobs struct{ t *tx }

// getBlob returns the blob record at digestKey(d) in b; found is false if
// there is none.
func getBlob(b *bbolt.Bucket, d digest.Digest) (meta.Blob, bool, error) {
	return getRecord(b, digestKey(d), func(raw []byte) (meta.Blob, error) {
		return decodeBlob(d, raw)
	})
}

// Stat returns the registry-wide record of blob d, or meta.ErrNotFound.
func (b blobs) Stat(d digest.Digest) (meta.Blob, error) {
	if err := b.t.live(); err != nil {
		return meta.Blob{}, err
	}
	rec, found, err := getBlob(b.t.top(bucketBlobs), d)
	switch {
	case err != nil:
		return meta.Blob{}, fmt.Errorf("meta/bolt: blob %s: %w", d, err)
	case !found:
		return meta.Blob{}, fmt.Errorf("meta/bolt: blob %s: %w", d, meta.ErrNotFound)
	}
	return rec, nil
}

// Link records rec registry-wide and links it into repo, keeping whichever
// of the two records already exists.
func (b blobs) Link(repo string, rec meta.Blob) error {
	if err := b.t.writable("link blob"); err != nil {
		return err
	}
	if rec.Digest == "" {
		return errors.New("meta/bolt: link blob: empty digest")
	}
	lb, err := b.t.repoSub(repo, bucketLinks)
	if err != nil {
		return err
	}
	raw, err := encodeBlob(rec)
	if err != nil {
		return fmt.Errorf("meta/bolt: link blob %s: %w", rec.Digest, err)
	}
	key := digestKey(rec.Digest)
	gb := b.t.top(bucketBlobs)
	fresh := gb.Get(key) == nil // new, or tombstoned: this link's record replaces the dead one's
	if fresh {
		if err := gb.Put(key, raw); err != nil {
			return fmt.Errorf("meta/bolt: put blob %s: %w", rec.Digest, err)
		}
	}
	if lb.Get(key) == nil || fresh {
		if err := lb.Put(key, raw); err != nil {
			return fmt.Errorf("meta/bolt: link blob %s into %q: %w", rec.Digest, repo, err)
		}
	}
	return b.t.touch(rec.Digest)
}

// Linked returns blob d as linked into repo, or meta.ErrNotFound. It never
// consults another repository: a link elsewhere does not make d readable
// here.
func (b blobs) Linked(repo string, d digest.Digest) (meta.Blob, error) {
	if err := b.t.live(); err != nil {
		return meta.Blob{}, err
	}
	lb, err := b.t.repoSub(repo, bucketLinks)
	if err != nil {
		return meta.Blob{}, err
	}
	rec, found, err := getBlob(lb, d)
	switch {
	case err != nil:
		return meta.Blob{}, fmt.Errorf("meta/bolt: blob %s in %q: %w", d, repo, err)
	case !found || b.t.top(bucketBlobs).Get(digestKey(d)) == nil: // tombstoned since
		return meta.Blob{}, fmt.Errorf("meta/bolt: blob %s in %q: %w", d, repo, meta.ErrNotFound)
	}
	return rec, nil
}

// Unlinked returns the digests of ds that Linked does not find in repo.
func (b blobs) Unlinked(repo string, ds []digest.Digest) ([]digest.Digest, error) {
	var out []digest.Digest
	for _, d := range ds {
		_, err := b.Linked(repo, d)
		switch {
		case errors.Is(err, meta.ErrNotFound):
			out = append(out, d)
		case err != nil:
			return nil, err
		}
	}
	return out, nil
}

// Unlink removes the link of d from repo; the registry-wide record stays.
func (b blobs) Unlink(repo string, d digest.Digest) error {
	if err := b.t.writable("unlink blob"); err != nil {
		return err
	}
	lb, err := b.t.repoSub(repo, bucketLinks)
	if err != nil {
		return err
	}
	key := digestKey(d)
	if lb.Get(key) == nil {
		return fmt.Errorf("meta/bolt: blob %s in %q: %w", d, repo, meta.ErrNotFound)
	}
	return del(lb, key)
}

// List returns up to limit registry-wide blob records after "after", in
// lexical digest order.
func (b blobs) List(after digest.Digest, limit int) ([]meta.Blob, error) {
	if err := b.t.live(); err != nil {
		return nil, err
	}
	gb := b.t.top(bucketBlobs)
	ds, err := listDigests(gb, string(after), limit)
	if err != nil {
		return nil, fmt.Errorf("meta/bolt: list blobs: %w", err)
	}
	out := make([]meta.Blob, 0, len(ds))
	for _, d := range ds {
		rec, found, err := getBlob(gb, d)
		if err != nil || !found {
			return out, fmt.Errorf("meta/bolt: list blobs: %s: record vanished or corrupt (%v)", d, err)
		}
		out = append(out, rec)
	}
	return out, nil
}
