package securityhub

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// ArtifactOf returns what the hub keeps of repo@d's latest scan, in tx
// (meta.ErrNotFound: nothing, never scanned or forgotten).
func ArtifactOf(tx meta.Tx, repo string, d digest.Digest) (Artifact, error) {
	return artifacts.In(tx).Get(artifactKey(repo, d))
}

// ArtifactsIn returns, in tx, up to limit (at least 1) of the artifacts
// of repo the hub keeps, in digest order after digest after ("": from
// the first): a page of a key range, whatever the repository's size.
func ArtifactsIn(tx meta.Tx, repo string, after digest.Digest, limit int) ([]Artifact, error) {
	prefix := esc(repo) + "@"
	from := prefix
	if after != "" {
		from = artifactKey(repo, after)
	}
	recs, err := tx.Records(kindArtifacts).List(from, max(limit, 1))
	if err != nil {
		return nil, err
	}
	var out []Artifact
	for _, rec := range recs {
		if !strings.HasPrefix(rec.Key, prefix) {
			break
		}
		var a Artifact
		if err := json.Unmarshal(rec.Value, &a); err != nil {
			return nil, fmt.Errorf("securityhub: artifact %q: %w", rec.Key, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// Info returns, in tx, the descriptions and links kept of the CVEs ids
// (those with none are left out), with one read.
func Info(tx meta.Tx, ids []string) (map[string]CVEInfo, error) {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = esc(id)
	}
	raw, err := tx.Records(kindCVEInfo).GetMany(keys)
	if err != nil {
		return nil, err
	}
	out := make(map[string]CVEInfo, len(raw))
	for i, id := range ids {
		b, ok := raw[keys[i]]
		if !ok {
			continue
		}
		var ci CVEInfo
		if err := json.Unmarshal(b, &ci); err != nil {
			return nil, fmt.Errorf("securityhub: CVE %q: %w", id, err)
		}
		out[id] = ci
	}
	return out, nil
}

// readTotals sums the totals' shards, with one read.
func readTotals(tx meta.Tx) (Totals, error) {
	raw, err := tx.Records(kindTotals).GetMany(shardNames)
	if err != nil {
		return Totals{}, err
	}
	var sum Totals
	for _, s := range shardNames {
		b, ok := raw[s]
		if !ok {
			continue
		}
		var t Totals
		if err := json.Unmarshal(b, &t); err != nil {
			return Totals{}, fmt.Errorf("securityhub: totals %s: %w", s, err)
		}
		sum = sum.plus(t, 1)
	}
	return sum, nil
}

// artifactsWith counts the artifacts carrying each CVE of ids, with one
// read of their shards.
func artifactsWith(tx meta.Tx, ids []string) (map[string]int, error) {
	var keys []string
	for _, id := range ids {
		for _, s := range shardNames {
			keys = append(keys, countKey(id, s))
		}
	}
	raw, err := tx.Records(kindCVECounts).GetMany(keys)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(ids))
	for _, id := range ids {
		for _, s := range shardNames {
			b, ok := raw[countKey(id, s)]
			if !ok {
				continue
			}
			var c counter
			if err := json.Unmarshal(b, &c); err != nil {
				return nil, fmt.Errorf("securityhub: count of %s: %w", id, err)
			}
			out[id] += c.N
		}
	}
	return out, nil
}
