package securityhub

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/naming"
	"github.com/berthreg/berth/scan"
)

// Bounds of a search.
const (
	// MaxExamined bounds the findings a search looks at: past it, the
	// page holds what was found and the total is -1 (unknown).
	MaxExamined = 20000
	// TunedCount is where a search with Page.TuneCount stops counting.
	TunedCount = 1000
	// listPage is how many records a search reads at a time.
	listPage = 128
)

// Page selects a page of a search's findings.
type Page struct {
	// Offset findings are skipped, then up to Limit (at least 1) returned.
	Offset, Limit int
	// TuneCount stops counting past TunedCount findings, the total then
	// being -1 (Harbor's tune_count).
	TuneCount bool
}

// Item is a finding of the search, in its artifact.
type Item struct {
	// ProjectID is the artifact's project's id (accounts.Project.ID).
	ProjectID  uint64
	Repository string
	Digest     digest.Digest
	// Tags are the artifact's tags.
	Tags []string
	Finding
	// Description and Links are what a scanner said of the CVE.
	Description string
	Links       []string
}

// Vulnerabilities returns a page of the findings q selects and how many
// there are (-1: more than could be counted, see MaxExamined and
// Page.TuneCount). The search reads one index range, chosen by the most
// selective condition given, and checks the others on what it reads:
// cve_id (the CVE index), else package (the package index), else
// repository_name (with digest or tag: that artifact), else project_id
// (the project's artifacts), else severity and cvss_score_v3 (the
// severity index, which also serves no condition at all). Findings come
// in that index's order: by artifact for the artifact ranges, else most
// severe and highest scored first. The total of an empty query, or one
// on severity alone, is read from the counters.
func (h *Hub) Vulnerabilities(ctx context.Context, q Query, pg Page) ([]Item, int, error) {
	if pg.Offset < 0 || pg.Limit < 1 {
		return nil, 0, &QueryError{Problem: fmt.Sprintf("page offset %d, limit %d: want offset >= 0, limit >= 1", pg.Offset, pg.Limit)}
	}
	var items []Item
	var total int
	err := h.store.View(ctx, func(tx meta.Tx) error {
		s := &search{tx: tx, q: q, tags: map[string][]string{}}
		var err error
		items, total, err = s.run(pg)
		return err
	})
	return items, total, err
}

// search is one search, inside its transaction.
type search struct {
	tx meta.Tx
	q  Query
	// project is the project's name, digest the artifact's digest, as
	// resolved; none is set when nothing can match.
	project string
	digest  digest.Digest
	none    bool
	// examined counts the findings looked at.
	examined int
	tags     map[string][]string
}

