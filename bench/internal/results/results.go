// Package results defines the JSON records bench/load writes and
// bench/report reads, so both sides share one definition of the format.
package results

import "time"

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

// ServerStats is what was sampled from the registry process.
type ServerStats struct {
	PID int `json:"pid"`
	// RSSStartBytes is VmRSS before the first scenario.
	RSSStartBytes int64 `json:"rss_start_bytes"`
	// CPUStartSeconds is utime+stime before the first scenario (start-up).
	CPUStartSeconds float64 `json:"cpu_start_seconds"`
	// PeakRSSBytes is the largest VmHWM seen over the whole process life.
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
	// CPUSeconds is utime+stime over the whole process life, start-up
	// included.
	CPUSeconds float64 `json:"cpu_seconds"`
	// PeakReset tells whether VmHWM could be reset between scenarios, making
	// the per-scenario peaks local to each scenario.
	PeakReset bool `json:"peak_reset"`
	// Error is set when sampling failed (the process died, for instance).
	Error string `json:"error,omitempty"`
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
	// Rounds is how many runs bench/report merged into this one (0 or
	// absent in a file written by bench/load).
	Rounds int `json:"rounds,omitempty"`
}
