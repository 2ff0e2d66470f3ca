// Command load measures an OCI registry through the distribution API.
//
// It speaks plain HTTP to one registry base URL (a registry, or a load
// balancer in front of several) and runs a fixed set of scenarios: an idle
// period, large blob pushes (monolithic and chunked), a large blob pull,
// small blob pushes, manifest pushes, manifest GETs by tag in a repository
// with many tags, small images pushed by 16 clients into one repository,
// paged tag and catalog listings and tag pages under load. Every status
// code is checked; failures are counted, sampled and reported rather than
// aborting the run.
//
// With -user (and the password in BERTH_LOAD_PASSWORD or -password) it
// authenticates as docker does: bearer tokens per repository scope from the
// realm the registry names, or basic credentials on every request; and it
// creates the run's project through the admin API first.
//
// With -server-pid (one or several registry processes), -db-pid
// (PostgreSQL's postmaster), -lb-pid (nginx's master) and -store-pid
// (MinIO) it reads the CPU time of those processes and all their children
// from /proc, and reports server CPU per operation as the registry's plus
// PostgreSQL's; the load balancer's and the object store's are reported
// apart. With -db-dsn it also reads
// pg_stat_statements around each timed section and samples
// pg_stat_activity for lock waits during it.
//
// Results go to stdout as a table and, with -json, to a file in a
// machine-readable form that bench/report compares across registries.
//
// Usage:
//
//	go run ./bench/load -url http://127.0.0.1:5000 -target berth -json out.json
//	go run ./bench/load -scenarios push-mono,pull -blob-size 64MiB
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// scenarioNames lists every scenario in the order they run.
var scenarioNames = []string{
	"idle",
	"push-mono",
	"push-chunked",
	"pull",
	"small-push",
	"manifest-push",
	"manifest-get",
	"push-contended",
	"tags-list",
	"tags-page",
	"catalog",
}

// config holds the parsed command line.
type config struct {
	url            string
	target         string
	scenarios      []string
	blobSize       int64
	chunkSize      int64
	smallSize      int64
	duration       time.Duration
	count          int64
	concurrency    int
	getConc        int
	setupConc      int
	getTags        int
	getWarmup      int
	listTags       int
	catalogRepos   int
	pageSize       int
	repeat         int
	pullRepeat     int
	contended      int
	serverPIDs     []int
	dbPID          int
	lbPID          int
	storePID       int
	dbDSN          string
	dbLog          string
	dbSample       time.Duration
	user, password string
	jsonPath       string
	wait           time.Duration
	seed           uint64
	requestTimeout time.Duration
	maxErrors      int64
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	rep, err := run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	printTable(os.Stdout, rep)
	if cfg.jsonPath != "" {
		if err := writeJSON(cfg.jsonPath, rep); err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(1)
		}
	}
	if rep.TotalErrors > 0 {
		fmt.Fprintf(os.Stderr, "load: %d operation(s) failed\n", rep.TotalErrors)
		os.Exit(3)
	}
}

