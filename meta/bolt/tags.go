package bolt

import (
	"errors"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// tags is the meta.Tags view of a tx.
type tags struct{ t *tx }

// Get returns the digest tag points at, or meta.ErrNotFound.
func (g tags) Get(repo, tag string) (digest.Digest, error) {
	if err := g.t.live(); err != nil {
		return "", err
	}
	tb, err := g.t.repoSub(repo, bucketTags)
	if err != nil {
		return "", err
	}
	v := tb.Get([]byte(tag))
	if v == nil {
		return "", fmt.Errorf("meta/bolt: tag %q in %q: %w", tag, repo, meta.ErrNotFound)
	}
	return digest.Digest(v), nil
}

// Put points tag at d (which must be a manifest of repo), replacing any
// earlier target and its reverse-index entry.
func (g tags) Put(repo, tag string, d digest.Digest) error {
	if err := g.t.writable("put tag"); err != nil {
		return err
	}
	if tag == "" {
		return errors.New("meta/bolt: put tag: empty tag")
	}
	rb, err := g.t.repo(repo)
	if err != nil {
		return err
	}
	if rb.Bucket(bucketManifests).Get([]byte(d)) == nil {
		return fmt.Errorf("meta/bolt: tag %q: manifest %s in %q: %w", tag, d, repo, meta.ErrNotFound)
	}
	tb, xb := rb.Bucket(bucketTags), rb.Bucket(bucketTagsByDigest)
	if old := tb.Get([]byte(tag)); old != nil {
		if digest.Digest(old) == d {
			return nil
		}
		if err := del(xb, pairKey(string(old), tag)); err != nil {
			return err
		}
	}
	if err := tb.Put([]byte(tag), []byte(d)); err != nil {
		return fmt.Errorf("meta/bolt: put tag %q: %w", tag, err)
	}
	if err := xb.Put(pairKey(string(d), tag), nil); err != nil {
		return fmt.Errorf("meta/bolt: index tag %q: %w", tag, err)
	}
	return nil
}

// Delete removes the tag and its reverse-index entry.
func (g tags) Delete(repo, tag string) error {
	if err := g.t.writable("delete tag"); err != nil {
		return err
	}
	rb, err := g.t.repo(repo)
	if err != nil {
		return err
	}
	tb := rb.Bucket(bucketTags)
	old := tb.Get([]byte(tag))
	if old == nil {
		return fmt.Errorf("meta/bolt: tag %q in %q: %w", tag, repo, meta.ErrNotFound)
	}
	if err := del(rb.Bucket(bucketTagsByDigest), pairKey(string(old), tag)); err != nil {
		return err
	}
	return del(tb, []byte(tag))
}

// List returns up to limit tags of repo sorting after "after".
func (g tags) List(repo, after string, limit int) ([]string, error) {
	if err := g.t.live(); err != nil {
		return nil, err
	}
	tb, err := g.t.repoSub(repo, bucketTags)
	if err != nil {
		return nil, err
	}
	var out []string
	err = page(tb, after, limit, func(k, _ []byte) error {
		out = append(out, string(k))
		return nil
	})
	return out, err
}

// Of returns the tags of repo pointing at d, in lexical order.
func (g tags) Of(repo string, d digest.Digest) ([]string, error) {
	if err := g.t.live(); err != nil {
		return nil, err
	}
	xb, err := g.t.repoSub(repo, bucketTagsByDigest)
	if err != nil {
		return nil, err
	}
	return suffixes(xb, string(d)), nil
}

// untagAll deletes every tag of the repository bucket rb that points at d.
// Keys are collected before deleting because deleting under a bbolt cursor
// can skip entries.
func untagAll(rb *bbolt.Bucket, d digest.Digest) error {
	tb, xb := rb.Bucket(bucketTags), rb.Bucket(bucketTagsByDigest)
	for _, tag := range suffixes(xb, string(d)) {
		if err := del(tb, []byte(tag)); err != nil {
			return err
		}
		if err := del(xb, pairKey(string(d), tag)); err != nil {
			return err
		}
	}
	return nil
}
