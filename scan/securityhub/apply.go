package securityhub

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/berthreg/berth/meta"
)

// contribution is what one artifact adds to the hub's records.
type contribution struct {
	totals Totals
	// index holds the finding index entries, by kind then key.
	index map[string]map[string][]byte
	// cves holds the most dangerous finding of each CVE.
	cves map[string]Finding
	// rank is the artifact's dangerous-artifact entry ("": none).
	rank      string
	rankValue []byte
}

// contributionOf is a's contribution (none for nil).
func contributionOf(a *Artifact) (contribution, error) {
	c := contribution{index: map[string]map[string][]byte{}, cves: map[string]Finding{}}
	if a == nil {
		return c, nil
	}
	c.totals = a.totals()
	for _, ik := range indexKinds {
		c.index[ik.kind] = make(map[string][]byte, len(a.Findings))
	}
	for _, f := range a.Findings {
		v, err := json.Marshal(indexValue{Repository: a.Repository, Digest: a.Digest, Finding: f})
		if err != nil {
			return c, err
		}
		for _, ik := range indexKinds {
			c.index[ik.kind][ik.key(a.Repository, a.Digest, f)] = v
		}
		if best, ok := c.cves[f.CVE]; !ok || rankOf(f) < rankOf(best) {
			c.cves[f.CVE] = f
		}
	}
	counts := a.Counts()
	if counts.Critical+counts.High+counts.Medium+counts.Low > 0 {
		c.rank = artifactRankKey(a.Repository, a.Digest, counts)
		var err error
		if c.rankValue, err = json.Marshal(artifactRankEntry{Repository: a.Repository, Digest: a.Digest, Counts: counts}); err != nil {
			return c, err
		}
	}
	return c, nil
}

// apply replaces the contribution old of an artifact counting in shard
// by new (either may be empty), writing only what differs.
func apply(tx meta.Tx, shard string, old, new contribution) error {
	if err := applyTotals(tx, shard, new.totals.plus(old.totals, -1)); err != nil {
		return err
	}
	for _, ik := range indexKinds {
		if err := applyIndex(tx.Records(ik.kind), old.index[ik.kind], new.index[ik.kind]); err != nil {
			return err
		}
	}
	counts, ranks := map[string]int{}, map[string]int{}
	samples := map[string]Finding{}
	for cve, f := range old.cves {
		if _, ok := new.cves[cve]; !ok {
			counts[countKey(cve, shard)]--
		}
		if nf, ok := new.cves[cve]; !ok || cveRankKey(nf, shard) != cveRankKey(f, shard) {
			ranks[cveRankKey(f, shard)]--
		}
	}
	for cve, f := range new.cves {
		if _, ok := old.cves[cve]; !ok {
			counts[countKey(cve, shard)]++
		}
		if of, ok := old.cves[cve]; !ok || cveRankKey(of, shard) != cveRankKey(f, shard) {
			k := cveRankKey(f, shard)
			ranks[k]++
			samples[k] = f
		}
	}
	if err := bump(tx.Records(kindCVECounts), counts, func(string) counter { return counter{} }); err != nil {
		return err
	}
	if err := bump(tx.Records(kindCVERank), ranks, func(k string) rankEntry { return rankEntry{Finding: samples[k]} }); err != nil {
		return err
	}
	if old.rank != new.rank && old.rank != "" {
		if err := ignoreMissing(tx.Records(kindArtifactRank).Delete(old.rank)); err != nil {
			return err
		}
	}
	if new.rank != "" && (old.rank != new.rank || !bytes.Equal(old.rankValue, new.rankValue)) {
		return tx.Records(kindArtifactRank).Put(new.rank, new.rankValue)
	}
	return nil
}

// applyTotals adds delta to shard's totals.
func applyTotals(tx meta.Tx, shard string, delta Totals) error {
	if delta == (Totals{}) {
		return nil
	}
	r := tx.Records(kindTotals)
	var t Totals
	raw, err := r.Get(shard)
	switch {
	case errors.Is(err, meta.ErrNotFound):
	case err != nil:
		return err
	default:
		if err := json.Unmarshal(raw, &t); err != nil {
			return fmt.Errorf("securityhub: totals %s: %w", shard, err)
		}
	}
	if t = t.plus(delta, 1); t == (Totals{}) {
		return ignoreMissing(r.Delete(shard))
	}
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return r.Put(shard, b)
}

// applyIndex turns the index entries old into new.
func applyIndex(r meta.Records, old, new map[string][]byte) error {
	for _, k := range slices.Sorted(maps.Keys(old)) {
		if _, keep := new[k]; !keep {
			if err := ignoreMissing(r.Delete(k)); err != nil {
				return err
			}
		}
	}
	var fresh []meta.Record
	for _, k := range slices.Sorted(maps.Keys(new)) {
		v := new[k]
		was, had := old[k]
		switch {
		case !had:
			fresh = append(fresh, meta.Record{Key: k, Value: v})
		case !bytes.Equal(was, v):
			if err := r.Put(k, v); err != nil {
				return err
			}
		}
	}
	return putNew(r, fresh)
}

// bump adds deltas to the counters of r (values of T), making the
// missing ones with fresh and deleting those that drop to zero. The
// counters are read with one GetMany and new ones stored with one
// PutNew.
func bump[T any, PT interface {
	*T
	count() *int
}](r meta.Records, deltas map[string]int, fresh func(key string) T) error {
	var keys []string
	for _, k := range slices.Sorted(maps.Keys(deltas)) {
		if deltas[k] != 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	raw, err := r.GetMany(keys)
	if err != nil {
		return err
	}
	var created []meta.Record
	for _, k := range keys {
		b, had := raw[k]
		var v T
		if had {
			if err := json.Unmarshal(b, &v); err != nil {
				return fmt.Errorf("securityhub: counter %q: %w", k, err)
			}
		} else {
			v = fresh(k)
		}
		n := PT(&v).count()
		*n += deltas[k]
		switch {
		case *n < 0:
			return fmt.Errorf("securityhub: counter %q would go below zero", k)
		case *n == 0:
			if had {
				if err := r.Delete(k); err != nil {
					return err
				}
			}
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if had {
			err = r.Put(k, b)
		} else {
			created = append(created, meta.Record{Key: k, Value: b})
		}
		if err != nil {
			return err
		}
	}
	return putNew(r, created)
}

// putNew stores recs, new keys with one PutNew; any key that turns out
// to be taken is overwritten.
func putNew(r meta.Records, recs []meta.Record) error {
	if len(recs) == 0 {
		return nil
	}
	stored, _, err := r.PutNew(recs)
	if err != nil {
		return err
	}
	if len(stored) == len(recs) {
		return nil
	}
	done := make(map[string]bool, len(stored))
	for _, k := range stored {
		done[k] = true
	}
	for _, rec := range recs {
		if !done[rec.Key] {
			if err := r.Put(rec.Key, rec.Value); err != nil {
				return err
			}
		}
	}
	return nil
}

// ignoreMissing is err, except meta.ErrNotFound, which is nil.
func ignoreMissing(err error) error {
	if errors.Is(err, meta.ErrNotFound) {
		return nil
	}
	return err
}
