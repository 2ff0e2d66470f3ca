package quota

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/naming"
)

// held is one digest a manifest holds in its project: the manifest
// itself, or a blob it references.
type held struct {
	digest digest.Digest
	size   int64 // the manifest's size; 0 for a blob (its link says)
	blob   bool
}

// holdings are the digests manifest m holds, each once: itself, its
// config and its layers, less layers that clients fetch from elsewhere
// (they are not stored). An index's children are manifests of their own
// and hold themselves.
func holdings(m meta.Manifest) []held {
	out := []held{{digest: m.Digest, size: m.Size}}
	seen := map[digest.Digest]bool{m.Digest: true}
	add := func(d meta.Descriptor) {
		if d.Digest == "" || seen[d.Digest] || meta.IsNondistributable(d.MediaType) {
			return
		}
		seen[d.Digest] = true
		out = append(out, held{digest: d.Digest, blob: true})
	}
	add(m.Config)
	for _, l := range m.Layers {
		add(l)
	}
	return out
}

// sizeIn is what h counts for, held by a manifest of repo: a manifest
// its own size, a blob the size it was linked into repo with; stored is
// false for a blob not linked there (it counts nothing).
func (h held) sizeIn(tx meta.Tx, repo string) (size int64, stored bool, err error) {
	if !h.blob {
		return h.size, true, nil
	}
	b, err := tx.Blobs().Linked(repo, h.digest)
	switch {
	case errors.Is(err, meta.ErrNotFound):
		return 0, false, nil
	case err != nil:
		return 0, false, err
	}
	return b.Size, true, nil
}

// hold counts manifest m put into repo: each digest it holds that its
// project does not hold yet is marked with its size (a blob's as linked
// into repo; a blob not linked there is not stored for it and counts
// nothing), and the sum charged; m becomes a holder of each.
//
// The marks are added with PutNew, which says which were new without
// reading the others: concurrent pushes of a project insert marks next
// to those they look up, and on a serializable database reading them
// first would make those pushes conflict (see meta.Records.PutNew). The
// project's limit and the transaction's usage part are read in the same
// statement.
func (a *account) hold(repo string, m meta.Manifest) error {
	project := naming.ProjectOf(repo)
	marks := a.tx.Records(Kind)
	hs := holdings(m)
	recs := make([]meta.Record, 0, 2*len(hs))
	for _, h := range hs {
		// A blob's size is known once its mark turns out new.
		recs = append(recs, meta.Record{Key: markKey(project, h.digest), Value: markValue(h.size)},
			meta.Record{Key: holderKey(project, h.digest, repo, m.Digest), Value: present})
	}
	// One statement: the marks that are new, m's holder records, and the
	// read of the project's limit and the transaction's usage part.
	lk, sk := limitKey(project), shardKey(project, a.shard())
	stored, read, err := marks.PutNew(recs, lk, sk)
	if err != nil {
		return err
	}
	isNew := make(map[string]bool, len(stored))
	for _, k := range stored {
		isNew[k] = true
	}
	var added int64
	for _, h := range hs {
		key := markKey(project, h.digest)
		if isNew[key] {
			size, held, err := h.sizeIn(a.tx, repo)
			if err != nil {
				return err
			}
			if !held {
				// Not here (yet): no mark, but m stays its holder, so
				// that a fill bringing it later counts it (filled).
				if err := marks.Delete(key); err != nil {
					return err
				}
				continue
			}
			if h.blob {
				if err := marks.Put(key, markValue(size)); err != nil {
					return err
				}
			}
			added += size
		}
	}
	if added == 0 {
		return nil
	}
	lim, err := a.s.decodeLimit(project, read[lk])
	if err != nil {
		return err
	}
	sh, err := decodeShard(sk, read[sk])
	if err != nil {
		return err
	}
	return a.charge(project, added, repo, m.Digest, lim, sh)
}

// filled counts blob b linked into repo by a fill (meta.MarkFill): when
// a manifest of the project holds it and it is not marked yet, it is
// marked with its size and charged, as if its manifest were put now.
func (a *account) filled(repo string, b meta.Blob) error {
	project := naming.ProjectOf(repo)
	marks := a.tx.Records(Kind)
	holders, err := meta.RecordsWithPrefix(marks, holderPrefix(project, b.Digest), 1)
	if err != nil || len(holders) == 0 {
		return err
	}
	lk, sk := limitKey(project), shardKey(project, a.shard())
	stored, read, err := marks.PutNew([]meta.Record{{Key: markKey(project, b.Digest), Value: markValue(b.Size)}}, lk, sk)
	if err != nil || len(stored) == 0 {
		return err
	}
	lim, err := a.s.decodeLimit(project, read[lk])
	if err != nil {
		return err
	}
	sh, err := decodeShard(sk, read[sk])
	if err != nil {
		return err
	}
	return a.charge(project, b.Size, repo, b.Digest, lim, sh)
}

// markValue is the stored form of a mark of size bytes.
func markValue(size int64) []byte {
	raw, _ := json.Marshal(mark{Size: size})
	return raw
}

// drop counts manifest m deleted from repo: m stops holding its digests,
// and those no other manifest of the project holds are unmarked and
// their sizes given back.
func (a *account) drop(repo string, m meta.Manifest) error {
	project := naming.ProjectOf(repo)
	marks, holders := a.tx.Records(Kind), a.tx.Records(Kind)
	var freed int64
	for _, h := range holdings(m) {
		err := holders.Delete(holderKey(project, h.digest, repo, m.Digest))
		if errors.Is(err, meta.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		rest, err := meta.RecordsWithPrefix(holders, holderPrefix(project, h.digest), 1)
		if err != nil {
			return err
		}
		if len(rest) > 0 {
			continue
		}
		raw, err := marks.Get(markKey(project, h.digest))
		if errors.Is(err, meta.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		var mk mark
		if err := json.Unmarshal(raw, &mk); err != nil {
			return fmt.Errorf("quota: mark %s: %w", markKey(project, h.digest), err)
		}
		if err := marks.Delete(markKey(project, h.digest)); err != nil {
			return err
		}
		freed += mk.Size
	}
	if freed > 0 {
		return a.release(project, freed)
	}
	return nil
}
