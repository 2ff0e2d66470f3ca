package bolt

import (
	"fmt"

	"github.com/opencontainers/go-digest"
	bbolt "go.etcd.io/bbolt"
)

// upgradeV2 brings a file of layout version 2 to version 3: it builds
// every repository's artifact index (byPush), parent links (parents) and
// counters (stats), and the repository counts (repoCounts), from the
// records. It runs once, in Open's transaction, so a crash leaves the
// file at version 2 and the next Open starts again; the time it takes
// grows with the number of manifests and tags.
func upgradeV2(btx *bbolt.Tx) error {
	if btx.Bucket(bucketRepoCounts) != nil {
		if err := btx.DeleteBucket(bucketRepoCounts); err != nil {
			return err
		}
	}
	if _, err := btx.CreateBucket(bucketRepoCounts); err != nil {
		return err
	}
	t := &tx{btx: btx}
	repos := btx.Bucket(bucketRepos)
	var names []string
	err := repos.ForEach(func(k, v []byte) error {
		if v == nil {
			names = append(names, string(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := upgradeRepoV2(repos.Bucket([]byte(name))); err != nil {
			return fmt.Errorf("meta/bolt: upgrade repository %q to layout 3: %w", name, err)
		}
		if err := t.countRepository(name, 1); err != nil {
			return fmt.Errorf("meta/bolt: upgrade repository %q to layout 3: %w", name, err)
		}
	}
	return nil
}

// upgradeRepoV2 builds the byPush and parents buckets and the counters of
// the repository bucket rb from its manifests and tags.
func upgradeRepoV2(rb *bbolt.Bucket) error {
	var buckets []*bbolt.Bucket
	for _, name := range [][]byte{bucketByPush, bucketParents} {
		if rb.Bucket(name) != nil {
			if err := rb.DeleteBucket(name); err != nil {
				return err
			}
		}
		b, err := rb.CreateBucket(name)
		if err != nil {
			return err
		}
		buckets = append(buckets, b)
	}
	xb, pb := buckets[0], buckets[1]
	mb := rb.Bucket(bucketManifests)
	// First every parent link, then which manifests have none.
	type entry struct {
		d         digest.Digest
		accessory bool
		key       []byte
	}
	var all []entry
	err := mb.ForEach(func(k, raw []byte) error {
		d, err := parseDigestKey(k)
		if err != nil {
			return err
		}
		m, err := decodeManifest(d, raw)
		if err != nil {
			return fmt.Errorf("manifest %s: %w", d, err)
		}
		for _, c := range children(m) {
			if err := pb.Put(parentKey(c, d), nil); err != nil {
				return err
			}
		}
		all = append(all, entry{d, m.IsAccessory(), pushKey(m)})
		return nil
	})
	if err != nil {
		return err
	}
	st := repoStats{manifests: int64(len(all))}
	for _, e := range all {
		if !e.accessory && !hasParent(pb, e.d) { // meta.Manifest.IsArtifact
			if err := xb.Put(e.key, nil); err != nil {
				return err
			}
			st.artifacts++
		}
	}
	c := rb.Bucket(bucketTags).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		st.tags++
	}
	return writeStats(rb, st)
}
