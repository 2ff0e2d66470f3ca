package bolt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/opencontainers/go-digest"
	bbolt "go.etcd.io/bbolt"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/naming"
)

// The artifact index and the counters (see the package doc's layout):
//
//	byPush/   T(pushedAt) digest -> ""      one key per artifact
//	parents/  D(child) K(parent) -> ""      one key per child an index lists
//	"stats"   uvarint manifests, artifacts, tags
//
// T is the push time in microseconds since the Unix epoch (the precision
// the store promises), as 8 big-endian bytes with the sign bit flipped,
// so that byte order is time order. The digest follows as its string,
// not in the compact form: keys of one microsecond then sort as their
// digests do, as Go and PostgreSQL order digest strings, whatever the
// digest (the compact form puts literals first, see digests.go).

// pushTimeLen is the length of a byPush key's time prefix.
const pushTimeLen = 8

// pushTime returns the byPush key prefix of t.
func pushTime(t time.Time) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, pushTimeLen+72), uint64(t.UnixMicro())^(1<<63))
}

// pushKey returns m's byPush key.
func pushKey(m meta.Manifest) []byte {
	return append(pushTime(m.PushedAt), m.Digest...)
}

// parentKey returns the parents key saying that parent lists child.
func parentKey(child, parent digest.Digest) []byte {
	return append(digestPrefix(child), digestKey(parent)...)
}

// hasParent reports whether any manifest of the repository whose parents
// bucket is pb lists d as a child: one Seek.
func hasParent(pb *bbolt.Bucket, d digest.Digest) bool {
	prefix := digestPrefix(d)
	k, _ := pb.Cursor().Seek(prefix)
	return k != nil && bytes.HasPrefix(k, prefix)
}

// children returns the distinct non-empty child digests m lists, in the
// order they first appear.
func children(m meta.Manifest) []digest.Digest {
	var out []digest.Digest
	seen := map[digest.Digest]bool{}
	for _, c := range m.Manifests {
		if c.Digest != "" && !seen[c.Digest] {
			seen[c.Digest] = true
			out = append(out, c.Digest)
		}
	}
	return out
}

// repoStats are the counters kept in a repository's bucket under
// keyStats; they may pass through negative values inside one method.
type repoStats struct{ manifests, artifacts, tags int64 }

// readStats reads the counters of the repository bucket rb.
func readStats(rb *bbolt.Bucket) (repoStats, error) {
	raw := rb.Get(keyStats)
	if raw == nil {
		return repoStats{}, fmt.Errorf("%w: repository has no counters", errCorrupt)
	}
	r := reader{b: raw}
	st := repoStats{int64(r.uvarint()), int64(r.uvarint()), int64(r.uvarint())}
	return st, r.done()
}

// writeStats stores st as the counters of the repository bucket rb.
func writeStats(rb *bbolt.Bucket, st repoStats) error {
	if st.manifests < 0 || st.artifacts < 0 || st.tags < 0 {
		return fmt.Errorf("meta/bolt: repository counters would go negative: %+v", st)
	}
	b := binary.AppendUvarint(nil, uint64(st.manifests))
	b = binary.AppendUvarint(b, uint64(st.artifacts))
	b = binary.AppendUvarint(b, uint64(st.tags))
	return rb.Put(keyStats, b)
}

// addStats adds d to the counters of the repository bucket rb.
func addStats(rb *bbolt.Bucket, d repoStats) error {
	st, err := readStats(rb)
	if err != nil {
		return err
	}
	return writeStats(rb, repoStats{st.manifests + d.manifests, st.artifacts + d.artifacts, st.tags + d.tags})
}

// indexArtifact puts m's byPush key, counting it in st, unless it is
// there.
func indexArtifact(xb *bbolt.Bucket, m meta.Manifest, st *repoStats) error {
	k := pushKey(m)
	if has(xb, k) {
		return nil
	}
	if err := xb.Put(k, nil); err != nil {
		return fmt.Errorf("meta/bolt: index artifact %s: %w", m.Digest, err)
	}
	st.artifacts++
	return nil
}

