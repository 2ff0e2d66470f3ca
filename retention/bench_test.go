package retention_test

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/immutable"
	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/retention"
)

// BenchmarkPlanManyTags plans the Rainbond policy over one repository of
// BERTH_BENCH_TAGS tags (default 100000), one manifest each, on bbolt:
// the time and memory of a run's planning, which reads every manifest
// and tag of the project in one snapshot. Run it with
//
//	go test -run '^$' -bench PlanManyTags -benchmem ./retention
func BenchmarkPlanManyTags(b *testing.B) {
	n := 100000
	if v := os.Getenv("BERTH_BENCH_TAGS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	store := testbolt.Open(b)
	ctx := b.Context()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := store.Update(ctx, func(tx meta.Tx) error {
		if err := accounts.Projects.In(tx).Put(accounts.Project{Name: "team"}); err != nil {
			return err
		}
		_, _, err := tx.Repositories().Ensure("team/app")
		return err
	}); err != nil {
		b.Fatal(err)
	}
	const perTx = 5000
	for from := 0; from < n; from += perTx {
		if err := store.Update(ctx, func(tx meta.Tx) error {
			for i := from; i < min(from+perTx, n); i++ {
				m := meta.Manifest{Digest: digest.FromString(strconv.Itoa(i)), Size: 500, PushedAt: start.Add(time.Duration(i) * time.Second)}
				if err := tx.Manifests().Put("team/app", m); err != nil {
					return err
				}
				if err := tx.Tags().Put("team/app", fmt.Sprint("t", i), m.Digest); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	q, err := jobs.NewQueue(store)
	if err != nil {
		b.Fatal(err)
	}
	svc, err := retention.New(store, q)
	if err != nil {
		b.Fatal(err)
	}
	every := immutable.Selector{Decoration: immutable.Matches, Pattern: "**"}
	if _, err := svc.SetPolicy(ctx, retention.Policy{Project: "team", Rules: []retention.Rule{
		{Template: retention.LatestPushed, Count: 3, Untagged: true, Repositories: every, Tags: every}}}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var peak uint64
	b.ResetTimer()
	for b.Loop() {
		plans, err := svc.Plan(ctx, "team")
		if err != nil {
			b.Fatal(err)
		}
		if len(plans) != 1 || len(plans[0].Delete) != n-3 {
			b.Fatalf("plan deletes %d, want %d", len(plans[0].Delete), n-3)
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
	}
	b.ReportMetric(float64(n), "tags")
	b.ReportMetric(float64(peak)/(1<<20), "MiB-heap-in-use")
}
