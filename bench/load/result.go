package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/berthreg/berth/bench/internal/stats"
)

// Metric is one measured figure.
type Metric struct {
	// Name is a stable key, the same for every registry measured.
	Name string `json:"name"`
	// Label describes the measurement for people.
	Label string  `json:"label"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	// Better is "higher" or "lower".
	Better string `json:"better"`
}

// ScenarioResult is the outcome of one scenario.
type ScenarioResult struct {
	Name string `json:"name"`
	// Seconds is the scenario's wall time, setup included.
	Seconds float64 `json:"seconds"`
	// Errors counts failed operations; ErrorSamples holds the first few.
	Errors       int64    `json:"errors"`
	ErrorSamples []string `json:"error_samples,omitempty"`
	Metrics      []Metric `json:"metrics"`
	// Details holds secondary figures: operation counts, latency
	// percentiles, setup times, pages.
	Details map[string]any `json:"details,omitempty"`
	// ServerCPUSeconds is the server's CPU time over the whole scenario,
	// setup included; ServerTimedCPUSeconds only over the measured parts.
	ServerCPUSeconds      float64 `json:"server_cpu_seconds,omitempty"`
	ServerTimedCPUSeconds float64 `json:"server_timed_cpu_seconds,omitempty"`
	// ServerPeakRSSBytes is the server's VmHWM at the end of the scenario
	// (local to the scenario when ServerStats.PeakReset).
	ServerPeakRSSBytes int64 `json:"server_peak_rss_bytes,omitempty"`
}

// Params records the parameters a run used.
type Params struct {
	Scenarios        []string `json:"scenarios"`
	BlobSize         int64    `json:"blob_size"`
	ChunkSize        int64    `json:"chunk_size"`
	SmallSize        int64    `json:"small_size"`
	Duration         string   `json:"duration"`
	Count            int64    `json:"count"`
	Concurrency      int      `json:"concurrency"`
	GetConcurrency   int      `json:"get_concurrency"`
	SetupConcurrency int      `json:"setup_concurrency"`
	GetTags          int      `json:"get_tags"`
	ListTags         int      `json:"list_tags"`
	CatalogRepos     int      `json:"catalog_repos"`
	PageSize         int      `json:"page_size"`
	Repeat           int      `json:"repeat"`
	PullRepeat       int      `json:"pull_repeat"`
	Seed             uint64   `json:"seed"`
}

// Report is the whole output of one run against one registry.
type Report struct {
	Target      string           `json:"target"`
	URL         string           `json:"url"`
	Started     time.Time        `json:"started"`
	Seconds     float64          `json:"seconds"`
	GoVersion   string           `json:"go_version"`
	CPUs        int              `json:"cpus"`
	Params      Params           `json:"params"`
	Scenarios   []ScenarioResult `json:"scenarios"`
	Server      *ServerStats     `json:"server,omitempty"`
	TotalErrors int64            `json:"total_errors"`
}

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
	_ = tw.Flush()
	for _, sc := range rep.Scenarios {
		for _, e := range sc.ErrorSamples {
			fmt.Fprintf(w, "error in %s: %s\n", sc.Name, strings.TrimSpace(e))
		}
	}
	if rep.Server != nil && rep.Server.Error != "" {
		fmt.Fprintf(w, "error: %s\n", rep.Server.Error)
	}
}
