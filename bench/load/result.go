package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/berthreg/berth/bench/internal/results"
	"github.com/berthreg/berth/bench/internal/stats"
)

// The result records are shared with bench/report.
type (
	// Metric is one measured figure.
	Metric = results.Metric
	// ScenarioResult is the outcome of one scenario.
	ScenarioResult = results.ScenarioResult
	// Params records the parameters a run used.
	Params = results.Params
	// Report is the whole output of one run against one registry.
	Report = results.Report
	// ServerStats is what was sampled from the registry process.
	ServerStats = results.ServerStats
)

func writeJSON(path string, rep *Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func printTable(w io.Writer, rep *Report) {
	fmt.Fprintf(w, "\n%s (%s), %.0fs\n", rep.Target, rep.URL, rep.Seconds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tMETRIC\tVALUE\tUNIT\tERRORS")
	for _, sc := range rep.Scenarios {
		if len(sc.Metrics) == 0 {
			fmt.Fprintf(tw, "%s\t(no result)\t-\t\t%d\n", sc.Name, sc.Errors)
		}
		for i, m := range sc.Metrics {
			errs := ""
			if i == 0 {
				errs = fmt.Sprint(sc.Errors)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", sc.Name, m.Label, stats.FormatValue(m.Value), m.Unit, errs)
		}
	}
	if s := rep.Server; s != nil {
		fmt.Fprintf(tw, "server\tpeak RSS\t%s\tMiB\t\n", stats.FormatValue(float64(s.PeakRSSBytes)/(1<<20)))
		fmt.Fprintf(tw, "server\tCPU time, whole life\t%s\ts\t\n", stats.FormatValue(s.CPUSeconds))
	}
	if s := rep.DB; s != nil {
		fmt.Fprintf(tw, "PostgreSQL\tCPU time, this run\t%s\ts\t\n", stats.FormatValue(s.CPUSeconds-s.CPUStartSeconds))
	}
	if s := rep.LB; s != nil {
		fmt.Fprintf(tw, "load balancer\tCPU time, this run\t%s\ts\t\n", stats.FormatValue(s.CPUSeconds-s.CPUStartSeconds))
	}
	if s := rep.Store; s != nil {
		fmt.Fprintf(tw, "object store\tCPU time, this run\t%s\ts\t\n", stats.FormatValue(s.CPUSeconds-s.CPUStartSeconds))
	}
	_ = tw.Flush()
	for _, sc := range rep.Scenarios {
		printDB(w, sc)
	}
	for _, sc := range rep.Scenarios {
		for _, e := range sc.ErrorSamples {
			fmt.Fprintf(w, "error in %s: %s\n", sc.Name, strings.TrimSpace(e))
		}
	}
	if rep.Server != nil && rep.Server.Error != "" {
		fmt.Fprintf(w, "error: %s\n", rep.Server.Error)
	}
}

// printDB prints what PostgreSQL did in a scenario's timed sections.
func printDB(w io.Writer, sc ScenarioResult) {
	db := sc.DB
	if db == nil {
		return
	}
	fmt.Fprintf(w, "\n%s: PostgreSQL, %d statements, %.0f ms executing; lock waits ~%.3f s, LWLock waits ~%.3f s (%d samples)",
		sc.Name, db.StatementCalls, db.StatementMs, db.LockWaitSeconds, db.LWLockWaitSeconds, db.Samples)
	if db.LogCounted {
		fmt.Fprintf(w, "; %d serialization failures, %d deadlocks, %d other errors", db.SerializationFailures, db.Deadlocks,
			db.LogErrors-db.SerializationFailures-db.Deadlocks)
	}
	fmt.Fprintln(w)
	for i, st := range db.Statements {
		if i == 5 {
			break
		}
		perReq := "-"
		if sc.Requests > 0 {
			perReq = fmt.Sprintf("%.2f", float64(st.Calls)/float64(sc.Requests))
		}
		fmt.Fprintf(w, "  %8d calls (%s/request) %9.1f ms  %s\n", st.Calls, perReq, st.TotalMs, oneLine(st.Query, 100))
	}
}
