package securityhub

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/naming"
)

// dangerous is how many of the most dangerous CVEs and artifacts a
// summary lists.
const dangerous = 5

// maxRankRead bounds the dangerous-CVE index entries a summary reads
// to find five CVEs (each CVE has an entry per shard and per score its
// findings carry).
const maxRankRead = 1024

// Summary is the registry's vulnerability summary.
type Summary struct {
	// Totals are the findings by severity, the fixable findings, and the
	// artifacts scanned and vulnerable.
	Totals
	// Artifacts is the number of artifacts in the registry.
	Artifacts int64
	// DangerousCVEs are the CVEs with the highest CVSS v3 scores, then
	// severities (those without a score last), when asked for.
	DangerousCVEs []DangerousCVE
	// DangerousArtifacts are the artifacts with the most critical, then
	// high, medium and low findings, when asked for.
	DangerousArtifacts []DangerousArtifact
}

// DangerousCVE is one of the most dangerous CVEs.
type DangerousCVE struct {
	// Finding is its most dangerous finding (package, version, severity,
	// score).
	Finding
	// Description is what a scanner said of it.
	Description string
	// Artifacts is how many artifacts carry it.
	Artifacts int
}

// DangerousArtifact is one of the most dangerous artifacts.
type DangerousArtifact struct {
	// ProjectID is its project's id (accounts.Project.ID; 0: unknown).
	ProjectID  uint64
	Repository string
	Digest     digest.Digest
	// Counts are its findings by severity.
	Counts
}

// SummaryOptions says what a summary lists beside the numbers.
type SummaryOptions struct {
	DangerousCVEs      bool
	DangerousArtifacts bool
}

// Summary returns the registry's summary: reads of the counters' shards
// and of the first entries of two indexes, whatever the number of
// reports (and the artifact count, see WithArtifactCountTTL).
func (h *Hub) Summary(ctx context.Context, o SummaryOptions) (Summary, error) {
	var s Summary
	var err error
	if s.Artifacts, err = h.artifactCount(ctx); err != nil {
		return s, err
	}
	err = h.store.View(ctx, func(tx meta.Tx) error {
		s.DangerousCVEs, s.DangerousArtifacts = nil, nil
		var err error
		if s.Totals, err = readTotals(tx); err != nil {
			return err
		}
		if o.DangerousArtifacts {
			if s.DangerousArtifacts, err = dangerousArtifacts(tx); err != nil {
				return err
			}
		}
		if o.DangerousCVEs {
			s.DangerousCVEs, err = dangerousCVEs(tx)
		}
		return err
	})
	return s, err
}

// dangerousArtifacts reads the first entries of the artifact index.
func dangerousArtifacts(tx meta.Tx) ([]DangerousArtifact, error) {
	recs, err := tx.Records(kindArtifactRank).List("", dangerous)
	if err != nil {
		return nil, err
	}
	out := make([]DangerousArtifact, 0, len(recs))
	ids := map[string]uint64{}
	for _, rec := range recs {
		var e artifactRankEntry
		if err := json.Unmarshal(rec.Value, &e); err != nil {
			return nil, fmt.Errorf("securityhub: artifact rank %q: %w", rec.Key, err)
		}
		project := naming.ProjectOf(e.Repository)
		if err := projectIDs(tx, ids, project); err != nil {
			return nil, err
		}
		out = append(out, DangerousArtifact{ProjectID: ids[project], Repository: e.Repository, Digest: e.Digest, Counts: e.Counts})
	}
	return out, nil
}

// dangerousCVEs reads the CVE index until it has met five CVEs (each at
// its most dangerous entry, which comes first), then their counters and
// descriptions.
func dangerousCVEs(tx meta.Tx) ([]DangerousCVE, error) {
	var out []DangerousCVE
	seen := map[string]bool{}
	after, read := "", 0
	for len(out) < dangerous && read < maxRankRead {
		page, err := tx.Records(kindCVERank).List(after, 128)
		if err != nil {
			return nil, err
		}
		for _, rec := range page {
			read++
			var e rankEntry
			if err := json.Unmarshal(rec.Value, &e); err != nil {
				return nil, fmt.Errorf("securityhub: CVE rank %q: %w", rec.Key, err)
			}
			if seen[e.Finding.CVE] {
				continue
			}
			seen[e.Finding.CVE] = true
			out = append(out, DangerousCVE{Finding: e.Finding})
			if len(out) == dangerous {
				break
			}
		}
		if len(page) < 128 {
			break
		}
		after = page[len(page)-1].Key
	}
	ids := make([]string, len(out))
	for i, c := range out {
		ids[i] = c.CVE
	}
	counts, err := artifactsWith(tx, ids)
	if err != nil {
		return nil, err
	}
	info, err := Info(tx, ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Artifacts, out[i].Description = counts[out[i].CVE], info[out[i].CVE].Description
	}
	return out, nil
}
