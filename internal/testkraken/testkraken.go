package testkraken

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// EnvBin names the variable holding the directory of Kraken's binaries
// (kraken-origin, kraken-build-index, kraken-proxy); scripts/kraken.sh
// builds them and sets it.
const EnvBin = "BERTH_TEST_KRAKEN"

// nginxBin is where Kraken's nginx package runs nginx from (fixed there).
const nginxBin = "/usr/sbin/nginx"

// startTimeout bounds how long the components may take to answer their
// health checks (a busy 2-core machine starts three Go servers and three
// nginx masters).
const startTimeout = 2 * time.Minute

// Kraken is a running Kraken.
type Kraken struct {
	// ProxyURL is the proxy's server port: /health and the preheat
	// notifications ("http://127.0.0.1:PORT").
	ProxyURL string
	// OriginURL is the origin's blob server, through its nginx.
	OriginURL string
	// BuildIndexURL is the build-index's tag server, through its nginx.
	BuildIndexURL string

	dir   string
	procs []*proc
}

// Option changes how Start configures Kraken.
type Option func(*settings)

type settings struct {
	user, password string
}

// WithBasicAuth has the origin and the build-index pull from the registry
// with these credentials: Kraken's registry backends answer the
// registry's challenge (basic, or a bearer token from its realm for
// pull and push on the repository), as Kraken's Harbor integration guide
// configures them. Without it they pull anonymously.
func WithBasicAuth(user, password string) Option {
	return func(s *settings) { s.user, s.password = user, password }
}

// Bin returns the directory of Kraken's binaries. It skips the test when
// EnvBin is unset or this user cannot run Kraken's nginx (not root), and
// fails it when EnvBin is set but a binary or nginx is missing: a broken
// setup, not an absent one.
func Bin(t testing.TB) string {
	t.Helper()
	dir := os.Getenv(EnvBin)
	if dir == "" {
		t.Skipf("%s is not set: run the test under scripts/kraken.sh (scripts/kraken.sh -- go test ./preheat/kraken/...)", EnvBin)
	}
	for _, name := range []string{"kraken-origin", "kraken-build-index", "kraken-proxy"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Fatalf("testkraken: %s=%s has no %s (scripts/kraken.sh builds it): %v", EnvBin, dir, name, err)
		}
	}
	if _, err := os.Stat(nginxBin); err != nil {
		t.Fatalf("testkraken: Kraken runs %s, which is missing (scripts/kraken.sh installs Debian's nginx): %v", nginxBin, err)
	}
	if err := syscall.Access("/var/log/nginx", 2 /* W_OK */); err != nil {
		t.Skipf("Kraken's nginx logs to /var/log/nginx, which this user cannot write (run as root): %v", err)
	}
	return dir
}

// Start runs Kraken's origin, build-index and proxy on 127.0.0.1, their
// registry backends pulling from registryHost (host:port, plain HTTP),
// waits until each answers its health check, and stops them when the
// test ends. It skips or fails the test as Bin does.
func Start(t testing.TB, registryHost string, opts ...Option) *Kraken {
	t.Helper()
	bin := Bin(t)
	var s settings
	for _, o := range opts {
		o(&s)
	}
	k := &Kraken{dir: t.TempDir()}
	t.Cleanup(func() { k.stop(t) })

	ports := freePorts(t, 5)
	originPort, peerPort, biPort, proxyPort, serverPort := ports[0], ports[1], ports[2], ports[3], ports[4]
	origin := "127.0.0.1:" + strconv.Itoa(originPort)
	buildIndex := "127.0.0.1:" + strconv.Itoa(biPort)
	k.OriginURL = "http://" + origin
	k.BuildIndexURL = "http://" + buildIndex
	k.ProxyURL = "http://127.0.0.1:" + strconv.Itoa(serverPort)
	security := backendSecurity(s)

	k.start(t, bin, "origin", originConfig(k.dir, registryHost, origin, security),
		"--blobserver-hostname=127.0.0.1", "--blobserver-port="+strconv.Itoa(originPort),
		"--peer-ip=127.0.0.1", "--peer-port="+strconv.Itoa(peerPort))
	k.start(t, bin, "build-index", buildIndexConfig(k.dir, registryHost, origin, buildIndex, security),
		"--port="+strconv.Itoa(biPort))
	k.start(t, bin, "proxy", proxyConfig(k.dir, origin, buildIndex),
		"--port="+strconv.Itoa(proxyPort), "--server-port="+strconv.Itoa(serverPort))

	k.waitHealthy(t, "origin", k.OriginURL+"/health")
	k.waitHealthy(t, "build-index", k.BuildIndexURL+"/health")
	k.waitHealthy(t, "proxy", k.ProxyURL+"/health")
	return k
}

