package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/berthreg/berth/bench/internal/results"
)

// mergeDB sums the database records of a scenario's rounds: statement
// calls and times, wait estimates and failures add up, and so do the
// requests they are divided by.
func mergeDB(dbs []*results.DBStats) *results.DBStats {
	if len(dbs) == 0 {
		return nil
	}
	out := &results.DBStats{SampleIntervalMs: dbs[0].SampleIntervalMs}
	for _, d := range dbs {
		out.StatementCalls += d.StatementCalls
		out.StatementMs += d.StatementMs
		out.Samples += d.Samples
		out.LockWaitSeconds += d.LockWaitSeconds
		out.LWLockWaitSeconds += d.LWLockWaitSeconds
		out.LogCounted = out.LogCounted || d.LogCounted
		out.LogErrors += d.LogErrors
		out.SerializationFailures += d.SerializationFailures
		out.Deadlocks += d.Deadlocks
		for _, st := range d.Statements {
			// By text: a queryid depends on the tables' oids, which differ
			// between the rounds' fresh databases.
			i := slices.IndexFunc(out.Statements, func(o results.Statement) bool { return o.Query == st.Query })
			if i < 0 {
				out.Statements = append(out.Statements, st)
				continue
			}
			o := &out.Statements[i]
			o.Calls, o.TotalMs, o.Rows = o.Calls+st.Calls, o.TotalMs+st.TotalMs, o.Rows+st.Rows
		}
		for _, wt := range d.Waits {
			i := slices.IndexFunc(out.Waits, func(o results.Wait) bool {
				return o.Type == wt.Type && o.Event == wt.Event && o.Query == wt.Query
			})
			if i < 0 {
				out.Waits = append(out.Waits, wt)
				continue
			}
			out.Waits[i].Seconds += wt.Seconds
		}
		for _, f := range d.Failures {
			i := slices.IndexFunc(out.Failures, func(o results.Failure) bool { return o.Message == f.Message && o.Query == f.Query })
			if i < 0 {
				out.Failures = append(out.Failures, f)
				continue
			}
			out.Failures[i].Count += f.Count
		}
	}
	slices.SortFunc(out.Statements, func(a, b results.Statement) int { return cmpFloat(b.TotalMs, a.TotalMs) })
	slices.SortFunc(out.Waits, func(a, b results.Wait) int { return cmpFloat(b.Seconds, a.Seconds) })
	slices.SortFunc(out.Failures, func(a, b results.Failure) int { return cmpFloat(float64(b.Count), float64(a.Count)) })
	return out
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// dbStatements is how many statements the database section lists per
// scenario.
const dbStatements = 6

// renderDB prints, for each target whose run had the database monitor,
// where PostgreSQL's time went in each scenario's timed sections: the
// statements with the most execution time, per request, and the lock
// waits and failed statements.
func renderDB(w io.Writer, rs []*result) {
	for _, res := range rs {
		has := false
		for _, sc := range res.Scenarios {
			has = has || sc.DB != nil
		}
		if !has {
			continue
		}
		fmt.Fprintf(w, "\n#### PostgreSQL in %s (timed sections; %s)\n", res.Target, roundsNote(res))
		for _, sc := range res.Scenarios {
			if sc.DB == nil || sc.Requests == 0 {
				continue
			}
			renderScenarioDB(w, sc)
		}
	}
}

func roundsNote(res *result) string {
	if res.Rounds > 1 {
		return fmt.Sprintf("summed over %d rounds", res.Rounds)
	}
	return "one round"
}

func renderScenarioDB(w io.Writer, sc scenario) {
	db := sc.DB
	req := float64(sc.Requests)
	fmt.Fprintf(w, "\n%s: %d requests; %.1f statements and %.0f µs of statement execution per request",
		sc.Name, sc.Requests, float64(db.StatementCalls)/req, db.StatementMs*1e3/req)
	fmt.Fprintf(w, "; lock waits %.1f µs per request (%d samples)", db.LockWaitSeconds*1e6/req, db.Samples)
	if db.LogCounted {
		fmt.Fprintf(w, "; %d serialization failures (%.3f per request), %d deadlocks", db.SerializationFailures,
			float64(db.SerializationFailures)/req, db.Deadlocks)
	}
	fmt.Fprint(w, "\n\n| statement | calls/request | mean µs | share of execution time |\n|---|--:|--:|--:|\n")
	for i, st := range db.Statements {
		if i == dbStatements {
			break
		}
		mean := 0.0
		if st.Calls > 0 {
			mean = st.TotalMs * 1e3 / float64(st.Calls)
		}
		share := 0.0
		if db.StatementMs > 0 {
			share = st.TotalMs / db.StatementMs * 100
		}
		fmt.Fprintf(w, "| `%s` | %.2f | %.0f | %.0f %% |\n", cell(st.Query, 110), float64(st.Calls)/req, mean, share)
	}
	for i, f := range db.Failures {
		if i == 3 {
			break
		}
		fmt.Fprintf(w, "\nfailed %d×: %s, in `%s`", f.Count, f.Message, cell(f.Query, 110))
	}
	for i, wt := range db.Waits {
		if i == 3 || wt.Type != "Lock" {
			continue
		}
		fmt.Fprintf(w, "\nlock wait ~%.3f s on %s, in `%s`", wt.Seconds, wt.Event, cell(wt.Query, 110))
	}
	fmt.Fprintln(w)
}

// cell fits text into a markdown table cell: one line, no pipes or
// backticks, at most n bytes.
func cell(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.NewReplacer("|", "¦", "`", "'").Replace(s)
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
