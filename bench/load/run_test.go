package main

import (
	"context"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/berthreg/berth/internal/testpg"
	"github.com/berthreg/berth/server"
)

// startBerth serves a Berth registry with auth on (admin's password
// "admin-password") on 127.0.0.1, on fs storage and bbolt, or PostgreSQL
// when dsn is set.
func startBerth(t *testing.T, dsn string) string {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Auth.AdminPassword = "admin-password"
	cfg.Auth.HashCost = bcrypt.MinCost
	if dsn != "" {
		cfg.Metadata.Driver = "postgres"
		cfg.Metadata.Postgres.DSN = dsn
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() { _ = srv.Run(ctx) }()
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		cancel()
		_ = srv.Close()
	})
	return hs.URL
}

// runLoadTool runs the load tool's scenarios with args against url as
// admin, watching this process as the server.
func runLoadTool(t *testing.T, url string, args ...string) *Report {
	t.Helper()
	cfg, err := parseFlags(append([]string{"-url", url, "-user", "admin", "-password", "admin-password",
		"-server-pid", strconv.Itoa(os.Getpid()), "-count", "20", "-concurrency", "4", "-get-concurrency", "4",
		"-contended-pushers", "4", "-get-tags", "10", "-list-tags", "30", "-page-size", "10", "-repeat", "1"}, args...))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range rep.Scenarios {
		for _, e := range sc.ErrorSamples {
			t.Errorf("%s: %s", sc.Name, e)
		}
	}
	if rep.TotalErrors != 0 {
		t.Fatalf("%d operations failed", rep.TotalErrors)
	}
	return rep
}

func scenarioOf(t *testing.T, rep *Report, name string) ScenarioResult {
	t.Helper()
	for _, sc := range rep.Scenarios {
		if sc.Name == name {
			return sc
		}
	}
	t.Fatalf("no scenario %s", name)
	return ScenarioResult{}
}

func hasMetric(sc ScenarioResult, name string) bool {
	for _, m := range sc.Metrics {
		if m.Name == name {
			return true
		}
	}
	return false
}

// TestRunWithAuth runs the metadata scenarios against Berth with auth on:
// the load tool creates its project, gets bearer tokens (one per scope,
// cached), and counts the requests of the timed sections.
func TestRunWithAuth(t *testing.T) {
	url := startBerth(t, "")
	rep := runLoadTool(t, url, "-scenarios", "small-push,manifest-push,manifest-get,push-contended,tags-list,tags-page")
	if sc := scenarioOf(t, rep, "push-contended"); sc.Requests != 20*requestsPerImage || !hasMetric(sc, "push_contended_cpu") {
		t.Errorf("push-contended: %d requests, metrics %+v; want %d requests and CPU per op", sc.Requests, sc.Metrics, 20*requestsPerImage)
	}
	if sc := scenarioOf(t, rep, "tags-page"); sc.Requests != 20 || !hasMetric(sc, "tags_page_cpu") {
		t.Errorf("tags-page: %d requests, metrics %+v", sc.Requests, sc.Metrics)
	}
	// One token per repository scope (six repositories) and the ping's;
	// a client that fetched one per request would make hundreds.
	if rep.TokenFetches < 1 || rep.TokenFetches > 10 {
		t.Errorf("%d token fetches, want one per scope", rep.TokenFetches)
	}
}

// TestRunWithPostgres runs against Berth on PostgreSQL with the database
// watched: PostgreSQL's CPU is split out, and pg_stat_statements shows
// the statements a manifest GET makes: at most one tag look-up each. It needs
// scripts/postgres.sh with pg_stat_statements preloaded:
//
//	BERTH_POSTGRES_CONF="shared_preload_libraries = 'pg_stat_statements'" \
//	    scripts/postgres.sh -- go test ./bench/load
func TestRunWithPostgres(t *testing.T) {
	dsn := testpg.Database(t)
	pid := os.Getenv("BERTH_POSTGRES_PID")
	if pid == "" {
		t.Skip("BERTH_POSTGRES_PID is not set")
	}
	url := startBerth(t, dsn)
	rep := runLoadTool(t, url, "-scenarios", "manifest-get,push-contended", "-db-pid", pid, "-db-dsn", dsn)
	get := scenarioOf(t, rep, "manifest-get")
	for _, m := range []string{"manifest_get_cpu", "manifest_get_cpu_berth", "manifest_get_cpu_db"} {
		if !hasMetric(get, m) {
			t.Errorf("manifest-get lacks %s: %+v", m, get.Metrics)
		}
	}
	if get.DB == nil || get.DB.Samples == 0 {
		t.Fatalf("manifest-get: no lock-wait samples: %+v", get.DB)
	}
	if len(get.DB.Statements) == 0 {
		t.Skip("no statements: pg_stat_statements is not preloaded (set BERTH_POSTGRES_CONF)")
	}
	lookups := 0
	for _, st := range get.DB.Statements {
		if strings.Contains(st.Query, "berth-load monitor") {
			t.Errorf("the monitor's own statement is listed: %s", st.Query)
		}
		if strings.Contains(st.Query, "FROM tags") {
			lookups += int(st.Calls)
		}
	}
	// Each GET by tag resolves the tag at most once, and after the
	// warm-up the read cache answers most of them without a statement.
	if lookups > int(get.Requests) {
		t.Errorf("%d tag look-ups for %d requests: %+v", lookups, get.Requests, get.DB.Statements)
	}
}
