package main

import (
	"strings"
	"testing"

	"github.com/berthreg/berth/bench/internal/results"
)

func TestRatioMeansFirstIsBetter(t *testing.T) {
	hi := &row{better: "higher", values: []float64{200, 100}, ok: []bool{true, true}}
	lo := &row{better: "lower", values: []float64{50, 100}, ok: []bool{true, true}}
	if got := ratio(hi, 0, false); got != "2.00×" {
		t.Errorf("higher-is-better ratio = %s, want 2.00×", got)
	}
	if got := ratio(lo, 0, false); got != "2.00×" {
		t.Errorf("lower-is-better ratio = %s, want 2.00× (inverted)", got)
	}
	missing := &row{better: "higher", values: []float64{1, 0}, ok: []bool{true, false}}
	if got := ratio(missing, 0, false); got != "—" {
		t.Errorf("ratio with a missing value = %s", got)
	}
}

func TestRenderTwoTargets(t *testing.T) {
	mk := func(target string, push, lat float64, errs int64) *result {
		r := &result{Target: target, TotalErrors: errs}
		r.Scenarios = []scenario{
			{Name: "push-mono", Metrics: []metric{{Name: "blob_push_monolithic", Label: "push", Value: push, Unit: "MB/s", Better: "higher"}}},
			{Name: "tags-list", Errors: errs, Metrics: []metric{{Name: "tags_list_full", Label: "tags", Value: lat, Unit: "ms", Better: "lower"}}},
		}
		return r
	}
	var sb strings.Builder
	render(&sb, []*result{mk("berth", 900, 5, 0), mk("distribution", 300, 10, 2)}, 1000)
	out := sb.String()
	for _, want := range []string{
		"| metric | Berth | Distribution | ratio (Berth/Distribution, >1 = Berth better) |",
		"| push | 900 MB/s | 300 MB/s | 3.00× |",
		"| push, % of one-core sha256 | 90.0 % | 30.0 % | 3.00× |",
		"| tags | 5.00 ms | 10.0 ms (2 err) | 2.00× |",
		"| failed operations | 0 | 2 | — |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestRoundsMergeToMedians(t *testing.T) {
	mk := func(target string, v float64, errs int64) *result {
		return &result{Target: target, TotalErrors: errs, Scenarios: []scenario{{Name: "s", Errors: errs,
			Metrics: []metric{{Name: "m", Label: "m", Value: v, Unit: "ops/s", Better: "higher"}}}}}
	}
	got := groupRounds([]*result{mk("a", 10, 0), mk("b", 1, 0), mk("a", 30, 1), mk("b", 2, 0), mk("a", 20, 0), mk("b", 3, 0)})
	if len(got) != 2 || got[0].Target != "a" || got[1].Target != "b" {
		t.Fatalf("targets = %v", got)
	}
	a := got[0]
	if a.Rounds != 3 || a.Scenarios[0].Metrics[0].Value != 20 || a.Scenarios[0].Errors != 1 || a.TotalErrors != 1 {
		t.Fatalf("merged a = %+v", a.Scenarios[0])
	}
	if v := got[1].Scenarios[0].Metrics[0].Value; v != 2 {
		t.Fatalf("merged b median = %v, want 2", v)
	}
}

func TestRenderTwoPairs(t *testing.T) {
	mk := func(target string, push float64) *result {
		return &result{Target: target, Scenarios: []scenario{{Name: "push-mono",
			Metrics: []metric{{Name: "blob_push_monolithic", Label: "push", Value: push, Unit: "MB/s", Better: "higher"}}}}}
	}
	var sb strings.Builder
	render(&sb, []*result{mk("berth", 900), mk("distribution", 300), mk("berth-s3", 400), mk("distribution-s3", 100)}, 0)
	out := sb.String()
	for _, want := range []string{
		"| metric | Berth | Distribution | Berth-s3 | Distribution-s3 | ratio (Berth/Distribution, >1 = Berth better) | ratio (Berth-s3/Distribution-s3, >1 = Berth-s3 better) |",
		"|---|--:|--:|--:|--:|--:|--:|",
		"| push | 900 MB/s | 300 MB/s | 400 MB/s | 100 MB/s | 3.00× | 4.00× |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestRenderTargetsRatios(t *testing.T) {
	mk := func(target string, rate, cpu float64) *result {
		return &result{Target: target, Scenarios: []scenario{{Name: "manifest-push", Metrics: []metric{
			{Name: "manifest_push", Label: "push", Value: rate, Unit: "ops/s", Better: "higher"},
			{Name: "manifest_push_cpu", Label: "cpu", Value: cpu, Unit: "µs", Better: "lower"},
		}}}}
	}
	var sb strings.Builder
	renderTargets(&sb, []*result{mk("berth", 1000, 500), mk("berth-pg", 500, 1000), mk("berth-pg1", 400, 1000), mk("berth-pg3", 380, 1100)})
	out := sb.String()
	for _, want := range []string{
		"| manifest PUT | 500 µs | 1000 µs | 2.00× ✗ | 1000 /s | 500 /s | 0.50× |",
		"| manifest PUT | 1000 µs | 1100 µs | 1.10× ✓ | 400 /s | 380 /s | 0.95× ✓ | — / — |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	sb.Reset()
	renderTargets(&sb, []*result{mk("berth", 1000, 500), mk("distribution", 500, 1000)})
	if sb.Len() != 0 {
		t.Errorf("targets without PostgreSQL got a targets section:\n%s", sb.String())
	}
}

func TestMergeDBSumsRounds(t *testing.T) {
	a := &results.DBStats{StatementCalls: 10, StatementMs: 5, LockWaitSeconds: 0.5, SerializationFailures: 1,
		Statements: []results.Statement{{QueryID: 1, Query: "q1", Calls: 4, TotalMs: 2}, {QueryID: 2, Query: "q2", Calls: 6, TotalMs: 3}}}
	// Another round's database: the same statement has another queryid.
	b := &results.DBStats{StatementCalls: 10, StatementMs: 7, LockWaitSeconds: 0.25, SerializationFailures: 2,
		Statements: []results.Statement{{QueryID: 7, Query: "q1", Calls: 4, TotalMs: 6}}}
	m := mergeDB([]*results.DBStats{a, b})
	if m.StatementCalls != 20 || m.LockWaitSeconds != 0.75 || m.SerializationFailures != 3 {
		t.Fatalf("merged %+v", m)
	}
	if len(m.Statements) != 2 || m.Statements[0].Query != "q1" || m.Statements[0].Calls != 8 || m.Statements[0].TotalMs != 8 {
		t.Fatalf("statements %+v, want q1 first with 8 calls and 8 ms", m.Statements)
	}
	if mergeDB(nil) != nil {
		t.Fatal("no rounds merged to something")
	}
}

func TestRenderQuotaRatios(t *testing.T) {
	mk := func(target string, rate, cpu float64) *result {
		return &result{Target: target, Scenarios: []scenario{{Name: "manifest-push", Metrics: []metric{
			{Name: "manifest_push", Label: "push", Value: rate, Unit: "ops/s", Better: "higher"},
			{Name: "manifest_push_cpu", Label: "cpu", Value: cpu, Unit: "µs", Better: "lower"},
		}}}}
	}
	var sb strings.Builder
	renderQuota(&sb, []*result{mk("berth-pg-noquota", 500, 1000), mk("berth-pg-quota", 460, 1080)})
	if want := "| manifest PUT | 500 /s | 460 /s | 0.92× ✓ | 1000 µs | 1080 µs | 1.08× |"; !strings.Contains(sb.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, sb.String())
	}
	sb.Reset()
	renderQuota(&sb, []*result{mk("berth-pg-noquota", 500, 1000), mk("berth-pg-quota", 400, 1200)})
	if want := "0.80× ✗"; !strings.Contains(sb.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, sb.String())
	}
	sb.Reset()
	renderQuota(&sb, []*result{mk("berth-pg", 500, 1000)})
	if sb.Len() != 0 {
		t.Errorf("no quota targets, yet a section:\n%s", sb.String())
	}
}