func parseFlags(args []string) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.StringVar(&cfg.url, "url", "http://127.0.0.1:5000", "registry base URL (plain HTTP)")
	fs.StringVar(&cfg.target, "target", "registry", "name of the registry under test, recorded in the results")
	scen := fs.String("scenarios", "all", "comma-separated scenarios to run, or all: "+strings.Join(scenarioNames, ","))
	blobSize := fs.String("blob-size", "1GiB", "size of the large blob for push-mono, push-chunked and pull")
	chunkSize := fs.String("chunk-size", "16MiB", "PATCH chunk size for push-chunked")
	smallSize := fs.String("small-size", "4KiB", "size of each blob in small-push")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "how long each throughput scenario runs (small-push, manifest-push, manifest-get)")
	fs.Int64Var(&cfg.count, "count", 0, "if > 0, run this many operations per throughput scenario instead of -duration")
	fs.IntVar(&cfg.concurrency, "concurrency", 16, "concurrent workers for small-push and manifest-push")
	fs.IntVar(&cfg.getConc, "get-concurrency", 32, "concurrent workers for manifest-get")
	fs.IntVar(&cfg.setupConc, "setup-concurrency", 16, "concurrent workers used to create tags and repositories before a measurement")
	fs.IntVar(&cfg.getTags, "get-tags", 2000, "tags in the repository used by manifest-get")
	fs.IntVar(&cfg.getWarmup, "get-warmup", 3, "untimed passes of manifest-get over every tag before it is timed, so that the caches of every instance behind a balancer are mostly warm, as in a steady state (0: none)")
	fs.IntVar(&cfg.listTags, "list-tags", 5000, "tags in the repository used by tags-list")
	fs.IntVar(&cfg.catalogRepos, "catalog-repos", 1000, "repositories created for catalog")
	fs.IntVar(&cfg.pageSize, "page-size", 100, "n= used for paged tag and catalog walks")
	fs.IntVar(&cfg.repeat, "repeat", 5, "repetitions of each listing measurement (the median is reported)")
	fs.IntVar(&cfg.pullRepeat, "pull-repeat", 3, "large blob pulls (the first verifies the digest; the median of the others is reported)")
	fs.IntVar(&cfg.contended, "contended-pushers", 16, "concurrent image pushers into one repository in push-contended")
	serverPIDs := fs.String("server-pid", "", "comma-separated PIDs of the registry processes, to sample the CPU time (theirs and their children's) and peak RSS from /proc")
	fs.IntVar(&cfg.dbPID, "db-pid", 0, "PID of PostgreSQL's postmaster: its CPU and all its processes' counts as server CPU")
	fs.IntVar(&cfg.lbPID, "lb-pid", 0, "PID of the load balancer's master process (nginx): its CPU and its workers' is reported apart, not as server CPU")
	fs.IntVar(&cfg.storePID, "store-pid", 0, "PID of the object store (MinIO): its CPU and its children's is reported apart, not as server CPU")
	fs.StringVar(&cfg.dbDSN, "db-dsn", "", "DSN of the registry's PostgreSQL database: read pg_stat_statements and sample lock waits around timed sections")
	fs.StringVar(&cfg.dbLog, "db-log", "", "PostgreSQL's log file: count ERROR lines (serialization failures, deadlocks) of timed sections")
	fs.DurationVar(&cfg.dbSample, "db-sample", 20*time.Millisecond, "how often pg_stat_activity is sampled for lock waits")
	fs.StringVar(&cfg.user, "user", "", "user name for registries with auth (the password comes from BERTH_LOAD_PASSWORD or -password)")
	fs.StringVar(&cfg.password, "password", os.Getenv("BERTH_LOAD_PASSWORD"), "password for -user (default $BERTH_LOAD_PASSWORD)")
	fs.StringVar(&cfg.jsonPath, "json", "", "write results as JSON to this file")
	fs.DurationVar(&cfg.wait, "wait", 0, "wait up to this long for GET /v2/ to answer before starting")
	fs.Uint64Var(&cfg.seed, "seed", 0, "seed for generated data (0: derived from the clock)")
	fs.DurationVar(&cfg.requestTimeout, "request-timeout", 2*time.Minute, "timeout for one small request (large transfers get 30m)")
	fs.Int64Var(&cfg.maxErrors, "max-errors", 1000, "stop a throughput scenario after this many failures")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() != 0 {
		return cfg, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}

	var err error
	if cfg.serverPIDs, err = parsePIDs(*serverPIDs); err != nil {
		return cfg, fmt.Errorf("-server-pid: %w", err)
	}
	if cfg.user != "" && cfg.password == "" {
		return cfg, errors.New("-user needs a password (BERTH_LOAD_PASSWORD or -password)")
	}
	if cfg.dbSample <= 0 {
		return cfg, errors.New("-db-sample must be positive")
	}
	if (cfg.dbPID != 0 || cfg.dbDSN != "") && len(cfg.serverPIDs) == 0 {
		return cfg, errors.New("-db-pid and -db-dsn need -server-pid")
	}
	if cfg.blobSize, err = parseSize(*blobSize); err != nil {
		return cfg, fmt.Errorf("-blob-size: %w", err)
	}
	if cfg.chunkSize, err = parseSize(*chunkSize); err != nil {
		return cfg, fmt.Errorf("-chunk-size: %w", err)
	}
	if cfg.smallSize, err = parseSize(*smallSize); err != nil {
		return cfg, fmt.Errorf("-small-size: %w", err)
	}
	if cfg.scenarios, err = parseScenarios(*scen); err != nil {
		return cfg, err
	}
	if cfg.getWarmup < 0 {
		return cfg, fmt.Errorf("-get-warmup must not be negative")
	}
	for name, v := range map[string]int{
		"-concurrency": cfg.concurrency, "-get-concurrency": cfg.getConc, "-setup-concurrency": cfg.setupConc,
		"-get-tags": cfg.getTags, "-list-tags": cfg.listTags, "-catalog-repos": cfg.catalogRepos,
		"-page-size": cfg.pageSize, "-repeat": cfg.repeat, "-pull-repeat": cfg.pullRepeat,
		"-contended-pushers": cfg.contended,
	} {
		if v < 1 {
			return cfg, fmt.Errorf("%s must be at least 1", name)
		}
	}
	if cfg.blobSize < 1 || cfg.chunkSize < 1 || cfg.smallSize < 1 {
		return cfg, errors.New("sizes must be at least 1 byte")
	}
	if cfg.duration <= 0 && cfg.count <= 0 {
		return cfg, errors.New("one of -duration and -count must be positive")
	}
	if cfg.seed == 0 {
		cfg.seed = uint64(time.Now().UnixNano())
	}
	return cfg, nil
}