// proc is one Kraken component: its process (the leader of its process
// group, which its nginx master and workers join) and its log.
type proc struct {
	name   string
	cmd    *exec.Cmd
	log    string
	nginx  string // the component's nginx log directory
	genned string // the nginx configuration Kraken writes to /tmp/nginx
	exited chan struct{}
	err    error
}

// start writes the component's configuration and nginx template and runs
// it.
func (k *Kraken) start(t testing.TB, bin, name string, cfg map[string]any, args ...string) {
	t.Helper()
	dir := filepath.Join(k.dir, name)
	logDir := filepath.Join(dir, "log")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Kraken writes the nginx configuration to /tmp/nginx/<nginx.name>:
	// a name of its own keeps parallel tests apart.
	genName := "berth-kraken-" + name + "-" + randomHex(6)
	tmpl := filepath.Join(dir, "nginx.tmpl")
	if err := os.WriteFile(tmpl, []byte(nginxTemplates[name]), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg["nginx"] = map[string]any{"name": genName, "template_path": tmpl,
		"cache_dir": filepath.Join(dir, "nginx-cache"), "log_dir": logDir}
	cfg["zap"] = zapConfig()
	cfg["tls"] = map[string]any{"server": map[string]any{"disabled": true}, "client": map[string]any{"disabled": true}}
	raw, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(conf, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(dir, name+".log")
	out, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(filepath.Join(bin, "kraken-"+name), append([]string{"--config=" + conf}, args...)...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		t.Fatalf("testkraken: start %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logFile, nginx: logDir, genned: filepath.Join("/tmp/nginx", genName),
		exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	k.procs = append(k.procs, p)
}

// waitHealthy polls url until it answers 200, failing the test when a
// component exits first or startTimeout passes.
func (k *Kraken) waitHealthy(t testing.TB, name, url string) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(startTimeout)
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		for _, p := range k.procs {
			select {
			case <-p.exited:
				t.Fatalf("testkraken: %s exited while waiting for the %s's health (%s): %v", p.name, name, url, p.err)
			default:
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("testkraken: the %s did not answer %s within %s: %v", name, url, startTimeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends every component's process group (SIGTERM, SIGKILL after 10
// seconds), removes the nginx configurations Kraken generated, and prints
// the logs when the test failed.
func (k *Kraken) stop(t testing.TB) {
	for _, p := range k.procs {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	}
	for _, p := range k.procs {
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.exited
		}
		// The nginx master may outlive the component's process: wait
		// until the whole group is gone, so nothing holds the ports.
		waitGroupGone(p.cmd.Process.Pid)
		_ = os.Remove(p.genned)
	}
	if t.Failed() {
		for _, p := range k.procs {
			k.printLogs(t, p)
		}
	}
}

// waitGroupGone waits until no process is left in process group pgid,
// killing what is left after 10 seconds.
func waitGroupGone(pgid int) {
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(-pgid, 0) == nil {
		if time.Now().After(deadline) {
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			deadline = time.Now().Add(10 * time.Second)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// printLogs logs the tail of the component's own log and of its nginx's.
func (k *Kraken) printLogs(t testing.TB, p *proc) {
	for _, f := range []string{p.log, filepath.Join(p.nginx, "nginx-stdout.log"), filepath.Join(p.nginx, "nginx-error.log")} {
		b, err := os.ReadFile(f)
		if err != nil || len(b) == 0 {
			continue
		}
		t.Logf("---- kraken %s: %s (last 100 lines) ----\n%s", p.name, filepath.Base(f), tail(b, 100))
	}
}

// Logs returns what the named component ("origin", "build-index",
// "proxy") has logged so far.
func (k *Kraken) Logs(name string) string {
	for _, p := range k.procs {
		if p.name == name {
			b, _ := os.ReadFile(p.log)
			return string(b)
		}
	}
	return ""
}

// tail is the last n lines of b.
func tail(b []byte, n int) []byte {
	b = bytes.TrimRight(b, "\n")
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' {
			if n--; n == 0 {
				return b[i+1:]
			}
		}
	}
	return b
}

// freePorts returns n distinct ports free on 127.0.0.1 right now (held
// together while chosen, so they differ).
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		var lc net.ListenConfig
		l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
