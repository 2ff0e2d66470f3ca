package main

import (
	"fmt"
	"io"

	"github.com/berthreg/berth/bench/internal/stats"
)

// The targets bench/run.sh names for the PostgreSQL comparisons.
const (
	targetBolt = "berth"     // one instance, fs + bbolt
	targetPG   = "berth-pg"  // one instance, fs + PostgreSQL
	targetPG1  = "berth-pg1" // one instance, MinIO + PostgreSQL, behind nginx
	targetPG3  = "berth-pg3" // three instances, MinIO + PostgreSQL, behind nginx
)

// The targets.
const (
	maxPGOverBolt  = 1.5 // PostgreSQL's server CPU per request vs bbolt's
	maxCPU3Over1   = 1.2 // three instances' server CPU per request vs one's
	minRate3Over1  = 0.9 // three instances' throughput vs one's
	contendedLabel = "16 pushers, one repository"
)

// request is one kind of request the targets are about: its throughput
// metric and, with _cpu appended, its server CPU per request.
type request struct{ label, metric string }

var requests = []request{
	{"manifest PUT", "manifest_push"},
	{"manifest GET by tag", "manifest_get"},
	{"small blob push (one POST)", "small_blob_push"},
	{"tag list page (n=100)", "tags_page"},
	{contendedLabel + " (per image, 5 requests)", "push_contended"},
}

// value returns a metric's value for a target, if it has one.
func value(res *result, name string) (float64, bool) {
	if res == nil {
		return 0, false
	}
	for _, sc := range res.Scenarios {
		for _, m := range sc.Metrics {
			if m.Name == name {
				return m.Value, true
			}
		}
	}
	return 0, false
}

// byTarget finds a target's result.
func byTarget(rs []*result, name string) *result {
	for _, r := range rs {
		if r.Target == name {
			return r
		}
	}
	return nil
}

// fmtRatio prints a/b with a check against limit (at most when atMost,
// else at least); a limit of 0 is no target, and gets no check.
func fmtRatio(a, b float64, okA, okB bool, limit float64, atMost bool) string {
	if !okA || !okB || b <= 0 {
		return "—"
	}
	r := a / b
	if limit <= 0 {
		return fmt.Sprintf("%.2f×", r)
	}
	mark := "✓"
	if (atMost && r > limit) || (!atMost && r < limit) {
		mark = "✗"
	}
	return fmt.Sprintf("%.2f× %s", r, mark)
}

// cellOf prints a metric value with its unit, or a dash.
func cellOf(v float64, ok bool, unit string) string {
	if !ok {
		return "—"
	}
	return stats.FormatValue(v) + " " + unit
}