func parseScenarios(s string) ([]string, error) {
	if s == "" || s == "all" {
		return scenarioNames, nil
	}
	want := map[string]bool{}
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		known := false
		for _, n := range scenarioNames {
			if n == name {
				known = true
			}
		}
		if !known {
			return nil, fmt.Errorf("unknown scenario %q (known: %s)", name, strings.Join(scenarioNames, ","))
		}
		want[name] = true
	}
	var out []string
	for _, n := range scenarioNames { // keep the canonical order
		if want[n] {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no scenario selected")
	}
	return out, nil
}

// parseSize accepts a byte count with an optional binary (KiB, MiB, GiB) or
// decimal (KB, MB, GB) suffix.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1},
	}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			mult = u.mult
			s = strings.TrimSpace(strings.TrimSuffix(s, u.suffix))
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

// run executes the selected scenarios against cfg.url and collects results.
func run(ctx context.Context, cfg config) (*Report, error) {
	c, err := newClient(cfg.url, max(cfg.concurrency, cfg.getConc, cfg.setupConc, cfg.contended), cfg.requestTimeout)
	if err != nil {
		return nil, err
	}
	if cfg.user != "" {
		c.auth = newAuthorizer(cfg.user, cfg.password, c.hc)
	}
	if cfg.wait > 0 {
		if err := c.waitReady(ctx, cfg.wait); err != nil {
			return nil, err
		}
	}
	if err := c.ping(ctx); err != nil {
		return nil, err
	}

	rep := &Report{
		Target:    cfg.target,
		URL:       cfg.url,
		Started:   time.Now().UTC(),
		GoVersion: runtime.Version(),
		CPUs:      runtime.NumCPU(),
		Params: Params{
			Scenarios: cfg.scenarios, BlobSize: cfg.blobSize, ChunkSize: cfg.chunkSize,
			SmallSize: cfg.smallSize, Duration: cfg.duration.String(), Count: cfg.count,
			Concurrency: cfg.concurrency, GetConcurrency: cfg.getConc, SetupConcurrency: cfg.setupConc,
			GetTags: cfg.getTags, GetWarmup: cfg.getWarmup, ListTags: cfg.listTags, CatalogRepos: cfg.catalogRepos,
			PageSize: cfg.pageSize, Repeat: cfg.repeat, PullRepeat: cfg.pullRepeat, Seed: cfg.seed,
			ContendedPushers: cfg.contended,
		},
		Instances: len(cfg.serverPIDs),
	}
	b := &bench{cfg: cfg, c: c, prefix: fmt.Sprintf("bench-%08x", uint32(cfg.seed))}
	if c.auth != nil {
		if err := c.createProject(ctx, b.prefix); err != nil {
			return nil, err
		}
	}
	if err := b.watch(ctx, rep); err != nil {
		return nil, err
	}
	if b.mon != nil {
		defer b.mon.close()
	}
	t0 := time.Now()
	for _, name := range cfg.scenarios {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		logf("[%s] %s ...", cfg.target, name)
		res := b.runScenario(ctx, name)
		logf("[%s] %s done in %.1fs, %d error(s)", cfg.target, name, res.Seconds, res.Errors)
		rep.Scenarios = append(rep.Scenarios, res)
		rep.TotalErrors += res.Errors
	}
	rep.Seconds = time.Since(t0).Seconds()
	b.finish(rep)
	if c.auth != nil {
		rep.TokenFetches = c.auth.fetches
	}
	return rep, nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
