package metatest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// Shape of the concurrency test: writers per repository, repositories, and
// Updates per writer.
const (
	concRepos   = 6
	concWriters = 4
	concRounds  = 12
	concKeep    = 3 // manifests each writer keeps: it deletes round k-concKeep in round k
)

// concManifest is the manifest writer g records in round k (the same digest
// in every repository).
func concManifest(g, k int) meta.Manifest { return image(fmt.Sprintf("g%d-k%02d", g, k), "") }

// concTag is the tag writer g points at its round-k manifest.
func concTag(g, k int) string { return fmt.Sprintf("g%d-k%02d", g, k) }

// concLatest is the tag writer g moves to its newest manifest every round.
func concLatest(g int) string { return fmt.Sprintf("g%d-latest", g) }

// concRepo names repository i.
func concRepo(i int) string { return fmt.Sprintf("conc/repo-%d", i) }

// testConcurrency runs many writers at once, each owning its tags and
// manifests in a shared repository, while readers check in every snapshot
// that each writer's Updates are seen whole; then it checks the exact final
// state.
func testConcurrency(t *testing.T, s meta.Store) {
	ctx := t.Context()
	shared := dg("shared-layer")
	var created [concRepos]atomic.Int32
	var writers, readers sync.WaitGroup
	stop := make(chan struct{})

	for r := range concRepos {
		for g := range concWriters {
			writers.Go(func() {
				repo := concRepo(r)
				for k := range concRounds {
					// fn may run more than once (a backend retries conflicts):
					// only the run that committed counts.
					var c bool
					err := s.Update(ctx, func(tx meta.Tx) error {
						var err error
						if _, c, err = tx.Repositories().Ensure(repo); err != nil {
							return err
						}
						m := concManifest(g, k)
						if err := tx.Manifests().Put(repo, m); err != nil {
							return err
						}
						if err := tx.Tags().Put(repo, concTag(g, k), m.Digest); err != nil {
							return err
						}
						if err := tx.Tags().Put(repo, concLatest(g), m.Digest); err != nil {
							return err
						}
						if k >= concKeep {
							if err := tx.Manifests().Delete(repo, concManifest(g, k-concKeep).Digest); err != nil {
								return err
							}
						}
						if err := tx.Blobs().Link(repo, meta.Blob{Digest: shared, Size: 1, CreatedAt: at(k)}); err != nil {
							return err
						}
						return tx.Uploads().Put(meta.Upload{ID: fmt.Sprintf("%s/g%d", repo, g), Repository: repo, Offset: int64(k)})
					})
					if err != nil {
						t.Errorf("writer %s/g%d round %d: %v", repo, g, k, err)
						return
					}
					if c {
						created[r].Add(1)
					}
				}
			})
		}
	}
	var snapshots atomic.Int64
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := s.View(ctx, func(tx meta.Tx) error { return checkConcSnapshot(tx) }); err != nil {
					t.Errorf("snapshot: %v", err)
					return
				}
				snapshots.Add(1)
			}
		})
	}
	writers.Wait()
	close(stop)
	readers.Wait()
	if t.Failed() {
		return
	}
	t.Logf("%d Updates, %d consistent snapshots read meanwhile", concRepos*concWriters*concRounds, snapshots.Load())

	for r := range concRepos {
		if n := created[r].Load(); n != 1 {
			t.Errorf("%s: Ensure reported created %d times, want exactly 1", concRepo(r), n)
		}
	}
	view(t, s, func(tx meta.Tx) error {
		if err := checkConcSnapshot(tx); err != nil {
			t.Error(err)
		}
		var wantRepos []string
		for r := range concRepos {
			wantRepos = append(wantRepos, concRepo(r))
		}
		names, err := tx.Repositories().List("", 0)
		check(t, "Repositories.List", err)
		wantStrings(t, "repositories", names, wantRepos)
		for _, repo := range wantRepos {
			var wantTags []string
			var wantManifests []digest.Digest
			for g := range concWriters {
				wantTags = append(wantTags, concLatest(g))
				for k := concRounds - concKeep; k < concRounds; k++ {
					wantTags = append(wantTags, concTag(g, k))
					wantManifests = append(wantManifests, concManifest(g, k).Digest)
				}
				last := concManifest(g, concRounds-1).Digest
				if d, err := tx.Tags().Get(repo, concLatest(g)); err != nil || d != last {
					t.Errorf("%s %s: got %s, %v; want %s", repo, concLatest(g), d, err, last)
				}
				of, err := tx.Tags().Of(repo, last)
				check(t, "Of", err)
				wantStrings(t, repo+" Of(last)", of, []string{concTag(g, concRounds-1), concLatest(g)})
				u, err := tx.Uploads().Get(fmt.Sprintf("%s/g%d", repo, g))
				check(t, "Uploads.Get", err)
				if u.Offset != concRounds-1 {
					t.Errorf("%s g%d upload offset %d, want %d", repo, g, u.Offset, concRounds-1)
				}
			}
			slices.Sort(wantTags)
			slices.Sort(wantManifests)
			tags, err := tx.Tags().List(repo, "", 0)
			check(t, "Tags.List", err)
			wantStrings(t, repo+" tags", tags, wantTags)
			ms, err := tx.Manifests().List(repo, "", 0)
			check(t, "Manifests.List", err)
			wantStrings(t, repo+" manifests", ms, wantManifests)
			l, err := tx.Blobs().Linked(repo, shared)
			check(t, "Linked", err)
			wantBlob(t, repo+" link (from its first Update)", l, meta.Blob{Digest: shared, Size: 1, CreatedAt: at(0)})
		}
		b, err := tx.Blobs().Stat(shared)
		check(t, "Stat", err)
		wantBlob(t, "registry-wide record (from the first Update)", b, meta.Blob{Digest: shared, Size: 1, CreatedAt: at(0)})
		us, err := tx.Uploads().List("", 0)
		check(t, "Uploads.List", err)
		if len(us) != concRepos*concWriters {
			t.Errorf("%d upload sessions, want %d", len(us), concRepos*concWriters)
		}
		return nil
	})
}

