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
	// (local to the scenario when ServerStats.PeakReset), summed over the
	// instances.
	ServerPeakRSSBytes int64 `json:"server_peak_rss_bytes,omitempty"`
	// DBCPUSeconds and DBTimedCPUSeconds are the same for PostgreSQL (the
	// postmaster and all its processes, less the load tool's own monitor
	// backend); LBCPUSeconds and LBTimedCPUSeconds for the load balancer
	// (nginx's master and workers), which is not server CPU.
	DBCPUSeconds      float64 `json:"db_cpu_seconds,omitempty"`
	DBTimedCPUSeconds float64 `json:"db_timed_cpu_seconds,omitempty"`
	LBCPUSeconds      float64 `json:"lb_cpu_seconds,omitempty"`
	LBTimedCPUSeconds float64 `json:"lb_timed_cpu_seconds,omitempty"`
	// StoreCPUSeconds and StoreTimedCPUSeconds are the object store's
	// (MinIO's), not server CPU either.
	StoreCPUSeconds      float64 `json:"store_cpu_seconds,omitempty"`
	StoreTimedCPUSeconds float64 `json:"store_timed_cpu_seconds,omitempty"`
	// Requests counts the HTTP requests of the timed sections that
	// succeeded (token fetches left out).
	Requests int64 `json:"requests,omitempty"`
	// DB holds what PostgreSQL did in the timed sections, when the load
	// tool was given its DSN.
	DB *DBStats `json:"db,omitempty"`
}

// DBStats is what PostgreSQL did in a scenario's timed sections.
type DBStats struct {
	// Statements are the statements with the most execution time
	// (pg_stat_statements: calls, total_exec_time and rows, the
	// difference across each section); StatementCalls and StatementMs
	// are the totals over all statements, the listed ones included.
	Statements     []Statement `json:"statements,omitempty"`
	StatementCalls int64       `json:"statement_calls"`
	StatementMs    float64     `json:"statement_ms"`
	// Samples is how many times pg_stat_activity was read, every
	// SampleIntervalMs; LockWaitSeconds estimates the backend-seconds
	// spent waiting for heavyweight locks (rows, tuples, transaction
	// ids, relations) from them, LWLockWaitSeconds for lightweight
	// locks; Waits splits them by event and statement.
	Samples           int64   `json:"samples"`
	SampleIntervalMs  float64 `json:"sample_interval_ms"`
	LockWaitSeconds   float64 `json:"lock_wait_seconds"`
	LWLockWaitSeconds float64 `json:"lwlock_wait_seconds"`
	Waits             []Wait  `json:"waits,omitempty"`
	// LogCounted tells whether the PostgreSQL log was read: LogErrors
	// counts its ERROR lines, SerializationFailures and Deadlocks those
	// that are one (each is a transaction Berth ran again).
	LogCounted            bool  `json:"log_counted,omitempty"`
	LogErrors             int64 `json:"log_errors,omitempty"`
	SerializationFailures int64 `json:"serialization_failures,omitempty"`
	Deadlocks             int64 `json:"deadlocks,omitempty"`
	// Failures groups the ERROR lines by message and statement.
	Failures []Failure `json:"failures,omitempty"`
}

// Failure counts the log's ERROR lines with one message and statement.
type Failure struct {
	Message string `json:"message"`
	Query   string `json:"query"`
	Count   int64  `json:"count"`
}

// Statement is one statement's share of a scenario's database time.
type Statement struct {
	QueryID int64   `json:"queryid"`
	Query   string  `json:"query"`
	Calls   int64   `json:"calls"`
	TotalMs float64 `json:"total_ms"`
	Rows    int64   `json:"rows"`
}

// Wait is the estimated time backends spent in one wait event, in one
// statement.
type Wait struct {
	Type    string  `json:"type"`
	Event   string  `json:"event"`
	Query   string  `json:"query"`
	Seconds float64 `json:"seconds"`
}

// ServerStats is what was sampled from the registry process.
type ServerStats struct {
	// PID is the first process sampled, PIDs all of them (several
	// instances); the CPU figures include their descendants.
	PID  int   `json:"pid"`
	PIDs []int `json:"pids,omitempty"`
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
	GetWarmup        int      `json:"get_warmup"`
	ListTags         int      `json:"list_tags"`
	CatalogRepos     int      `json:"catalog_repos"`
	PageSize         int      `json:"page_size"`
	Repeat           int      `json:"repeat"`
	PullRepeat       int      `json:"pull_repeat"`
	ContendedPushers int      `json:"contended_pushers,omitempty"`
	Seed             uint64   `json:"seed"`
}

// Report is the whole output of one run against one registry.
type Report struct {
	Target    string           `json:"target"`
	URL       string           `json:"url"`
	Started   time.Time        `json:"started"`
	Seconds   float64          `json:"seconds"`
	GoVersion string           `json:"go_version"`
	CPUs      int              `json:"cpus"`
	Params    Params           `json:"params"`
	Scenarios []ScenarioResult `json:"scenarios"`
	Server    *ServerStats     `json:"server,omitempty"`
	// DB and LB are PostgreSQL's and the load balancer's CPU over the
	// run (RSS is not sampled for them).
	DB *ServerStats `json:"db,omitempty"`
	LB *ServerStats `json:"lb,omitempty"`
	// Store is the object store's CPU over the run.
	Store *ServerStats `json:"store,omitempty"`
	// Instances is how many registry processes served the run.
	Instances int `json:"instances,omitempty"`
	// TokenFetches counts the bearer tokens the load tool fetched.
	TokenFetches int64 `json:"token_fetches,omitempty"`
	TotalErrors  int64 `json:"total_errors"`
	// Rounds is how many runs bench/report merged into this one (0 or
	// absent in a file written by bench/load).
	Rounds int `json:"rounds,omitempty"`
}