// renderTargets prints the ratios the PostgreSQL targets name, side by
// side, for the targets present: PostgreSQL vs bbolt on one instance, and
// three instances vs one.
func renderTargets(w io.Writer, rs []*result) {
	bolt, pg := byTarget(rs, targetBolt), byTarget(rs, targetPG)
	pg1, pg3 := byTarget(rs, targetPG1), byTarget(rs, targetPG3)
	if (bolt == nil || pg == nil) && (pg1 == nil || pg3 == nil) {
		return
	}
	fmt.Fprintln(w, "Targets (server CPU = the registry instances' + PostgreSQL's, per request; ✓ met, ✗ missed):")
	if bolt != nil && pg != nil {
		fmt.Fprintf(w, "\nPostgreSQL vs bbolt, one instance, fs storage (%s vs %s):\n\n", targetPG, targetBolt)
		fmt.Fprintln(w, "| request | bbolt CPU/req | PostgreSQL CPU/req (registry + PostgreSQL) | pg/bbolt CPU (target ≤ 1.5×) | bbolt req/s | PostgreSQL req/s | pg/bbolt throughput |")
		fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|")
		for _, rq := range requests {
			bc, okbc := value(bolt, rq.metric+"_cpu")
			pc, okpc := value(pg, rq.metric+"_cpu")
			pb, okpb := value(pg, rq.metric+"_cpu_berth")
			pd, okpd := value(pg, rq.metric+"_cpu_db")
			br, okbr := value(bolt, rq.metric)
			pr, okpr := value(pg, rq.metric)
			split := cellOf(pc, okpc, "µs")
			if okpb && okpd {
				split += fmt.Sprintf(" (%s + %s)", stats.FormatValue(pb), stats.FormatValue(pd))
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", rq.label, cellOf(bc, okbc, "µs"), split,
				fmtRatio(pc, bc, okpc, okbc, maxPGOverBolt, true), cellOf(br, okbr, "/s"), cellOf(pr, okpr, "/s"),
				fmtRatio(pr, br, okpr, okbr, 0, false))
		}
	}
	if pg1 != nil && pg3 != nil {
		fmt.Fprintf(w, "\nThree instances vs one, PostgreSQL + MinIO behind nginx (%s vs %s):\n\n", targetPG3, targetPG1)
		fmt.Fprintln(w, "| request | 1 instance CPU/req | 3 instances CPU/req | 3/1 CPU (target ≤ 1.2×) | 1 instance req/s | 3 instances req/s | 3/1 throughput (target ≥ 0.9×) | nginx CPU/req, 1 / 3 |")
		fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|")
		for _, rq := range requests {
			c1, ok1 := value(pg1, rq.metric+"_cpu")
			c3, ok3 := value(pg3, rq.metric+"_cpu")
			r1, okr1 := value(pg1, rq.metric)
			r3, okr3 := value(pg3, rq.metric)
			l1, okl1 := value(pg1, rq.metric+"_cpu_lb")
			l3, okl3 := value(pg3, rq.metric+"_cpu_lb")
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s / %s |\n", rq.label,
				cellOf(c1, ok1, "µs"), cellOf(c3, ok3, "µs"), fmtRatio(c3, c1, ok3, ok1, maxCPU3Over1, true),
				cellOf(r1, okr1, "/s"), cellOf(r3, okr3, "/s"), fmtRatio(r3, r1, okr3, okr1, minRate3Over1, false),
				cellOf(l1, okl1, "µs"), cellOf(l3, okl3, "µs"))
		}
	}
	renderContended(w, []*result{bolt, pg, pg1, pg3})
	fmt.Fprintln(w)
}

// renderContended prints the 16-pusher figures of the targets present.
func renderContended(w io.Writer, rs []*result) {
	fmt.Fprintf(w, "\n%s: images/s, latency, and PostgreSQL's waits per image:\n\n", contendedLabel)
	fmt.Fprintln(w, "| target | images/s | vs bbolt | p50 / p99 ms | lock wait per image | serialization failures per image |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|")
	bolt, okb := value(rs[0], "push_contended")
	for _, res := range rs {
		if res == nil {
			continue
		}
		sc := findScenario(res, "push-contended")
		if sc == nil {
			continue
		}
		rate, ok := value(res, "push_contended")
		vs := "—"
		if res != rs[0] {
			vs = fmtRatio(rate, bolt, ok, okb, 0, false)
		}
		lat := "—"
		if l, ok := sc.Details["latency"].(map[string]any); ok {
			lat = fmt.Sprintf("%v / %v", fmtMs(l["p50_ms"]), fmtMs(l["p99_ms"]))
		}
		wait, fails := "—", "—"
		perImage, _ := sc.Details["requests_per_image"].(float64)
		if db := sc.DB; db != nil && sc.Requests > 0 && perImage > 0 {
			images := float64(sc.Requests) / perImage
			wait = fmt.Sprintf("%.1f µs", db.LockWaitSeconds*1e6/images)
			if db.LogCounted {
				fails = fmt.Sprintf("%.3f", float64(db.SerializationFailures)/images)
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", res.Target, cellOf(rate, ok, "/s"), vs, lat, wait, fails)
	}
}

// fmtMs formats a latency from a JSON detail.
func fmtMs(v any) string {
	f, ok := v.(float64)
	if !ok {
		return "?"
	}
	return stats.FormatValue(f)
}
