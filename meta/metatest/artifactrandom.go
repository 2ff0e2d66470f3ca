package metatest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// Shape of the randomized artifact test: rounds, the names manifests
// and tags are drawn from, and the push times (few, so that ties are
// common).
const (
	randRounds = 60
	randNames  = 10
	randTags   = 5
	randTimes  = 4
)

// randRepos are the repositories of the randomized test.
var randRepos = []string{"rand/a", "rand/b"}

// testArtifactsRandom runs random sequences of writes (images, indexes
// listing random names, themselves included, accessories, the same digest
// put again with other children, deletes, tag puts, moves and deletes,
// a repository deleted and created again) and checks after each Update
// that the counters, the repository counts and the artifact listing agree
// with the records. The seed is logged.
func testArtifactsRandom(t *testing.T, s meta.Store) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	name := func() string { return fmt.Sprintf("rand-%d", rng.IntN(randNames)) }
	when := func() time.Time { return at(rng.IntN(randTimes)) }
	update(t, s, func(tx meta.Tx) error { ensure(t, tx, randRepos...); return nil })
	// op applies one random write to repo and describes it.
	op := func(tx meta.Tx, repo string) string {
		var err error
		var what string
		switch n := name(); rng.IntN(10) {
		case 0, 1:
			what = "put image " + n
			err = tx.Manifests().Put(repo, art(n, when()))
		case 2, 3:
			var kids []digest.Digest
			for range rng.IntN(4) {
				kids = append(kids, named(name()))
			}
			what = fmt.Sprintf("put index %s of %s", n, names(kids))
			err = tx.Manifests().Put(repo, indexOf(n, when(), kids...))
		case 4:
			m := art(n, when())
			if rng.IntN(2) == 0 {
				m.Subject = named(name())
			} else {
				m = attached(n, m.PushedAt, "application/vnd.dev.cosign.simplesigning.v1+json")
			}
			what = "put accessory " + n
			err = tx.Manifests().Put(repo, m)
		case 5:
			what = "delete " + n
			err = tx.Manifests().Delete(repo, named(n))
		case 6, 7:
			tag := fmt.Sprintf("t%d", rng.IntN(randTags))
			what = fmt.Sprintf("tag %s at %s", tag, n)
			err = tx.Tags().Put(repo, tag, named(n))
		case 8:
			tag := fmt.Sprintf("t%d", rng.IntN(randTags))
			what = "delete tag " + tag
			err = tx.Tags().Delete(repo, tag)
		default:
			if rng.IntN(3) > 0 {
				return "nothing"
			}
			what = "delete and create the repository"
			if err = tx.Repositories().Delete(repo); err == nil {
				_, _, err = tx.Repositories().Ensure(repo)
			}
		}
		if err != nil && !errors.Is(err, meta.ErrNotFound) {
			t.Fatalf("%s in %s: %v", what, repo, err)
		}
		return what
	}
	for round := range randRounds {
		var done []string
		update(t, s, func(tx meta.Tx) error {
			done = done[:0]
			for range 1 + rng.IntN(3) {
				repo := randRepos[rng.IntN(len(randRepos))]
				done = append(done, repo+": "+op(tx, repo))
			}
			return nil
		})
		view(t, s, func(tx meta.Tx) error {
			what := fmt.Sprintf("round %d, after %q", round, done)
			for _, repo := range randRepos {
				checkModel(t, tx, what, repo)
			}
			for project, want := range map[string]int{"": len(randRepos), "rand": len(randRepos)} {
				if n, err := tx.Repositories().Count(project); err != nil || n != want {
					t.Errorf("%s: Count(%q) = %d, %v; want %d", what, project, n, err, want)
				}
			}
			return nil
		})
		if t.Failed() {
			return
		}
	}
}