// unindexArtifact deletes m's byPush key, counting it in st, if it is
// there.
func unindexArtifact(xb *bbolt.Bucket, m meta.Manifest, st *repoStats) error {
	k := pushKey(m)
	if !has(xb, k) {
		return nil
	}
	st.artifacts--
	return del(xb, k)
}

// has reports whether b holds key k. Not b.Get(k) != nil: a key put
// with an empty value in the same transaction reads back as nil.
func has(b *bbolt.Bucket, k []byte) bool {
	got, _ := b.Cursor().Seek(k)
	return bytes.Equal(got, k)
}

// without returns the digests of ds that are not in minus.
func without(ds, minus []digest.Digest) []digest.Digest {
	var out []digest.Digest
	for _, d := range ds {
		if !slices.Contains(minus, d) {
			out = append(out, d)
		}
	}
	return out
}

// maxKeyDigest bounds the length of the digests a manifest record
// names where they become parts of keys (its own, its children's), so
// that every key of the layout stays within bbolt's limit (32 KiB).
const maxKeyDigest = 8 << 10

// checkKeyDigests refuses a record whose digest or a child's is longer
// than maxKeyDigest.
func checkKeyDigests(m meta.Manifest) error {
	if len(m.Digest) > maxKeyDigest {
		return fmt.Errorf("digest of %d bytes is too long", len(m.Digest))
	}
	for _, c := range m.Manifests {
		if len(c.Digest) > maxKeyDigest {
			return fmt.Errorf("child digest of %d bytes is too long", len(c.Digest))
		}
	}
	return nil
}

// existing returns the records of those of ds that are manifests of the
// manifests bucket mb, skipping skip.
func existing(mb *bbolt.Bucket, ds []digest.Digest, skip digest.Digest) ([]meta.Manifest, error) {
	var out []meta.Manifest
	for _, d := range ds {
		if d == skip {
			continue
		}
		m, found, err := getManifest(mb, d)
		if err != nil {
			return nil, fmt.Errorf("child %s: %w", d, err)
		}
		if found {
			out = append(out, m)
		}
	}
	return out, nil
}

// Count returns the number of repositories in project ("" for all): one
// lookup of the repoCounts bucket.
func (r repositories) Count(project string) (int, error) {
	if err := r.t.live(); err != nil {
		return 0, err
	}
	cb := r.t.top(bucketRepoCounts)
	if project == "" {
		return int(cb.Sequence()), nil
	}
	raw := cb.Get([]byte(project))
	if raw == nil {
		return 0, nil
	}
	n, err := decodeCount(raw)
	if err != nil {
		return 0, fmt.Errorf("meta/bolt: repository count of %q: %w", project, err)
	}
	return int(n), nil
}

// decodeCount decodes a uvarint count value.
func decodeCount(raw []byte) (uint64, error) {
	r := reader{b: raw}
	n := r.uvarint()
	return n, r.done()
}

// countRepository adds delta (1 or -1) to the repository counts of the
// project of name and to the total.
func (t *tx) countRepository(name string, delta int64) error {
	cb := t.top(bucketRepoCounts)
	total := int64(cb.Sequence()) + delta
	if total < 0 {
		return fmt.Errorf("meta/bolt: repository count would go negative")
	}
	if err := cb.SetSequence(uint64(total)); err != nil {
		return err
	}
	project := naming.ProjectOf(name)
	if project == "" {
		return nil
	}
	var n uint64
	if raw := cb.Get([]byte(project)); raw != nil {
		var err error
		if n, err = decodeCount(raw); err != nil {
			return fmt.Errorf("meta/bolt: repository count of %q: %w", project, err)
		}
	}
	switch m := int64(n) + delta; {
	case m < 0:
		return fmt.Errorf("meta/bolt: repository count of %q would go negative", project)
	case m == 0:
		return del(cb, []byte(project))
	default:
		return cb.Put([]byte(project), binary.AppendUvarint(nil, uint64(m)))
	}
}

