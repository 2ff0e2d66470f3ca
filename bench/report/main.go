// Command report turns result files of bench/load into a side-by-side
// markdown table.
//
// Usage:
//
//	report [-sha256 sha.json] berth.json distribution.json
//
// The first file is the registry under study, the second the baseline. The
// ratio column is first/second for higher-is-better metrics and
// second/first for lower-is-better ones (latency, RSS, CPU), so a ratio
// above 1 always means the first registry did better. With one file the
// table has no ratio column. More targets come in pairs (berth,
// distribution, berth-s3, distribution-s3): every target gets a column and
// each pair a ratio column. -sha256 takes the JSON printed by
// bench/sha256speed and adds push throughput as a share of the machine's
// single-core SHA-256 speed.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/berthreg/berth/bench/internal/results"
	"github.com/berthreg/berth/bench/internal/stats"
)

// The records bench/load writes.
type (
	metric      = results.Metric
	scenario    = results.ScenarioResult
	serverStats = results.ServerStats
	result      = results.Report
)

func main() {
	shaPath := flag.String("sha256", "", "JSON from bench/sha256speed -json")
	out := flag.String("out", "", "also write the markdown to this file")
	flag.Parse()
	if flag.NArg() < 1 {
		fmt.Fprintln(os.Stderr, "usage: report [-sha256 sha.json] [-out file.md] first.json [baseline.json] [more rounds.json ...]")
		os.Exit(2)
	}
	var all []*result
	for _, p := range flag.Args() {
		r, err := load(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "report:", err)
			os.Exit(1)
		}
		all = append(all, r)
	}
	results := groupRounds(all)
	sha := 0.0
	if *shaPath != "" {
		var s struct {
			MBps float64 `json:"sha256_mbps"`
		}
		b, err := os.ReadFile(*shaPath)
		if err == nil {
			err = json.Unmarshal(b, &s)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "report: -sha256:", err)
			os.Exit(1)
		}
		sha = s.MBps
	}

	var sb strings.Builder
	renderTargets(&sb, results)
	renderQuota(&sb, results)
	render(&sb, results, sha)
	renderDB(&sb, results)
	fmt.Print(sb.String())
	if *out != "" {
		if err := os.WriteFile(*out, []byte(sb.String()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "report:", err)
			os.Exit(1)
		}
	}
}

