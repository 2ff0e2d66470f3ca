package bolt

import (
	"bytes"
	"encoding/json"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"github.com/berthreg/berth/meta"
)

// Bucket and key names of the layout described in the package doc.
var (
	bucketSchema  = []byte("schema")
	bucketRepos   = []byte("repos")
	bucketBlobs   = []byte("blobs")
	bucketUploads = []byte("uploads")

	keyVersion = []byte("version")

	// Inside each repository's bucket.
	keyRepo            = []byte("repo")
	bucketTags         = []byte("tags")
	bucketTagsByDigest = []byte("tagsByDigest")
	bucketManifests    = []byte("manifests")
	bucketReferrers    = []byte("referrers")
	bucketLinks        = []byte("blobs")

	repoSubBuckets = [][]byte{bucketTags, bucketTagsByDigest, bucketManifests, bucketReferrers, bucketLinks}
)

// sep separates the two halves of a composite index key. Digests, tags and
// repository names never contain it.
const sep = 0

// pairKey returns the composite key a "\x00" b.
func pairKey(a, b string) []byte {
	k := make([]byte, 0, len(a)+1+len(b))
	k = append(k, a...)
	k = append(k, sep)
	return append(k, b...)
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

// getJSON decodes the value at key into v; found is false if there is none.
func getJSON(b *bbolt.Bucket, key []byte, v any) (found bool, err error) {
	raw := b.Get(key)
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("meta/bolt: decode %q: %w", key, err)
	}
	return true, nil
}

// putJSON stores v encoded as JSON at key.
func putJSON(b *bbolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("meta/bolt: encode %q: %w", key, err)
	}
	if err := b.Put(key, raw); err != nil {
		return fmt.Errorf("meta/bolt: put %q: %w", key, err)
	}
	return nil
}

// page calls visit for up to limit keys of b sorting after "after"
// (limit <= 0: all of them), in key order. It seeks, so the cost grows with
// the page, not with the bucket.
func page(b *bbolt.Bucket, after string, limit int, visit func(k, v []byte) error) error {
	c := b.Cursor()
	k, v := c.Seek([]byte(after))
	if k != nil && string(k) == after {
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

// suffixes returns, in key order, what follows prefix "\x00" in the keys of
// b that start with it.
func suffixes(b *bbolt.Bucket, prefix string) []string {
	p := pairKey(prefix, "")
	var out []string
	c := b.Cursor()
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
		out = append(out, string(k[len(p):]))
	}
	return out
}

// del deletes key from b, wrapping bbolt's error.
func del(b *bbolt.Bucket, key []byte) error {
	if err := b.Delete(key); err != nil {
		return fmt.Errorf("meta/bolt: delete %q: %w", key, err)
	}
	return nil
}
