package metatest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/berthreg/berth/meta"
)

// Sizes of the large paging test.
const (
	bigRepos   = 1000
	bigTags    = 5000
	bigTargets = 5 // the tags spread over this many manifests
	batch      = 500
)

// bigRepoName names repository i so that byte order, numeric order and
// insertion order all differ.
func bigRepoName(i int) string { return fmt.Sprintf("team-%d/app%d", i%37, i) }

// bigTagName names tag i, mixing the shapes real registries see.
func bigTagName(i int) string {
	switch i % 4 {
	case 0:
		return fmt.Sprintf("v%d.%d.%d", i/100, i/10%10, i%10)
	case 1:
		return fmt.Sprintf("build-%d", i)
	case 2:
		return fmt.Sprintf("sha256-%064x.sig", i)
	default:
		return fmt.Sprintf("B_%d", i)
	}
}

// testPagingLarge pages through 1000 repositories and 5000 tags with several
// page sizes, every page in its own View as a registry would, and checks the
// pages are complete, ordered and free of duplicates; it also checks
// Tags.Of on 1000 tags per digest.
func testPagingLarge(t *testing.T, s meta.Store) {
	var repos, tags []string
	for i := range bigRepos {
		repos = append(repos, bigRepoName(i))
	}
	for i := range bigTags {
		tags = append(tags, bigTagName(i))
	}
	targets := make([]meta.Manifest, bigTargets)
	for i := range targets {
		targets[i] = image(fmt.Sprintf("target-%d", i), "")
	}
	update(t, s, func(tx meta.Tx) error {
		ensure(t, tx, "big")
		putManifests(t, tx, "big", targets...)
		return nil
	})
	for chunk := range slices.Chunk(shuffled(repos), batch) {
		update(t, s, func(tx meta.Tx) error { ensure(t, tx, chunk...); return nil })
	}
	order := make([]int, bigTags)
	for i := range order {
		order[i] = i
	}
	order = shuffled(order)
	for chunk := range slices.Chunk(order, batch) {
		update(t, s, func(tx meta.Tx) error {
			for _, i := range chunk {
				putTags(t, tx, "big", targets[i%bigTargets].Digest, tags[i])
			}
			return nil
		})
	}

	wantRepos := append(slices.Clone(repos), "big")
	slices.Sort(wantRepos)
	listRepos := func(after string, limit int) []string {
		t.Helper()
		var page []string
		view(t, s, func(tx meta.Tx) error {
			var err error
			page, err = tx.Repositories().List(after, limit)
			return err
		})
		return page
	}
	for _, limit := range []int{1, 7, 100, 1001, 5000, 0} {
		got := pageAll(t, fmt.Sprintf("repositories, limit %d", limit), limit, listRepos)
		wantStrings(t, fmt.Sprintf("repositories paged by %d", limit), got, wantRepos)
	}

	wantTags := slices.Clone(tags)
	slices.Sort(wantTags)
	if len(slices.Compact(slices.Clone(wantTags))) != bigTags {
		t.Fatal("metatest: bigTagName is not injective")
	}
	listTags := func(after string, limit int) []string {
		t.Helper()
		var page []string
		view(t, s, func(tx meta.Tx) error {
			var err error
			page, err = tx.Tags().List("big", after, limit)
			return err
		})
		return page
	}
	for _, limit := range []int{1, 7, 100, 4999, 5000, 0} {
		got := pageAll(t, fmt.Sprintf("tags, limit %d", limit), limit, listTags)
		wantStrings(t, fmt.Sprintf("tags paged by %d", limit), got, wantTags)
	}

	view(t, s, func(tx meta.Tx) error {
		for d, m := range targets {
			var want []string
			for i, tag := range tags {
				if i%bigTargets == d {
					want = append(want, tag)
				}
			}
			slices.Sort(want)
			of, err := tx.Tags().Of("big", m.Digest)
			check(t, "Of", err)
			wantStrings(t, fmt.Sprintf("Of(target-%d)", d), of, want)
		}
		return nil
	})
}
