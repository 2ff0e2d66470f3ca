package cluster

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berthreg/berth/internal/eventually"
)

// instance is one registry process of the cluster.
type instance struct {
	n    int    // 1-based, as in the script's directories
	url  string // http://127.0.0.1:PORT
	host string // 127.0.0.1:PORT
	conf string
	log  string

	mu  sync.Mutex
	pid int
}

// cluster is what scripts/cluster.sh started.
type cluster struct {
	url       string // the balancer
	host      string
	password  string
	bin       string
	accessLog string // nginx's, one line a request
	instances []*instance
}

var (
	loadOnce sync.Once
	loaded   *cluster
	loadErr  error
)

// fields splits a space-separated list variable.
func fields(name string) []string { return strings.Fields(os.Getenv(name)) }

func load() (*cluster, error) {
	c := &cluster{url: os.Getenv("BERTH_CLUSTER_URL"), password: os.Getenv("BERTH_CLUSTER_ADMIN_PASSWORD"),
		bin: os.Getenv("BERTH_CLUSTER_BIN"), accessLog: os.Getenv("BERTH_NGINX_ACCESS_LOG")}
	c.host = strings.TrimPrefix(c.url, "http://")
	urls, pids, confs, logs := fields("BERTH_CLUSTER_INSTANCES"), fields("BERTH_CLUSTER_PIDS"), fields("BERTH_CLUSTER_CONFIGS"), fields("BERTH_CLUSTER_LOGS")
	if len(urls) < 2 || len(pids) != len(urls) || len(confs) != len(urls) || len(logs) != len(urls) {
		return nil, fmt.Errorf("want at least 2 instances with a pid, config and log each: BERTH_CLUSTER_INSTANCES=%q BERTH_CLUSTER_PIDS=%q BERTH_CLUSTER_CONFIGS=%q BERTH_CLUSTER_LOGS=%q",
			urls, pids, confs, logs)
	}
	if c.password == "" || c.bin == "" {
		return nil, fmt.Errorf("BERTH_CLUSTER_ADMIN_PASSWORD and BERTH_CLUSTER_BIN must be set")
	}
	for i, u := range urls {
		pid, err := strconv.Atoi(pids[i])
		if err != nil {
			return nil, fmt.Errorf("BERTH_CLUSTER_PIDS: %w", err)
		}
		c.instances = append(c.instances, &instance{n: i + 1, url: u, host: strings.TrimPrefix(u, "http://"), conf: confs[i], log: logs[i], pid: pid})
	}
	return c, nil
}

// need returns the cluster, every instance ready: one an earlier test
// left dead is started again. It skips the test outside
// scripts/cluster.sh.
func need(t *testing.T) *cluster {
	t.Helper()
	if os.Getenv("BERTH_CLUSTER_URL") == "" {
		t.Skip("BERTH_CLUSTER_URL is unset: run under scripts/cluster.sh 3 -- go test ./cluster/... (make cluster)")
	}
	loadOnce.Do(func() { loaded, loadErr = load() })
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	for _, in := range loaded.instances {
		if !in.alive() {
			t.Logf("instance %d (pid %d) is down: starting it again", in.n, in.currentPID())
			loaded.restart(t, in)
		}
	}
	for _, in := range loaded.instances {
		in.waitReady(t)
	}
	return loaded
}

func (in *instance) currentPID() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.pid
}

// alive reports whether the instance's process runs (a zombie does not).
func (in *instance) alive() bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(in.currentPID()) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	state := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(state) > 0 && state[0] != "Z"
}

// status is the status code of a GET of path on base ("" on no answer).
func status(base, path string) int {
	client := http.Client{Timeout: 5 * time.Second}
	res, err := client.Get(base + path)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// waitReady waits until the instance's /readyz answers 200.
func (in *instance) waitReady(t *testing.T) {
	t.Helper()
	eventually.True(t, fmt.Sprintf("instance %d (%s) to be ready", in.n, in.url), func() bool {
		return status(in.url, "/readyz") == http.StatusOK
	})
}

// kill SIGKILLs the instance and waits until its port refuses
// connections.
func (c *cluster) kill(t *testing.T, in *instance) {
	t.Helper()
	pid := in.currentPID()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d (instance %d): %v", pid, in.n, err)
	}
	eventually.True(t, fmt.Sprintf("instance %d to be gone", in.n), func() bool { return !in.alive() && status(in.url, "/healthz") == 0 })
	t.Logf("killed instance %d (pid %d)", in.n, pid)
}

// restart starts the instance again the way scripts/cluster.sh documents
// (same binary, config file and log) and waits until it is ready. It runs
// in a session of its own and outlives the test: the script stops it.
func (c *cluster) restart(t *testing.T, in *instance) {
	t.Helper()
	logf, err := os.OpenFile(in.log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(c.bin, "-config", in.conf)
	cmd.Stdout, cmd.Stderr = logf, logf // not the test's output: go test waits for that to close
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("restarting instance %d: %v", in.n, err)
	}
	go func() { _ = cmd.Wait() }() // reaps it when it is killed again
	in.mu.Lock()
	in.pid = cmd.Process.Pid
	in.mu.Unlock()
	in.waitReady(t)
	t.Logf("restarted instance %d as pid %d", in.n, cmd.Process.Pid)
}

// byPID is the instance running as pid, or nil.
func (c *cluster) byPID(pid int) *instance {
	for _, in := range c.instances {
		if in.currentPID() == pid {
			return in
		}
	}
	return nil
}
