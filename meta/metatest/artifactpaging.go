package metatest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// Shape of the artifact paging-cost test.
const (
	costLarge      = 20000 // manifests of the large repository
	costLargeShort = 2000  // the same under -short
	costSmall      = 100   // artifacts of the small repository
	costRuns       = 15    // timed runs of each query per repository; the fastest counts
	// costBound is the most a page may cost in the large repository,
	// relative to the same page in the small one. A listing that reads
	// the repository instead of a page of its index costs the ratio of
	// the sizes, 20 (short) to 200 times.
	costBound = 4.0
)

// costManifest returns manifest i of the large repository of the
// paging-cost test, pushed at second i: one in ten an index listing the
// two images after it, one in ten more an accessory, the rest images.
func costManifest(i int) meta.Manifest {
	name := fmt.Sprintf("cost-%d", i)
	switch i % 10 {
	case 0:
		return indexOf(name, at(i), dg(fmt.Sprintf("cost-%d", i+1)), dg(fmt.Sprintf("cost-%d", i+2)))
	case 5:
		m := art(name, at(i))
		m.Subject = dg(fmt.Sprintf("cost-%d", i-1))
		return m
	}
	return art(name, at(i))
}

// costIsArtifact reports whether costManifest(i) is an artifact.
func costIsArtifact(i int) bool { return i%10 != 1 && i%10 != 2 && i%10 != 5 }

// testPagingArtifacts checks that a page of Manifests.Artifacts costs
// about as much in a repository of many manifests (costLarge) as in one
// of costSmall artifacts: for the same page (an offset and a limit, both
// ways, with and without time bounds selecting as many artifacts), it
// times the fastest of costRuns Views in each repository and fails when
// the large one's is more than costBound times the small one's. It checks
// the pages and totals, and logs the times.
func testPagingArtifacts(t *testing.T, s meta.Store) {
	large := costLarge
	if testing.Short() {
		large = costLargeShort
	}
	var all []int // the large repository's artifacts, oldest first
	for i := range large {
		if costIsArtifact(i) {
			all = append(all, i)
		}
	}
	for start := 0; start < large; start += batch {
		update(t, s, func(tx meta.Tx) error {
			if start == 0 {
				ensure(t, tx, "cost/large", "cost/small")
			}
			for i := start; i < min(start+batch, large); i++ {
				putManifests(t, tx, "cost/large", costManifest(i))
			}
			return nil
		})
	}
	// The small repository's artifacts are pushed at the same seconds as
	// the large one's last ones, so that one time range selects as many
	// in each.
	tail := all[len(all)-costSmall:]
	update(t, s, func(tx meta.Tx) error {
		for _, i := range tail {
			putManifests(t, tx, "cost/small", art(fmt.Sprintf("cost-small-%d", i), at(i)))
		}
		return nil
	})
	// A range of 40 artifacts in each, ending 20 before the newest.
	from, to := at(tail[costSmall-60]), at(tail[costSmall-21])
	queries := []struct {
		name string
		q    meta.ArtifactQuery
	}{
		{"offset 40 limit 20, newest first", meta.ArtifactQuery{Offset: 40, Limit: 20}},
		{"offset 40 limit 20, oldest first", meta.ArtifactQuery{Offset: 40, Limit: 20, OldestFirst: true}},
		{"40 in a time range, offset 10 limit 20, newest first", meta.ArtifactQuery{Offset: 10, Limit: 20, PushedFrom: from, PushedTo: to}},
		{"40 in a time range, offset 10 limit 20, oldest first", meta.ArtifactQuery{Offset: 10, Limit: 20, PushedFrom: from, PushedTo: to, OldestFirst: true}},
	}
	// The pages are right.
	wantOf := func(repo string, q meta.ArtifactQuery) ([]digest.Digest, int) {
		var sel []digest.Digest
		for _, i := range all {
			if repo == "cost/small" && !slices.Contains(tail, i) {
				continue
			}
			if (!q.PushedFrom.IsZero() && at(i).Before(q.PushedFrom)) || (!q.PushedTo.IsZero() && at(i).After(q.PushedTo)) {
				continue
			}
			name := fmt.Sprintf("cost-%d", i)
			if repo == "cost/small" {
				name = fmt.Sprintf("cost-small-%d", i)
			}
			sel = append(sel, dg(name))
		}
		if !q.OldestFirst {
			slices.Reverse(sel)
		}
		return sel[min(q.Offset, len(sel)):min(q.Offset+q.Limit, len(sel))], len(sel)
	}
	view(t, s, func(tx meta.Tx) error {
		for _, repo := range []string{"cost/large", "cost/small"} {
			for _, c := range queries {
				page, total, err := tx.Manifests().Artifacts(repo, c.q)
				check(t, "Artifacts", err)
				want, wantTotal := wantOf(repo, c.q)
				if got := manifestDigests(page); !slices.Equal(got, want) || total != wantTotal {
					t.Errorf("%s, %s: got %d artifacts (total %d), want %d (total %d); pages equal: %v",
						repo, c.name, len(got), total, len(want), wantTotal, slices.Equal(got, want))
				}
			}
		}
		return nil
	})
	if t.Failed() {
		return
	}
	// The costs: the fastest of costRuns Views of each, the repositories
	// taking turns, so that a busy moment of the machine hits both.
	timeView := func(repo string, q meta.ArtifactQuery) time.Duration {
		start := time.Now()
		view(t, s, func(tx meta.Tx) error {
			_, _, err := tx.Manifests().Artifacts(repo, q)
			return err
		})
		return time.Since(start)
	}
	for _, c := range queries {
		fastest := map[string]time.Duration{}
		for range costRuns {
			for _, repo := range []string{"cost/large", "cost/small"} {
				if d := timeView(repo, c.q); fastest[repo] == 0 || d < fastest[repo] {
					fastest[repo] = d
				}
			}
		}
		ratio := float64(fastest["cost/large"]) / float64(fastest["cost/small"])
		t.Logf("%s: %v among %d manifests (%d artifacts), %v among %d artifacts: ratio %.2f",
			c.name, fastest["cost/large"], large, len(all), fastest["cost/small"], costSmall, ratio)
		if ratio > costBound {
			t.Errorf("%s: a page among %d manifests costs %.1f times what it costs among %d (bound %.0f): the listing grows with the repository",
				c.name, large, ratio, costSmall, costBound)
		}
	}
}
