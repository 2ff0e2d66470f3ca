package bolt

import (
	"bytes"
	"errors"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// tags is the meta.Tags view of a tx.
type tags struct{ t *tx }

// Tag values hold the target digest in the prefix-free compact form (see
// appendDigest), so the tag's tagsByDigest key is simply the value followed
// by the tag.

// tagIndexKey returns the tagsByDigest key of tag, given its stored value.
func tagIndexKey(value []byte, tag string) []byte {
	k := make([]byte, 0, len(value)+len(tag))
	return append(append(k, value...), tag...)
}

// parseTagValue decodes a stored tag value.
func parseTagValue(v []byte) (digest.Digest, error) {
	r := reader{b: v}
	d := r.digest()
	return d, r.done()
}

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
	d, err := parseTagValue(v)
	if err != nil {
		return "", fmt.Errorf("meta/bolt: tag %q in %q: %w", tag, repo, err)
	}
	return d, nil
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
	if rb.Bucket(bucketManifests).Get(digestKey(d)) == nil {
		return fmt.Errorf("meta/bolt: tag %q: manifest %s in %q: %w", tag, d, repo, meta.ErrNotFound)
	}
	value := digestPrefix(d)
	tb, xb := rb.Bucket(bucketTags), rb.Bucket(bucketTagsByDigest)
	if old := tb.Get([]byte(tag)); old != nil {
		if bytes.Equal(old, value) {
			return nil
		}
		if err := del(xb, tagIndexKey(old, tag)); err != nil {
			return err
		}
	} else if err := addStats(rb, repoStats{tags: 1}); err != nil {
		return fmt.Errorf("meta/bolt: put tag %q in %q: %w", tag, repo, err)
	}
	if err := tb.Put([]byte(tag), value); err != nil {
		return fmt.Errorf("meta/bolt: put tag %q: %w", tag, err)
	}
	if err := xb.Put(tagIndexKey(value, tag), nil); err != nil {
		return fmt.Errorf("meta/bolt: index tag %q: %w", tag, err)
	}
	return g.t.touch(d)
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
	if err := addStats(rb, repoStats{tags: -1}); err != nil {
		return fmt.Errorf("meta/bolt: delete tag %q in %q: %w", tag, repo, err)
	}
	if err := del(rb.Bucket(bucketTagsByDigest), tagIndexKey(old, tag)); err != nil {
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
	err = page(tb, []byte(after), limit, func(k, _ []byte) error {
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
	return tagsOf(xb, d), nil
}

// tagsOf returns the tags in the tagsByDigest bucket xb that point at d, in
// lexical order (the order of the keys' second halves).
func tagsOf(xb *bbolt.Bucket, d digest.Digest) []string {
	var out []string
	_ = scanPrefix(xb, digestPrefix(d), func(tag []byte) error {
		out = append(out, string(tag))
		return nil
	})
	return out
}

// untagAll deletes every tag of the repository bucket rb that points at d
// and returns how many it deleted (the caller counts them). Keys are
// collected before deleting because deleting under a bbolt cursor can
// skip entries.
func untagAll(rb *bbolt.Bucket, d digest.Digest) (int, error) {
	tb, xb := rb.Bucket(bucketTags), rb.Bucket(bucketTagsByDigest)
	prefix := digestPrefix(d)
	all := tagsOf(xb, d)
	for _, tag := range all {
		if err := del(tb, []byte(tag)); err != nil {
			return 0, err
		}
		if err := del(xb, tagIndexKey(prefix, tag)); err != nil {
			return 0, err
		}
	}
	return len(all), nil
}
