package bolt

import (
	"bytes"
	"fmt"

	"github.com/opencontainers/go-digest"
	bbolt "go.etcd.io/bbolt"

	"github.com/berthreg/berth/meta"
)

// Bucket and key names of the layout described in the package doc.
var (
	bucketSchema  = []byte("schema")
	bucketRepos   = []byte("repos")
	bucketBlobs   = []byte("blobs")
	bucketUploads = []byte("uploads")
	// bucketRepoCounts holds the number of repositories per project; its
	// sequence is the number of all repositories.
	bucketRepoCounts = []byte("repoCounts")

	keyVersion = []byte("version")

	// Inside each repository's bucket.
	keyRepo            = []byte("repo")
	bucketTags         = []byte("tags")
	bucketTagsByDigest = []byte("tagsByDigest")
	bucketManifests    = []byte("manifests")
	bucketReferrers    = []byte("referrers")
	bucketLinks        = []byte("blobs")
	bucketByPush       = []byte("byPush")
	bucketParents      = []byte("parents")
	keyStats           = []byte("stats")

	repoSubBuckets = [][]byte{bucketTags, bucketTagsByDigest, bucketManifests, bucketReferrers, bucketLinks, bucketByPush, bucketParents}
)

// indexKey returns a composite index key: the prefix-free compact form of
// d (see appendDigest), then suffix. Because that form is prefix-free, the
// keys of one digest are exactly those starting with digestPrefix(d), and no
// separator is needed.
func indexKey(d digest.Digest, suffix []byte) []byte {
	k := make([]byte, 0, 1+64+len(suffix))
	return append(appendDigest(k, d), suffix...)
}

// live reports ErrTxDone once the transaction's function has returned.
func (t *tx) live() error {
	if t.done.Load() {
		return ErrTxDone
	}
	return nil
}

// writable reports ErrTxDone, or meta.ErrReadOnly (wrapped, naming op) in a
// View transaction.
func (t *tx) writable(op string) error {
	if err := t.live(); err != nil {
		return err
	}
	if !t.btx.Writable() {
		return fmt.Errorf("meta/bolt: %s: %w", op, meta.ErrReadOnly)
	}
	return nil
}

// top returns a top-level bucket; initSchema guarantees it exists.
func (t *tx) top(name []byte) *bbolt.Bucket {
	return t.btx.Bucket(name)
}

// repo returns the bucket of repository name, or meta.ErrNotFound.
func (t *tx) repo(name string) (*bbolt.Bucket, error) {
	if b := t.top(bucketRepos).Bucket([]byte(name)); b != nil {
		return b, nil
	}
	return nil, fmt.Errorf("meta/bolt: repository %q: %w", name, meta.ErrNotFound)
}

// repoSub returns sub-bucket sub of repository name, or meta.ErrNotFound if
// the repository does not exist.
func (t *tx) repoSub(name string, sub []byte) (*bbolt.Bucket, error) {
	rb, err := t.repo(name)
	if err != nil {
		return nil, err
	}
	b := rb.Bucket(sub)
	if b == nil {
		return nil, fmt.Errorf("meta/bolt: repository %q lacks bucket %q", name, sub)
	}
	return b, nil
}

// getRecord decodes the value at key with decode; found is false if there
// is none. The caller adds context to a decoding error.
func getRecord[T any](b *bbolt.Bucket, key []byte, decode func([]byte) (T, error)) (rec T, found bool, err error) {
	raw := b.Get(key)
	if raw == nil {
		return rec, false, nil
	}
	rec, err = decode(raw)
	return rec, true, err
}

// page calls visit for up to limit keys of b sorting after the key "after"
// (limit <= 0: all of them), in key order; an empty "after" starts at the
// first key. It seeks, so the cost grows with the page, not with the bucket.
func page(b *bbolt.Bucket, after []byte, limit int, visit func(k, v []byte) error) error {
	c := b.Cursor()
	k, v := c.Seek(after)
	if k != nil && bytes.Equal(k, after) {
		k, v = c.Next()
	}
	for n := 0; k != nil && (limit <= 0 || n < limit); n++ {
		if err := visit(k, v); err != nil {
			return err
		}
		k, v = c.Next()
	}
	return nil
}

// scanPrefix calls visit, in key order, with what follows prefix in each key
// of b that starts with it. The suffix is only valid during the call.
func scanPrefix(b *bbolt.Bucket, prefix []byte, visit func(suffix []byte) error) error {
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if err := visit(k[len(prefix):]); err != nil {
			return err
		}
	}
	return nil
}

// del deletes key from b, wrapping bbolt's error.
func del(b *bbolt.Bucket, key []byte) error {
	if err := b.Delete(key); err != nil {
		return fmt.Errorf("meta/bolt: delete %q: %w", key, err)
	}
	return nil
}