// Stats returns the counters of repository name: one lookup.
func (r repositories) Stats(name string) (meta.RepositoryStats, error) {
	if err := r.t.live(); err != nil {
		return meta.RepositoryStats{}, err
	}
	rb, err := r.t.repo(name)
	if err != nil {
		return meta.RepositoryStats{}, err
	}
	st, err := readStats(rb)
	if err != nil {
		return meta.RepositoryStats{}, fmt.Errorf("meta/bolt: repository %q: %w", name, err)
	}
	return meta.RepositoryStats{Manifests: int(st.manifests), Artifacts: int(st.artifacts), Tags: int(st.tags)}, nil
}

// pushRange is the part of a byPush bucket a query's time bounds select.
type pushRange struct{ from, to []byte }

// in reports whether key k is within the range.
func (p pushRange) in(k []byte) bool {
	return k != nil && (p.from == nil || bytes.Compare(k[:pushTimeLen], p.from) >= 0) &&
		(p.to == nil || bytes.Compare(k[:pushTimeLen], p.to) <= 0)
}

// walker steps through a pushRange in one direction.
type walker struct {
	c      *bbolt.Cursor
	r      pushRange
	newest bool
}

// first returns the first key of the walk, or nil.
func (w walker) first() []byte {
	var k []byte
	switch {
	case !w.newest && w.r.from == nil:
		k, _ = w.c.First()
	case !w.newest:
		k, _ = w.c.Seek(w.r.from)
	case w.r.to == nil:
		k, _ = w.c.Last()
	default:
		// The first key after the range's last microsecond, then back.
		next := binary.BigEndian.Uint64(w.r.to) + 1
		if next == 0 {
			k, _ = w.c.Last()
		} else if k, _ = w.c.Seek(binary.BigEndian.AppendUint64(nil, next)); k == nil {
			k, _ = w.c.Last()
		} else {
			k, _ = w.c.Prev()
		}
	}
	return w.checked(k)
}

// next returns the key after the last one returned, or nil.
func (w walker) next() []byte {
	var k []byte
	if w.newest {
		k, _ = w.c.Prev()
	} else {
		k, _ = w.c.Next()
	}
	return w.checked(k)
}

// checked returns k if it is in range, else nil.
func (w walker) checked(k []byte) []byte {
	if w.r.in(k) {
		return k
	}
	return nil
}

// Artifacts returns a page of repo's artifacts in push order and their
// total: a Seek, q.Offset cursor steps (which decode nothing), then a
// manifest lookup per artifact of the page. The total is the counter;
// with a time bound it counts the keys in range, one step each.
func (m manifests) Artifacts(repo string, q meta.ArtifactQuery) ([]meta.Manifest, int, error) {
	if err := m.t.live(); err != nil {
		return nil, 0, err
	}
	rb, err := m.t.repo(repo)
	if err != nil {
		return nil, 0, err
	}
	var r pushRange
	if !q.PushedFrom.IsZero() {
		r.from = pushTime(q.PushedFrom)
	}
	if !q.PushedTo.IsZero() {
		r.to = pushTime(q.PushedTo)
	}
	xb, mb := rb.Bucket(bucketByPush), rb.Bucket(bucketManifests)
	w := walker{c: xb.Cursor(), r: r, newest: !q.OldestFirst}
	k := w.first()
	for n := 0; n < q.Offset && k != nil; n++ {
		k = w.next()
	}
	var page []meta.Manifest
	for ; k != nil && (q.Limit <= 0 || len(page) < q.Limit); k = w.next() {
		d := digest.Digest(k[pushTimeLen:])
		rec, found, err := getManifest(mb, d)
		switch {
		case err != nil:
			return nil, 0, fmt.Errorf("meta/bolt: artifact %s in %q: %w", d, repo, err)
		case !found:
			return nil, 0, fmt.Errorf("meta/bolt: artifact index of %q names %s: %w", repo, d, errCorrupt)
		}
		page = append(page, rec)
	}
	var total int
	if r.from == nil && r.to == nil {
		st, err := readStats(rb)
		if err != nil {
			return nil, 0, fmt.Errorf("meta/bolt: repository %q: %w", repo, err)
		}
		total = int(st.artifacts)
	} else {
		c := walker{c: xb.Cursor(), r: r}
		for k := c.first(); k != nil; k = c.next() {
			total++
		}
	}
	return page, total, nil
}
