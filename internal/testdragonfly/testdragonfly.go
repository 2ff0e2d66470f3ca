package testdragonfly

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/testpg"
)

// The variables scripts/dragonfly.sh sets.
const (
	// EnvBin names the directory holding manager, scheduler and dfget.
	EnvBin = "BERTH_TEST_DRAGONFLY"
	// EnvVersion names the Dragonfly version built there.
	EnvVersion = "BERTH_TEST_DRAGONFLY_VERSION"
	// EnvRedis names the redis-server binary (else redis-server on PATH).
	EnvRedis = "BERTH_DRAGONFLY_REDIS_SERVER"
	// EnvKeep, when set, names a directory where each test's cluster
	// keeps its configuration and logs (in a subdirectory named after the
	// test) after the test, instead of the test's temp dir.
	EnvKeep = "BERTH_TEST_DRAGONFLY_KEEP"
)

// startLimit bounds each wait while the cluster starts: long, for a busy
// 2-core machine; only a failing start waits it out.
const startLimit = 3 * time.Minute

// Dragonfly is a running cluster.
type Dragonfly struct {
	// ManagerURL is the manager's REST API as the test process reaches
	// it: "http://127.0.0.1:PORT" (the console API, /healthy and the open
	// API /oapi/v1).
	ManagerURL string
	// Token is a personal access token of the manager's root user with
	// the job scope, what the open API's /oapi/v1/jobs asks for as
	// "Authorization: Bearer <token>".
	Token string
	// Version is the Dragonfly version running ("" when unknown).
	Version string

	dir   string
	ns    *netns
	procs []*proc
}

// Bin returns the directory of the Dragonfly binaries, skipping the test
// when EnvBin is unset or a binary is missing.
func Bin(t testing.TB) string {
	t.Helper()
	dir := os.Getenv(EnvBin)
	if dir == "" {
		t.Skipf("%s is not set: run the test under scripts/dragonfly.sh (scripts/postgres.sh -- scripts/dragonfly.sh -- go test ...)", EnvBin)
	}
	for _, b := range []string{"manager", "scheduler", "dfget"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			t.Skipf("%s=%s has no %s (%v): run scripts/dragonfly.sh to build it", EnvBin, dir, b, err)
		}
	}
	return dir
}

// redisServer returns the redis-server binary, skipping the test when
// there is none.
func redisServer(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(EnvRedis); p != "" {
		return p
	}
	p, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skipf("no redis-server (%v): scripts/dragonfly.sh installs Debian's", err)
	}
	return p
}

// Start runs a cluster until the test ends and returns it once the
// manager answers, Token is made, the scheduler and the seed peer are
// active in the manager and the scheduler has the seed peer's address:
// ready to preheat. It skips the test when EnvBin (or a binary in it),
// redis-server or BERTH_TEST_POSTGRES_DSN is missing; with them, a test
// process that cannot make a network namespace (not root) fails, saying
// so.
func Start(t testing.TB) *Dragonfly {
	t.Helper()
	bin := Bin(t)
	redis := redisServer(t)
	testpg.DSN(t) // skip before anything starts
	ctx := context.Background()
	began := time.Now()

	ns, err := newNetns(ctx, HostIP)
	if errors.Is(err, errNoNetns) {
		t.Fatalf("testdragonfly: %v: the cluster runs in a network namespace of the test's own, which needs root (CAP_SYS_ADMIN); unset %s to skip", err, EnvBin)
	}
	if err != nil {
		t.Fatalf("testdragonfly: %v", err)
	}
	t.Cleanup(ns.close)

	// The database is dropped after every process has stopped: cleanups
	// run last registered first.
	db, pgAddr, err := databaseOf(testpg.Database(t))
	if err != nil {
		t.Fatalf("testdragonfly: %v", err)
	}
	d := &Dragonfly{dir: workDir(t), ns: ns, Version: os.Getenv(EnvVersion)}
	t.Cleanup(func() {
		if t.Failed() {
			d.printTails(t)
		}
	})

	// PostgreSQL, into the namespace.
	pgl, err := ns.listen(postgresAddr)
	if err != nil {
		t.Fatalf("testdragonfly: listen for PostgreSQL in the namespace: %v", err)
	}
	pgf := forward(pgl, func(ctx context.Context) (net.Conn, error) {
		var dialer net.Dialer
		return dialer.DialContext(ctx, "tcp", pgAddr)
	})
	t.Cleanup(pgf.close)

	redisDir := filepath.Join(d.dir, "redis")
	if err := os.MkdirAll(redisDir, 0o700); err != nil {
		t.Fatal(err)
	}
	rhost, rport, _ := net.SplitHostPort(redisAddr)
	d.run(t, "redis", redis, "--bind", rhost, "--port", rport, "--save", "", "--appendonly", "no", "--dir", redisDir)
	d.waitFor(t, "Redis to answer PING", d.redisPing)

	// The manager, and its REST API out of the namespace.
	cfg, err := managerConfig(filepath.Join(d.dir, "manager"), db)
	if err != nil {
		t.Fatal(err)
	}
	d.run(t, "manager", filepath.Join(bin, "manager"), "--config", cfg)
	var lc net.ListenConfig
	hl, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rest := fmt.Sprintf("127.0.0.1:%d", managerREST)
	mf := forward(hl, func(ctx context.Context) (net.Conn, error) { return ns.dial(ctx, rest) })
	t.Cleanup(mf.close)
	d.ManagerURL = "http://" + hl.Addr().String()
	c := &console{base: d.ManagerURL, client: &http.Client{Timeout: 30 * time.Second}}
	d.waitFor(t, "the manager to answer /healthy", c.healthy)
	if err := c.signIn(ctx); err != nil {
		t.Fatalf("testdragonfly: sign in to the manager: %v", err)
	}
	if d.Token, err = c.personalAccessToken(ctx); err != nil {
		t.Fatalf("testdragonfly: %v", err)
	}

	cfg, err = schedulerConfig(filepath.Join(d.dir, "scheduler"))
	if err != nil {
		t.Fatal(err)
	}
	sched := d.run(t, "scheduler", filepath.Join(bin, "scheduler"), "--config", cfg)
	d.waitFor(t, "the scheduler to be active, with preheat, in the manager", c.schedulerReady)

	cfg, err = seedPeerConfig(filepath.Join(d.dir, "seed-peer"))
	if err != nil {
		t.Fatal(err)
	}
	d.run(t, "seed-peer", filepath.Join(bin, "dfget"), "daemon", "--config", cfg)
	d.waitFor(t, "the seed peer to be active in the manager", c.seedPeerReady)
	// The scheduler hands a preheat to a seed peer it knows from its
	// dynamic config, refreshed from the manager every second; until it
	// has the seed peer, a preheat fails ("has no available seed peer").
	// It logs the addresses it takes (scheduler/resource/standard/
	// seed_peer_client.go of v2.3.0).
	seedAddr := fmt.Sprintf("Addr:%q", fmt.Sprintf("%s:%d", HostIP, seedPeerRPC))
	d.waitFor(t, "the scheduler to take the seed peer's address", func(context.Context) bool {
		return sched.logHas("addresses have been updated", seedAddr) ||
			sched.logHas("initialize seed peer addresses", seedAddr)
	})
	t.Logf("testdragonfly: Dragonfly %s ready in %s (manager %s, files in %s)",
		d.Version, time.Since(began).Round(100*time.Millisecond), d.ManagerURL, d.dir)
	return d
}

