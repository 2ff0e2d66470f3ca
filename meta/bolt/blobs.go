package bolt

import (
	"errors"
	"fmt"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// blobs is the meta.Blobs view of a tx.
type blobs struct{ t *tx }

// Stat returns the registry-wide record of blob d, or meta.ErrNotFound.
func (b blobs) Stat(d digest.Digest) (meta.Blob, error) {
	if err := b.t.live(); err != nil {
		return meta.Blob{}, err
	}
	var rec meta.Blob
	found, err := getJSON(b.t.top(bucketBlobs), []byte(d), &rec)
	if err == nil && !found {
		err = fmt.Errorf("meta/bolt: blob %s: %w", d, meta.ErrNotFound)
	}
	return rec, err
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
	key := []byte(rec.Digest)
	if gb := b.t.top(bucketBlobs); gb.Get(key) == nil {
		if err := putJSON(gb, key, rec); err != nil {
			return err
		}
	}
	if lb.Get(key) == nil {
		return putJSON(lb, key, rec)
	}
	return nil
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
	var rec meta.Blob
	found, err := getJSON(lb, []byte(d), &rec)
	if err == nil && !found {
		err = fmt.Errorf("meta/bolt: blob %s in %q: %w", d, repo, meta.ErrNotFound)
	}
	return rec, err
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
	if lb.Get([]byte(d)) == nil {
		return fmt.Errorf("meta/bolt: blob %s in %q: %w", d, repo, meta.ErrNotFound)
	}
	return del(lb, []byte(d))
}