// run resolves the query, walks its range and fills the page.
func (s *search) run(pg Page) ([]Item, int, error) {
	if err := s.resolve(); err != nil || s.none {
		return nil, 0, err
	}
	known := -1
	if s.q.empty() || s.q.onlySeverity() {
		t, err := readTotals(s.tx)
		if err != nil {
			return nil, 0, err
		}
		known = int(t.Total())
		if s.q.Severity != "" {
			known = int(t.Of(s.q.Severity))
		}
	}
	var page []indexValue
	matched, tuned := 0, false
	complete, err := s.walk(func(v indexValue) (bool, error) {
		ok, err := s.match(v)
		if err != nil || !ok {
			return err == nil, err
		}
		if matched >= pg.Offset && len(page) < pg.Limit {
			page = append(page, v)
		}
		matched++
		full := len(page) == pg.Limit
		if full && known >= 0 {
			return false, nil
		}
		if full && pg.TuneCount && matched > TunedCount {
			tuned = true
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return nil, 0, err
	}
	total := matched
	switch {
	case known >= 0:
		total = known
	case tuned || !complete:
		total = -1
	}
	items, err := s.items(page)
	return items, total, err
}

// resolve reads what the query names: the project of a project_id (by
// name, else by id, else the name as given), the artifact a
// repository's tag points at.
func (s *search) resolve() error {
	if p := s.q.Project; p != "" {
		_, err := accounts.Projects.In(s.tx).Get(p)
		switch {
		case err == nil:
			s.project = p
		case !errors.Is(err, meta.ErrNotFound):
			return err
		default:
			// No project of the name (a registry without accounts
			// has none): a number is an id, else the name is used.
			s.project = p
			if id, perr := strconv.ParseUint(p, 10, 64); perr == nil && id > 0 {
				name, err := projectByID(s.tx, id)
				if err != nil {
					return err
				}
				s.project = cmp.Or(name, p)
			}
		}
	}
	s.digest = s.q.Digest
	if s.q.Repository != "" && s.q.Tag != "" {
		d, err := s.tx.Tags().Get(s.q.Repository, s.q.Tag)
		switch {
		case errors.Is(err, meta.ErrNotFound):
			s.none = true
		case err != nil:
			return err
		case s.digest != "" && s.digest != d:
			s.none = true
		}
		s.digest = d
	}
	return nil
}

// keyRange is the keys after after and before end.
type keyRange struct{ after, end string }

// prefixRange is the keys starting with p (which does not end in 0xff).
func prefixRange(p string) keyRange {
	return keyRange{after: p, end: p[:len(p)-1] + string(p[len(p)-1]+1)}
}

// source is the records a search walks: index entries, or artifact
// records whose findings it walks in turn.
type source struct {
	kind   string
	ranges []keyRange
}

// source picks the range to walk.
func (s *search) source() source {
	q := s.q
	switch {
	case q.CVE != "":
		return source{kindByCVE, []keyRange{prefixRange(esc(q.CVE) + sep)}}
	case q.Package != "":
		return source{kindByPackage, []keyRange{prefixRange(esc(q.Package) + sep)}}
	case q.Repository != "" && s.digest != "":
		k := artifactKey(q.Repository, s.digest)
		return source{kindArtifacts, []keyRange{{after: k[:len(k)-1], end: k + "\x00"}}}
	case q.Repository != "":
		return source{kindArtifacts, []keyRange{prefixRange(esc(q.Repository) + "@")}}
	case s.project != "":
		return source{kindArtifacts, []keyRange{prefixRange(esc(s.project) + "/")}}
	}
	sevs := []scan.Severity{scan.SeverityCritical, scan.SeverityHigh, scan.SeverityMedium, scan.SeverityLow, scan.SeverityNegligible, scan.SeverityUnknown}
	if q.Severity != "" {
		sevs = []scan.Severity{q.Severity}
	}
	var ranges []keyRange
	for _, sev := range sevs {
		if q.CVSS == nil {
			ranges = append(ranges, prefixRange(sevKey(sev)))
			continue
		}
		lo, hi := max(scoreTenths(q.CVSS.Min), 1), scoreTenths(q.CVSS.Max)
		if lo > hi {
			continue
		}
		ranges = append(ranges, keyRange{after: sevKey(sev) + fmt.Sprintf("%03d", 100-hi), end: sevKey(sev) + fmt.Sprintf("%03d", 100-lo) + "!"})
	}
	return source{kindBySeverity, ranges}
}

// scoreTenths is a query's score bound in tenths.
func scoreTenths(f float64) int { return int(math.Round(min(max(f, 0), 10) * 10)) }

// walk visits the findings of the search's range in order until visit
// says stop; complete is false when MaxExamined ended it first.
func (s *search) walk(visit func(indexValue) (bool, error)) (complete bool, err error) {
	src := s.source()
	r := s.tx.Records(src.kind)
	for _, rg := range src.ranges {
		after := rg.after
		for {
			page, err := r.List(after, listPage)
			if err != nil {
				return false, err
			}
			for _, rec := range page {
				if rec.Key >= rg.end {
					break
				}
				vals, err := decode(src.kind, rec)
				if err != nil {
					return false, err
				}
				for _, v := range vals {
					if s.examined == MaxExamined {
						return false, nil
					}
					s.examined++
					more, err := visit(v)
					if err != nil {
						return false, err
					}
					if !more {
						return true, nil
					}
				}
			}
			if len(page) < listPage || page[len(page)-1].Key >= rg.end {
				break
			}
			after = page[len(page)-1].Key
		}
	}
	return true, nil
}

// decode reads the findings of a record of kind.
func decode(kind string, rec meta.Record) ([]indexValue, error) {
	if kind != kindArtifacts {
		var v indexValue
		if err := json.Unmarshal(rec.Value, &v); err != nil {
			return nil, fmt.Errorf("securityhub: %s %q: %w", kind, rec.Key, err)
		}
		return []indexValue{v}, nil
	}
	var a Artifact
	if err := json.Unmarshal(rec.Value, &a); err != nil {
		return nil, fmt.Errorf("securityhub: artifact %q: %w", rec.Key, err)
	}
	out := make([]indexValue, len(a.Findings))
	for i, f := range a.Findings {
		out[i] = indexValue{Repository: a.Repository, Digest: a.Digest, Finding: f}
	}
	return out, nil
}

// match checks every condition of the query on v.
func (s *search) match(v indexValue) (bool, error) {
	q, f := s.q, v.Finding
	switch {
	case q.CVE != "" && f.CVE != q.CVE,
		q.Package != "" && f.Package != q.Package,
		q.Severity != "" && f.Severity != q.Severity,
		q.Repository != "" && v.Repository != q.Repository,
		s.project != "" && naming.ProjectOf(v.Repository) != s.project,
		s.digest != "" && v.Digest != s.digest:
		return false, nil
	}
	if r := q.CVSS; r != nil {
		t := tenths(f.CVSS3)
		if t == 0 || t < scoreTenths(r.Min) || t > scoreTenths(r.Max) {
			return false, nil
		}
	}
	if q.Tag == "" {
		return true, nil
	}
	tags, err := s.tagsOf(v.Repository, v.Digest)
	return slices.Contains(tags, q.Tag), err
}

// tagsOf returns repo@d's tags, read once per search.
func (s *search) tagsOf(repo string, d digest.Digest) ([]string, error) {
	k := artifactKey(repo, d)
	if t, ok := s.tags[k]; ok {
		return t, nil
	}
	t, err := s.tx.Tags().Of(repo, d)
	if errors.Is(err, meta.ErrNotFound) {
		err = nil
	}
	s.tags[k] = t
	return t, err
}

// items completes the page's findings: tags, project ids, descriptions.
func (s *search) items(page []indexValue) ([]Item, error) {
	ids := map[string]uint64{}
	var cves []string
	for _, v := range page {
		if err := projectIDs(s.tx, ids, naming.ProjectOf(v.Repository)); err != nil {
			return nil, err
		}
		cves = append(cves, v.Finding.CVE)
	}
	slices.Sort(cves)
	info, err := Info(s.tx, slices.Compact(cves))
	if err != nil {
		return nil, err
	}
	out := make([]Item, 0, len(page))
	for _, v := range page {
		tags, err := s.tagsOf(v.Repository, v.Digest)
		if err != nil {
			return nil, err
		}
		ci := info[v.Finding.CVE]
		out = append(out, Item{ProjectID: ids[naming.ProjectOf(v.Repository)], Repository: v.Repository, Digest: v.Digest,
			Tags: tags, Finding: v.Finding, Description: ci.Description, Links: ci.Links})
	}
	return out, nil
}
