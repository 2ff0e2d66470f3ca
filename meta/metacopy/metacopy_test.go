package metacopy_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/metacopy"
	"github.com/berthreg/berth/meta/metatest"
)

// TestCopyAcrossBackends copies a filled store of each backend into a
// store of each backend and back (bolt→postgres→bolt,
// postgres→bolt→postgres, …), checking every copy.
func TestCopyAcrossBackends(t *testing.T) {
	for _, from := range teststores.Backends() {
		for _, to := range teststores.Backends() {
			t.Run(from.Name+"→"+to.Name, func(t *testing.T) {
				metatest.RunPorterAcross(t, opener(from.Open), opener(to.Open))
			})
		}
	}
}

func opener(open teststores.Opener) func(*testing.T) meta.Store {
	return func(t *testing.T) meta.Store { return open(t) }
}

// filledCopy returns a store Fill filled and an exact copy of it.
func filledCopy(t *testing.T, open teststores.Opener) (src, dst meta.Store) {
	src, dst = open(t), open(t)
	metatest.Fill(t, src)
	if _, err := metacopy.Copy(t.Context(), dst, src); err != nil {
		t.Fatalf("Copy: %v", err)
	}
	return src, dst
}

// TestCompareFindsDifferences changes a copy in every listing Compare
// covers and checks that each change is reported, naming what changed.
func TestCompareFindsDifferences(t *testing.T) {
	teststores.Each(t, func(t *testing.T, open teststores.Opener) {
		src, dst := filledCopy(t, open)
		a, referrer := dg("fill-a"), dg("fill-referrer")
		var want []string
		err := dst.Update(t.Context(), func(tx meta.Tx) error {
			m, err := tx.Manifests().Get("lib/app", dg("fill-index"))
			if err != nil {
				return err
			}
			m.Annotations = map[string]string{"changed": "yes"}
			r, err := tx.Manifests().Get("lib/app", referrer)
			if err != nil {
				return err
			}
			r.Subject = dg("fill-index")
			cur, err := tx.Cursors().Get("webhook")
			if err != nil {
				return err
			}
			cur.Seq++
			js, err := tx.Jobs().List(meta.JobFilter{State: meta.JobDead}, 0, 0)
			if err != nil || len(js) != 1 {
				return fmt.Errorf("dead jobs %v: %w", js, err)
			}
			js[0].Attempts++
			up, err := tx.Uploads().Get("u1")
			if err != nil {
				return err
			}
			up.Offset++
			log, err := tx.Events().Backward(0, 0, 0, nil)
			if err != nil || len(log.Events) == 0 {
				return fmt.Errorf("events %v: %w", log.Events, err)
			}
			oldest := log.Events[len(log.Events)-1]
			c := tx.Collector()
			for _, change := range []struct {
				what string
				err  error
			}{
				{fmt.Sprintf("manifest %s in %q", m.Digest, "lib/app"), tx.Manifests().Put("lib/app", m)},
				{fmt.Sprintf("manifest %s in %q", referrer, "lib/app"), tx.Manifests().Put("lib/app", r)},
				{fmt.Sprintf("referrers of %s in %q", a, "lib/app"), nil},
				{fmt.Sprintf("referrers of %s in %q", m.Digest, "lib/app"), nil},
				{`tag "latest" in "lib/app"`, tx.Tags().Delete("lib/app", "latest")},
				{fmt.Sprintf("tags of manifest %s in %q", a, "lib/app"), nil},
				{fmt.Sprintf("link of %s in %q", dg("fill-shared"), "lib/other"), tx.Blobs().Unlink("lib/other", dg("fill-shared"))},
				{fmt.Sprintf("blob %s", dg("fill-orphan")), c.Tombstones().Tombstone(dg("fill-orphan"), metatest.At(99))},
				{fmt.Sprintf("tombstone of %s", dg("fill-orphan")), nil},
				{fmt.Sprintf("tombstone of %s", dg("fill-tombstoned")), c.Tombstones().Bury(dg("fill-tombstoned"))},
				{fmt.Sprintf("claim of %s", dg("fill-claim-1")), c.Claims().Release(dg("fill-claim-1"))},
				{`repository "extra/repo"`, ensure(tx, "extra/repo")},
				{`upload session "u1"`, tx.Uploads().Put(up)},
				{fmt.Sprintf("event %d", oldest.Seq), purgeOne(tx)},
				{`event log cursor "webhook"`, tx.Cursors().Put(cur)},
				{fmt.Sprintf("job %d", js[0].ID), tx.Jobs().Put(js[0])},
				{`record "lib" of kind "projects"`, tx.Records("projects").Put("lib", []byte(`{"name":"lib"}`))},
				{`record kind "extra"`, tx.Records("extra").Put("k", nil)},
				{"garbage collection", c.Collection().End()},
			} {
				if change.err != nil {
					return fmt.Errorf("%s: %w", change.what, change.err)
				}
				want = append(want, change.what)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		diffs, err := metacopy.Compare(t.Context(), src, dst)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range diffs {
			got = append(got, d.What)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("differences found:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
		for _, d := range diffs {
			if d.What == `repository "extra/repo"` && (d.A != "" || !strings.HasPrefix(d.String(), d.What+": only in b: ")) {
				t.Errorf("a repository only in b reads %q", d)
			}
		}
		capped, err := metacopy.Compare(t.Context(), src, dst, metacopy.WithMaxDifferences(3))
		if err != nil || len(capped) != 3 {
			t.Errorf("WithMaxDifferences(3): %d differences, %v", len(capped), err)
		}
	})
}

func dg(name string) digest.Digest { return digest.FromString(name) }

func ensure(tx meta.Tx, repo string) error {
	_, _, err := tx.Repositories().Ensure(repo)
	return err
}

func purgeOne(tx meta.Tx) error {
	_, err := tx.Events().Purge(time.Now(), ^uint64(0), 1)
	return err
}

// TestCompareCounters checks that a copy whose counters are below the
// original's differs (it would number new events among the original's),
// and one whose counters are above does not.
func TestCompareCounters(t *testing.T) {
	a, b := testbolt.Open(t), testbolt.Open(t)
	err := a.Update(t.Context(), func(tx meta.Tx) error {
		_, err := tx.Jobs().Enqueue(meta.Job{Kind: "k"}, time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = b.Update(t.Context(), func(tx meta.Tx) error {
		return tx.(meta.Porter).Restore().Sequences(meta.Sequences{Events: 5})
	})
	if err != nil {
		t.Fatal(err)
	}
	diffs, err := metacopy.Compare(t.Context(), a, b)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range diffs {
		got = append(got, d.String())
	}
	want := []string{"job counter: a has at 1, b has at 0, below a's", "job 1: only in a: "}
	if len(got) != 2 || got[0] != want[0] || !strings.HasPrefix(got[1], want[1]) {
		t.Errorf("differences %q, want %q", got, want)
	}
}

// TestCompareTimesToTheMicrosecond checks that Compare sees times as the
// stores keep them: a nanosecond apart is the same time, a microsecond
// apart is not.
func TestCompareTimesToTheMicrosecond(t *testing.T) {
	base := time.Date(2025, 1, 2, 3, 4, 5, 6000, time.FixedZone("X", 3600))
	for _, c := range []struct {
		shift time.Duration
		same  bool
	}{{0, true}, {900 * time.Nanosecond, true}, {time.Microsecond, false}, {time.Hour, false}} {
		a, b := testbolt.Open(t), testbolt.Open(t)
		put := func(s meta.Store, at time.Time) {
			err := s.Update(t.Context(), func(tx meta.Tx) error {
				return tx.Uploads().Put(meta.Upload{ID: "u", Repository: "r", StartedAt: at, UpdatedAt: at, HashState: []byte{}})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		put(a, base)
		put(b, base.UTC().Add(c.shift))
		diffs, err := metacopy.Compare(t.Context(), a, b)
		if err != nil || (len(diffs) == 0) != c.same {
			t.Errorf("times %v apart: differences %v (%v), want same=%v", c.shift, diffs, err, c.same)
		}
	}
}

// plainStore hides a store's meta.Porter: its transactions have only the
// views of meta.Tx.
type plainStore struct{ meta.Store }

type plainTx struct{ meta.Tx }

func (s plainStore) View(ctx context.Context, fn func(meta.Tx) error) error {
	return s.Store.View(ctx, func(tx meta.Tx) error { return fn(plainTx{tx}) })
}

func (s plainStore) Update(ctx context.Context, fn func(meta.Tx) error) error {
	return s.Store.Update(ctx, func(tx meta.Tx) error { return fn(plainTx{tx}) })
}

// TestNotPortable checks that a store without meta.Porter is refused, as
// source, destination, or either side of Compare.
func TestNotPortable(t *testing.T) {
	plain, full := plainStore{testbolt.Open(t)}, testbolt.Open(t)
	for what, err := range map[string]error{
		"as destination": func() error { _, err := metacopy.Copy(t.Context(), plain, full); return err }(),
		"as source":      func() error { _, err := metacopy.Copy(t.Context(), testbolt.Open(t), plain); return err }(),
		"Compare a":      func() error { _, err := metacopy.Compare(t.Context(), plain, full); return err }(),
		"Compare b":      func() error { _, err := metacopy.Compare(t.Context(), full, plain); return err }(),
	} {
		if !errors.Is(err, metacopy.ErrNotPortable) {
			t.Errorf("%s: %v, want ErrNotPortable", what, err)
		}
	}
}

// countingStore counts the Updates of a store.
type countingStore struct {
	meta.Store
	updates int
}

func (s *countingStore) Update(ctx context.Context, fn func(meta.Tx) error) error {
	s.updates++
	return s.Store.Update(ctx, fn)
}

// TestCopyWritesInBatches checks that Copy writes a batch per Update,
// reports its progress after each, and writes everything in one Update
// when the batch holds it all.
func TestCopyWritesInBatches(t *testing.T) {
	src := testbolt.Open(t)
	metatest.Fill(t, src)
	total := 0
	for _, batch := range []int{1, 7, 100000} {
		dst := &countingStore{Store: testbolt.Open(t)}
		var progress []int
		counts, err := metacopy.Copy(t.Context(), dst, src, metacopy.WithBatchSize(batch), metacopy.WithProgress(func(c metacopy.Counts) {
			n := 0
			for v := range maps.Values(c) {
				n += v
			}
			progress = append(progress, n)
		}))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for v := range maps.Values(counts) {
			n += v
		}
		if total == 0 {
			total = n
		}
		// Each Update holds batch writes, but for the last; the counters and
		// the collection window are two writes more than the counts.
		wantUpdates := (n + 2 + batch - 1) / batch
		if n != total || dst.updates != wantUpdates || len(progress) != wantUpdates || progress[len(progress)-1] != n {
			t.Errorf("batch %d: %d records in %d Updates, progress %v; want %d in %d", batch, n, dst.updates, progress, total, wantUpdates)
		}
		if !slices.IsSorted(progress) {
			t.Errorf("batch %d: progress went back: %v", batch, progress)
		}
	}
}