// checkConcSnapshot checks that a snapshot shows each writer's Updates
// whole: if its latest tag points at round k, exactly rounds
// max(0, k-concKeep+1)..k are present as manifests and tags; if it has no
// latest tag, nothing of it is present. The repository counts and
// counters must agree with what the snapshot lists.
func checkConcSnapshot(tx meta.Tx) error {
	type gk struct{ g, k int }
	owner := map[digest.Digest]gk{}
	for g := range concWriters {
		for k := range concRounds {
			owner[concManifest(g, k).Digest] = gk{g, k}
		}
	}
	repos, err := tx.Repositories().List("", 0)
	if err != nil {
		return err
	}
	for _, project := range []string{"", "conc"} {
		if n, err := tx.Repositories().Count(project); err != nil || n != len(repos) {
			return fmt.Errorf("Count(%q) = %d, %v; the snapshot lists %d repositories", project, n, err, len(repos))
		}
	}
	for _, repo := range repos {
		tags, err := tx.Tags().List(repo, "", 0)
		if err != nil {
			return err
		}
		ms, err := tx.Manifests().List(repo, "", 0)
		if err != nil {
			return err
		}
		// Every manifest is an image: each is an artifact.
		st, err := tx.Repositories().Stats(repo)
		if err != nil {
			return err
		}
		if want := (meta.RepositoryStats{Manifests: len(ms), Artifacts: len(ms), Tags: len(tags)}); st != want {
			return fmt.Errorf("%s: counters %+v disagree with the snapshot's records %+v", repo, st, want)
		}
		for g := range concWriters {
			var wantTags []string
			var wantMs []digest.Digest
			latest, err := tx.Tags().Get(repo, concLatest(g))
			switch {
			case err == nil:
				o, ok := owner[latest]
				k := o.k
				if !ok || o.g != g {
					return fmt.Errorf("%s: %s points at unknown %s", repo, concLatest(g), latest)
				}
				wantTags = append(wantTags, concLatest(g))
				for j := max(0, k-concKeep+1); j <= k; j++ {
					wantTags = append(wantTags, concTag(g, j))
					wantMs = append(wantMs, concManifest(g, j).Digest)
				}
			case !errors.Is(err, meta.ErrNotFound):
				return err
			}
			prefix := fmt.Sprintf("g%d-", g)
			gotTags := slices.DeleteFunc(slices.Clone(tags), func(s string) bool { return !strings.HasPrefix(s, prefix) })
			gotMs := slices.DeleteFunc(slices.Clone(ms), func(d digest.Digest) bool {
				o, ok := owner[d]
				return ok && o.g != g
			})
			slices.Sort(wantTags)
			slices.Sort(wantMs)
			if !slices.Equal(gotTags, wantTags) || !slices.Equal(gotMs, wantMs) {
				return fmt.Errorf("%s writer g%d: torn snapshot: tags %q manifests %v; want tags %q manifests %v",
					repo, g, gotTags, gotMs, wantTags, wantMs)
			}
		}
	}
	return nil
}
