package main

import (
	"fmt"
	"io"
)

// The targets bench/run.sh names for the quota comparison.
const (
	targetPGQuota   = "berth-pg-quota"   // berth-pg, every project limited
	targetPGNoQuota = "berth-pg-noquota" // berth-pg, quotas off
	// minQuotaRate is issue 18's target: throughput with a quota at
	// least 0.9× that without.
	minQuotaRate = 0.9
)

// quotaRequests are the pushes a quota counts.
var quotaRequests = []request{
	{"manifest PUT", "manifest_push"},
	{"small blob push (one POST)", "small_blob_push"},
	{contendedLabel + " (per image, 5 requests)", "push_contended"},
}

// renderQuota prints push throughput and server CPU with every project
// limited against quotas off, and the 16 pushers' lock waits, when both
// targets ran.
func renderQuota(w io.Writer, rs []*result) {
	on, off := byTarget(rs, targetPGQuota), byTarget(rs, targetPGNoQuota)
	if on == nil || off == nil {
		return
	}
	fmt.Fprintf(w, "Quota on vs off, one instance on PostgreSQL (%s vs %s; ✓ met, ✗ missed):\n\n", targetPGQuota, targetPGNoQuota)
	fmt.Fprintln(w, "| request | off req/s | on req/s | on/off throughput (target ≥ 0.9×) | off CPU/req | on CPU/req | on/off CPU |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|")
	for _, rq := range quotaRequests {
		ro, okro := value(off, rq.metric)
		rn, okrn := value(on, rq.metric)
		co, okco := value(off, rq.metric+"_cpu")
		cn, okcn := value(on, rq.metric+"_cpu")
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", rq.label,
			cellOf(ro, okro, "/s"), cellOf(rn, okrn, "/s"), fmtRatio(rn, ro, okrn, okro, minQuotaRate, false),
			cellOf(co, okco, "µs"), cellOf(cn, okcn, "µs"), fmtRatio(cn, co, okcn, okco, 0, true))
	}
	renderContended(w, []*result{off, on})
	fmt.Fprintln(w)
}