// Serve serves h until the test ends at HostIP inside the namespace,
// where the Dragonfly processes reach it, and returns its base URL
// ("http://198.18.0.1:PORT"). The test process itself cannot reach it.
func (d *Dragonfly) Serve(t testing.TB, h http.Handler) string {
	t.Helper()
	l, err := d.ns.listen(net.JoinHostPort(HostIP, "0"))
	if err != nil {
		t.Fatalf("testdragonfly: listen in the namespace: %v", err)
	}
	ts := httptest.NewUnstartedServer(h)
	ts.Listener.Close()
	ts.Listener = l
	ts.Start()
	t.Cleanup(ts.Close)
	return ts.URL
}

// workDir is where the cluster's configuration, data and logs go: the
// test's temp dir, or a directory under EnvKeep that stays.
func workDir(t testing.TB) string {
	t.Helper()
	keep := os.Getenv(EnvKeep)
	if keep == "" {
		return t.TempDir()
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	dir, err := os.MkdirTemp(keep, name+".")
	if err != nil {
		t.Fatalf("testdragonfly: %s: %v", EnvKeep, err)
	}
	t.Logf("testdragonfly: the cluster's files stay in %s", dir)
	return dir
}

// waitFor polls cond (at most every 100 ms) until it holds, failing the
// test when a process exits first or startLimit passes.
func (d *Dragonfly) waitFor(t testing.TB, what string, cond func(ctx context.Context) bool) {
	t.Helper()
	var next time.Time
	eventually.Within(t, startLimit, what, func() bool {
		if err := d.alive(); err != nil {
			t.Fatalf("%v while waiting for %s", err, what)
		}
		if time.Now().Before(next) {
			return false
		}
		next = time.Now().Add(100 * time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return cond(ctx)
	})
}

// redisPing: Redis answers PING with PONG.
func (d *Dragonfly) redisPing(ctx context.Context) bool {
	c, err := d.ns.dial(ctx, redisAddr)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, "PING\r\n"); err != nil {
		return false
	}
	buf := make([]byte, len("+PONG\r\n"))
	_, err = io.ReadFull(c, buf)
	return err == nil && string(buf) == "+PONG\r\n"
}

// databaseOf splits a database's postgres:// DSN into what the manager's
// configuration takes and the server's host:port.
func databaseOf(dsn string) (database, string, error) {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return database{}, "", fmt.Errorf("%s must be a postgres:// URL, got %q", testpg.EnvDSN, dsn)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" {
		return database{}, "", fmt.Errorf("%s names no database: %q", testpg.EnvDSN, dsn)
	}
	db := database{user: u.User.Username(), name: name}
	db.password, _ = u.User.Password()
	if db.password == "" {
		db.password = placeholderPass
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "5432")
	}
	return db, addr, nil
}
