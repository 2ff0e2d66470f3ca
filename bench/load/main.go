// Command load measures an OCI registry through the distribution API.
//
// It speaks plain HTTP without authentication to one registry base URL and
// runs a fixed set of scenarios: large blob pushes (monolithic and chunked),
// a large blob pull, small blob pushes, manifest pushes, manifest GETs by tag
// in a repository with many tags, and paged tag and catalog listings. Every
// status code is checked; failures are counted, sampled and reported rather
// than aborting the run.
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
	"push-mono",
	"push-chunked",
	"pull",
	"small-push",
	"manifest-push",
	"manifest-get",
	"tags-list",
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
	listTags       int
	catalogRepos   int
	pageSize       int
	repeat         int
	pullRepeat     int
	serverPID      int
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
	fs.StringVar(&cfg.url, "url", "http://127.0.0.1:5000", "registry base URL (plain HTTP, no auth)")
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
	fs.IntVar(&cfg.listTags, "list-tags", 5000, "tags in the repository used by tags-list")
	fs.IntVar(&cfg.catalogRepos, "catalog-repos", 1000, "repositories created for catalog")
	fs.IntVar(&cfg.pageSize, "page-size", 100, "n= used for paged tag and catalog walks")
	fs.IntVar(&cfg.repeat, "repeat", 5, "repetitions of each listing measurement (the median is reported)")
	fs.IntVar(&cfg.pullRepeat, "pull-repeat", 3, "large blob pulls (the first verifies the digest; the median of the others is reported)")
	fs.IntVar(&cfg.serverPID, "server-pid", 0, "PID of the registry process, to sample its CPU time and peak RSS from /proc")
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
	for name, v := range map[string]int{
		"-concurrency": cfg.concurrency, "-get-concurrency": cfg.getConc, "-setup-concurrency": cfg.setupConc,
		"-get-tags": cfg.getTags, "-list-tags": cfg.listTags, "-catalog-repos": cfg.catalogRepos,
		"-page-size": cfg.pageSize, "-repeat": cfg.repeat, "-pull-repeat": cfg.pullRepeat,
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
	c, err := newClient(cfg.url, max(cfg.concurrency, cfg.getConc, cfg.setupConc), cfg.requestTimeout)
	if err != nil {
		return nil, err
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
			GetTags: cfg.getTags, ListTags: cfg.listTags, CatalogRepos: cfg.catalogRepos,
			PageSize: cfg.pageSize, Repeat: cfg.repeat, PullRepeat: cfg.pullRepeat, Seed: cfg.seed,
		},
	}
	var proc *procWatch
	if cfg.serverPID > 0 {
		proc, err = newProcWatch(cfg.serverPID)
		if err != nil {
			return nil, err
		}
		rep.Server = proc.start()
	}

	b := &bench{cfg: cfg, c: c, prefix: fmt.Sprintf("bench-%08x", uint32(cfg.seed)), proc: proc}
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
	if proc != nil {
		proc.finish(rep.Server)
		if rep.Server.Error != "" {
			rep.TotalErrors++
		}
	}
	return rep, nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
