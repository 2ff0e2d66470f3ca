package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/quota"
)

// TestScrapeCache: one read a ttl however many scrapes; a failed read
// keeps the values read before; a scrape does not wait for a slow read
// past its wait, and the next one gets what it read.
func TestScrapeCache(t *testing.T) {
	var (
		mu    sync.Mutex
		now   = time.Unix(0, 0)
		reads int
		fail  error
		gate  chan struct{} // when set, reads wait for it
	)
	c := newScrapeCache("a count", time.Minute, slog.New(slog.DiscardHandler), func(context.Context) (int, error) {
		mu.Lock()
		reads++
		n, err, g := reads, fail, gate
		mu.Unlock()
		if g != nil {
			<-g
		}
		return n, err
	})
	c.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c.wait = time.Minute
	advance := func() { mu.Lock(); now = now.Add(time.Minute); mu.Unlock() }
	for range 3 {
		if v, ok := c.get(); v != 1 || !ok {
			t.Fatalf("get = %v, %v; want the first read's 1", v, ok)
		}
	}
	advance()
	if v, _ := c.get(); v != 2 {
		t.Errorf("after the ttl: %v, want a second read's 2", v)
	}
	mu.Lock()
	fail = errors.New("store down")
	mu.Unlock()
	advance()
	if v, ok := c.get(); v != 2 || !ok {
		t.Errorf("after a failed read: %v, %v; want the last values", v, ok)
	}

	mu.Lock()
	fail, gate = nil, make(chan struct{})
	release := gate
	mu.Unlock()
	c.wait = 0
	advance()
	if v, _ := c.get(); v != 2 {
		t.Errorf("while the read is held: %v, want the last values", v)
	}
	close(release)
	eventually.True(t, "the held read's values", func() bool { v, _ := c.get(); return v == 4 })
	mu.Lock()
	defer mu.Unlock()
	if reads != 4 {
		t.Errorf("%d reads, want 4", reads)
	}
}

// TestInventoryMetrics: the repositories and manifests counted across
// pages, and each project's usage and limit (none for an unlimited one).
func TestInventoryMetrics(t *testing.T) {
	store := testbolt.Open(t)
	ctx := t.Context()
	const repos = inventoryPage + 3
	if err := store.Update(ctx, func(tx meta.Tx) error {
		for i := range repos {
			repo := fmt.Sprintf("team/app%03d", i)
			if _, _, err := tx.Repositories().Ensure(repo); err != nil {
				return err
			}
			for j := range 1 + i%2 {
				m := meta.Manifest{Digest: digest.FromString(fmt.Sprint(repo, j)), MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 2}
				if err := tx.Manifests().Put(repo, m); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	q, err := quota.New(store)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.SetLimit(ctx, "team", 1<<20); err != nil {
		t.Fatal(err)
	}
	if _, err := q.SetLimit(ctx, "open", quota.Unlimited); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	if err := inventoryMetrics(reg, store, q, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	var got [2]float64
	eventually.True(t, "the counts", func() bool {
		var ok bool
		got[0], ok = seriesValue(t, reg, "berth_registry_repositories", nil)
		got[1], _ = seriesValue(t, reg, "berth_registry_manifests", nil)
		return ok
	})
	if want := [2]float64{repos, repos + repos/2}; got != want {
		t.Errorf("repositories and manifests %v, want %v", got, want)
	}
	for _, c := range []struct {
		name, project string
		want          float64
		ok            bool
	}{
		{"berth_quota_used_bytes", "team", 0, true},
		{"berth_quota_limit_bytes", "team", 1 << 20, true},
		{"berth_quota_used_bytes", "open", 0, true},
		{"berth_quota_limit_bytes", "open", 0, false},
	} {
		if v, ok := seriesValue(t, reg, c.name, map[string]string{"project": c.project}); v != c.want || ok != c.ok {
			t.Errorf("%s{project=%q} = %v (%v), want %v (%v)", c.name, c.project, v, ok, c.want, c.ok)
		}
	}
	if err := inventoryMetrics(reg, store, nil, slog.New(slog.DiscardHandler)); err == nil {
		t.Error("registering twice succeeded")
	}
}