func load(path string) (*result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// groupRounds merges the results of each target (in order of first
// appearance) into one whose figures are medians over its rounds and whose
// error counts are sums.
func groupRounds(all []*result) []*result {
	var order []string
	by := map[string][]*result{}
	for _, r := range all {
		if _, ok := by[r.Target]; !ok {
			order = append(order, r.Target)
		}
		by[r.Target] = append(by[r.Target], r)
	}
	var out []*result
	for _, t := range order {
		out = append(out, merge(by[t]))
	}
	return out
}

// merge combines rounds of one target.
func merge(rounds []*result) *result {
	first := rounds[0]
	m := &result{Target: first.Target, Params: first.Params, Rounds: len(rounds)}
	for _, r := range rounds {
		m.Seconds += r.Seconds
		m.TotalErrors += r.TotalErrors
	}
	for _, sc := range first.Scenarios {
		out := scenario{Name: sc.Name}
		var cpu, rss, dbCPU []float64
		vals := map[string][]float64{}
		var metrics []metric
		var dbs []*results.DBStats
		lat := map[string][]float64{}
		for _, r := range rounds {
			for _, o := range r.Scenarios {
				if o.Name != sc.Name {
					continue
				}
				out.Errors += o.Errors
				out.Seconds += o.Seconds
				out.ErrorSamples = append(out.ErrorSamples, o.ErrorSamples...)
				out.Requests += o.Requests
				cpu = append(cpu, o.ServerCPUSeconds)
				dbCPU = append(dbCPU, o.DBCPUSeconds)
				rss = append(rss, float64(o.ServerPeakRSSBytes))
				if o.DB != nil {
					dbs = append(dbs, o.DB)
				}
				if out.Details == nil && o.Details != nil {
					out.Details = maps.Clone(o.Details)
				}
				if l, ok := o.Details["latency"].(map[string]any); ok {
					for k, v := range l {
						if f, ok := v.(float64); ok {
							lat[k] = append(lat[k], f)
						}
					}
				}
				for _, mt := range o.Metrics {
					if _, seen := vals[mt.Name]; !seen {
						metrics = append(metrics, mt)
					}
					vals[mt.Name] = append(vals[mt.Name], mt.Value)
				}
			}
		}
		for _, mt := range metrics {
			mt.Value = stats.Median(vals[mt.Name])
			out.Metrics = append(out.Metrics, mt)
		}
		out.ServerCPUSeconds = stats.Median(cpu)
		out.DBCPUSeconds = stats.Median(dbCPU)
		out.ServerPeakRSSBytes = int64(stats.Median(rss))
		out.DB = mergeDB(dbs)
		if len(lat) > 0 {
			l := map[string]any{}
			for k, v := range lat {
				l[k] = stats.Median(v)
			}
			out.Details["latency"] = l
		}
		m.Scenarios = append(m.Scenarios, out)
	}
	m.Instances = first.Instances
	if first.DB != nil {
		m.DB = &serverStats{}
	}
	if first.Server != nil {
		var cpu, rss []float64
		m.Server = &serverStats{}
		for _, r := range rounds {
			if r.Server == nil {
				continue
			}
			if r.Server.Error != "" {
				m.Server.Error = r.Server.Error
			}
			cpu = append(cpu, r.Server.CPUSeconds)
			rss = append(rss, float64(r.Server.PeakRSSBytes))
		}
		m.Server.CPUSeconds = stats.Median(cpu)
		m.Server.PeakRSSBytes = int64(stats.Median(rss))
	}
	return m
}

// title capitalises a target name for a column header.
func title(s string) string {
	if s == "" {
		return "?"
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// row is one line of the main table.
type row struct {
	label, unit, better string
	values              []float64 // NaN-free; ok[i] tells presence
	ok                  []bool
	notes               []string
}

func render(w io.Writer, rs []*result, sha float64) {
	n := len(rs)
	var rows []*row
	index := map[string]*row{}
	get := func(name, label, unit, better string) *row {
		if r, ok := index[name]; ok {
			return r
		}
		r := &row{label: label, unit: unit, better: better, values: make([]float64, n), ok: make([]bool, n), notes: make([]string, n)}
		index[name] = r
		rows = append(rows, r)
		return r
	}
	// Rows go by scenario, each scenario's rows in the order of the
	// target with the most of them (a PostgreSQL target splits its CPU
	// rows), so a scenario's rows stay together.
	for _, name := range scenarioOrder(rs) {
		best := []metric(nil)
		for _, res := range rs {
			if sc := findScenario(res, name); sc != nil && len(sc.Metrics) > len(best) {
				best = sc.Metrics
			}
		}
		for _, m := range best {
			get(m.Name, m.Label, m.Unit, m.Better)
		}
	}
	for i, res := range rs {
		for _, sc := range res.Scenarios {
			for _, m := range sc.Metrics {
				r := get(m.Name, m.Label, m.Unit, m.Better)
				r.values[i], r.ok[i] = m.Value, true
				if sc.Errors > 0 {
					r.notes[i] = fmt.Sprintf(" (%d err)", sc.Errors)
				}
			}
		}
	}
	// Scenarios that produced no metric for a target still get a row per
	// metric the other target has; mark their errors there.
	for i, res := range rs {
		for _, sc := range res.Scenarios {
			if len(sc.Metrics) == 0 && sc.Errors > 0 {
				for _, o := range rs {
					for _, osc := range o.Scenarios {
						if osc.Name != sc.Name {
							continue
						}
						for _, m := range osc.Metrics {
							index[m.Name].notes[i] = fmt.Sprintf(" (%d err)", sc.Errors)
						}
					}
				}
			}
		}
	}
	if sha > 0 {
		for _, name := range []string{"blob_push_monolithic", "blob_push_chunked"} {
			src, ok := index[name]
			if !ok {
				continue
			}
			r := get(name+"_sha", src.label+", % of one-core sha256", "%", "higher")
			for i := range n {
				r.values[i], r.ok[i], r.notes[i] = src.values[i]/sha*100, src.ok[i], src.notes[i]
			}
			// Show the share right under the throughput it derives from.
			rows = rows[:len(rows)-1]
			at := slices.Index(rows, src) + 1
			rows = slices.Insert(rows, at, r)
		}
	}
	for i, res := range rs {
		if res.Server == nil {
			continue
		}
		r := get("server_peak_rss", "server peak RSS (VmHWM), whole run", "MiB", "lower")
		r.values[i], r.ok[i] = float64(res.Server.PeakRSSBytes)/(1<<20), res.Server.Error == ""
		r = get("server_cpu", "server CPU time (utime+stime), whole run", "s", "lower")
		r.values[i], r.ok[i] = res.Server.CPUSeconds, res.Server.Error == ""
	}
	errRow := get("errors", "failed operations", "", "lower")
	for i, res := range rs {
		errRow.values[i], errRow.ok[i] = float64(res.TotalErrors), true
	}

	// Header.
	fmt.Fprint(w, "| metric |")
	for _, res := range rs {
		fmt.Fprintf(w, " %s |", title(res.Target))
	}
	pairs := n / 2
	if n > 2 && n%2 != 0 {
		pairs = 0 // an odd number of targets has no pairs to compare
	}
	for p := range pairs {
		a, b := title(rs[2*p].Target), title(rs[2*p+1].Target)
		fmt.Fprintf(w, " ratio (%s/%s, >1 = %s better) |", a, b, a)
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, "|---|")
	for range n + pairs {
		fmt.Fprint(w, "--:|")
	}
	fmt.Fprintln(w)

	for _, r := range rows {
		unit := r.unit
		if unit != "" {
			unit = " " + unit
		}
		fmt.Fprintf(w, "| %s |", r.label)
		for i := range n {
			if !r.ok[i] {
				fmt.Fprintf(w, " —%s |", r.notes[i])
				continue
			}
			v := stats.FormatValue(r.values[i])
			if r == errRow {
				v = fmt.Sprintf("%.0f", r.values[i])
			}
			fmt.Fprintf(w, " %s%s%s |", v, unit, r.notes[i])
		}
		for p := range pairs {
			fmt.Fprintf(w, " %s |", ratio(r, 2*p, r == errRow))
		}
		fmt.Fprintln(w)
	}
	if rs[0].Rounds > 1 {
		fmt.Fprintf(w, "\nEach figure is the median of %d rounds; error counts are totals.\n", rs[0].Rounds)
	}
	if sha > 0 {
		fmt.Fprintf(w, "\nOne-core crypto/sha256 on this machine: %.0f MB/s. MB = 10^6 bytes.\n", sha)
	}

	// Per-scenario server resources.
	if rs[0].Server != nil {
		fmt.Fprintf(w, "\nServer resources per scenario (setup included; peak RSS is local to the scenario, summed over instances; PostgreSQL's CPU apart):\n\n| scenario |")
		for _, res := range rs {
			fmt.Fprintf(w, " %s CPU s | %s peak RSS MiB |", title(res.Target), title(res.Target))
			if res.DB != nil {
				fmt.Fprintf(w, " %s PostgreSQL CPU s |", title(res.Target))
			}
		}
		fmt.Fprint(w, "\n|---|")
		for _, res := range rs {
			fmt.Fprint(w, "--:|--:|")
			if res.DB != nil {
				fmt.Fprint(w, "--:|")
			}
		}
		fmt.Fprintln(w)
		for _, sc := range rs[0].Scenarios {
			fmt.Fprintf(w, "| %s |", sc.Name)
			for _, res := range rs {
				o := findScenario(res, sc.Name)
				switch {
				case o == nil:
					fmt.Fprint(w, " — | — |")
				default:
					fmt.Fprintf(w, " %s | %s |", stats.FormatValue(o.ServerCPUSeconds), stats.FormatValue(float64(o.ServerPeakRSSBytes)/(1<<20)))
				}
				if res.DB != nil {
					if o == nil {
						fmt.Fprint(w, " — |")
					} else {
						fmt.Fprintf(w, " %s |", stats.FormatValue(o.DBCPUSeconds))
					}
				}
			}
			fmt.Fprintln(w)
		}
	}

	// Errors, if any.
	for _, res := range rs {
		for _, sc := range res.Scenarios {
			for _, e := range sc.ErrorSamples {
				fmt.Fprintf(w, "\n- %s %s: %s", res.Target, sc.Name, e)
			}
		}
		if res.Server != nil && res.Server.Error != "" {
			fmt.Fprintf(w, "\n- %s: %s", res.Target, res.Server.Error)
		}
	}
	fmt.Fprintln(w)
}

// scenarioOrder lists the scenarios of all targets in order of first
// appearance.
func scenarioOrder(rs []*result) []string {
	var names []string
	for _, res := range rs {
		for _, sc := range res.Scenarios {
			if !slices.Contains(names, sc.Name) {
				names = append(names, sc.Name)
			}
		}
	}
	return names
}

// findScenario returns res's scenario called name, or nil.
func findScenario(res *result, name string) *scenario {
	for i := range res.Scenarios {
		if res.Scenarios[i].Name == name {
			return &res.Scenarios[i]
		}
	}
	return nil
}

// ratio compares the targets at i and i+1: first/second for
// higher-is-better rows and second/first for lower-is-better ones.
func ratio(r *row, i int, isErrors bool) string {
	if isErrors || !r.ok[i] || !r.ok[i+1] {
		return "—"
	}
	a, b := r.values[i], r.values[i+1]
	if r.better == "lower" {
		a, b = b, a
	}
	if b <= 0 || a <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a/b)
}
