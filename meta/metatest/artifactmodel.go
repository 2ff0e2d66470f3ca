package metatest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// repoModel is what a repository holds, read whole through the listings:
// the reference the counters and the artifact index are checked against
// (what a backend must not do on every request, the suite does to know
// the answer).
type repoModel struct {
	manifests []meta.Manifest
	// parent holds the digests some manifest of the repository lists as
	// a child.
	parent map[digest.Digest]bool
	tags   int
}

// readModel reads repository repo whole in tx.
func readModel(t *testing.T, tx meta.Tx, repo string) repoModel {
	t.Helper()
	ds, err := tx.Manifests().List(repo, "", 0)
	check(t, "Manifests.List("+repo+")", err)
	m := repoModel{parent: map[digest.Digest]bool{}}
	for _, d := range ds {
		rec, err := tx.Manifests().Get(repo, d)
		check(t, "Manifests.Get", err)
		m.manifests = append(m.manifests, rec)
		for _, c := range rec.Manifests {
			m.parent[c.Digest] = true
		}
	}
	tags, err := tx.Tags().List(repo, "", 0)
	check(t, "Tags.List("+repo+")", err)
	m.tags = len(tags)
	return m
}

// stats returns the counts Repositories.Stats must report.
func (m repoModel) stats() meta.RepositoryStats {
	st := meta.RepositoryStats{Manifests: len(m.manifests), Tags: m.tags}
	for _, rec := range m.manifests {
		if rec.IsArtifact(m.parent[rec.Digest]) {
			st.Artifacts++
		}
	}
	return st
}

// micro is t at the precision the store keeps.
func micro(t time.Time) time.Time { return t.Truncate(time.Microsecond) }

// artifacts returns the page and total Manifests.Artifacts must return
// for q.
func (m repoModel) artifacts(q meta.ArtifactQuery) ([]meta.Manifest, int) {
	var arts []meta.Manifest
	for _, rec := range m.manifests {
		p := micro(rec.PushedAt)
		switch {
		case !rec.IsArtifact(m.parent[rec.Digest]):
		case !q.PushedFrom.IsZero() && p.Before(micro(q.PushedFrom)):
		case !q.PushedTo.IsZero() && p.After(micro(q.PushedTo)):
		default:
			arts = append(arts, rec)
		}
	}
	slices.SortFunc(arts, func(a, b meta.Manifest) int {
		c := micro(a.PushedAt).Compare(micro(b.PushedAt))
		if c == 0 {
			c = strings.Compare(string(a.Digest), string(b.Digest))
		}
		if !q.OldestFirst {
			c = -c
		}
		return c
	})
	start := min(max(q.Offset, 0), len(arts))
	end := len(arts)
	if q.Limit > 0 {
		end = min(start+q.Limit, end)
	}
	return arts[start:end], len(arts)
}

// wantPage fails the test unless Manifests.Artifacts(repo, q) in tx
// returns the page of digests want (records as Get returns them) and
// total.
func wantPage(t *testing.T, tx meta.Tx, what, repo string, q meta.ArtifactQuery, want []digest.Digest, total int) {
	t.Helper()
	page, n, err := tx.Manifests().Artifacts(repo, q)
	if err != nil {
		t.Errorf("%s: Artifacts(%q, %+v): %v", what, repo, q, err)
		return
	}
	if got := manifestDigests(page); !slices.Equal(got, want) || n != total {
		t.Errorf("%s: Artifacts(%q, %s):\n got %s, total %d\nwant %s, total %d",
			what, repo, showQuery(q), names(got), n, names(want), total)
		return
	}
	for i, rec := range page {
		stored, err := tx.Manifests().Get(repo, rec.Digest)
		check(t, "Manifests.Get", err)
		wantManifest(t, fmt.Sprintf("%s: page[%d]", what, i), rec, stored)
	}
}

// showQuery describes q for a failure message.
func showQuery(q meta.ArtifactQuery) string {
	s := fmt.Sprintf("offset %d limit %d", q.Offset, q.Limit)
	if q.OldestFirst {
		s += " oldest first"
	}
	if !q.PushedFrom.IsZero() {
		s += " from " + q.PushedFrom.UTC().Format(time.RFC3339Nano)
	}
	if !q.PushedTo.IsZero() {
		s += " to " + q.PushedTo.UTC().Format(time.RFC3339Nano)
	}
	return s
}

// digestNames maps the digests named returned back to their names, for
// failure messages.
var digestNames sync.Map

// named returns dg(name), remembering the name for failure messages.
func named(name string) digest.Digest {
	d := dg(name)
	digestNames.Store(d, name)
	return d
}

// names renders ds with the names named made them from.
func names(ds []digest.Digest) string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = string(d)
		if n, ok := digestNames.Load(d); ok {
			out[i] = n.(string)
		}
	}
	return "[" + strings.Join(out, " ") + "]"
}

// checkModel fails the test unless the counters and the artifact listing
// of repo in tx agree with its records: Stats, and Artifacts over every
// page shape and time bound of a few kinds, both ways.
func checkModel(t *testing.T, tx meta.Tx, what, repo string) {
	t.Helper()
	m := readModel(t, tx, repo)
	st, err := tx.Repositories().Stats(repo)
	check(t, what+": Stats", err)
	if want := m.stats(); st != want {
		t.Errorf("%s: Stats(%q) = %+v, want %+v", what, repo, st, want)
	}
	var times []time.Time
	for _, rec := range m.manifests {
		times = append(times, rec.PushedAt)
	}
	slices.SortFunc(times, time.Time.Compare)
	queries := []meta.ArtifactQuery{{}, {Limit: 2}, {Offset: 1, Limit: 3}, {Offset: 1000}}
	if len(times) > 0 {
		mid := times[len(times)/2]
		queries = append(queries,
			meta.ArtifactQuery{PushedFrom: mid},
			meta.ArtifactQuery{PushedTo: mid},
			meta.ArtifactQuery{PushedFrom: times[0], PushedTo: mid, Offset: 1, Limit: 2},
			meta.ArtifactQuery{PushedFrom: mid, PushedTo: mid})
	}
	for _, q := range queries {
		for _, oldest := range []bool{false, true} {
			q.OldestFirst = oldest
			page, total := m.artifacts(q)
			wantPage(t, tx, what, repo, q, manifestDigests(page), total)
		}
	}
}
