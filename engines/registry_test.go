package engines

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const adminUser = "admin"

var adminPassword = "berth-engines-" + randHex(6)

// suiteDir holds what the run makes outside any one test: the server
// binary when built here, the servers' data.
var suiteDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "berth-engines-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	suiteDir = dir
	code := m.Run()
	stopRegistries()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// registryBin is BERTH_REGISTRY_BIN, or the example server built once
// from this checkout.
func registryBin() (string, error) {
	binOnce.Do(func() {
		if p := os.Getenv("BERTH_REGISTRY_BIN"); p != "" {
			binPath = p
			return
		}
		binPath = filepath.Join(suiteDir, "bin", "berth-registry")
		cmd := exec.Command("go", "build", "-o", binPath, "./examples/registry")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("building the example server: %v\n%s", err, out)
		}
	})
	return binPath, binErr
}

// registry is one example server this run started.
type registry struct {
	https  bool
	addr   string // 127.0.0.1:PORT
	port   string
	dir    string
	ca     *testCA // HTTPS: the authority that issued its certificate
	caFile string
	client *http.Client // trusts ca
	cmd    *exec.Cmd
	exited chan struct{}
	log    string
	err    error // why it did not start
}

var (
	regMu      sync.Mutex
	registries = map[bool]*registry{}
)

// registryFor returns the run's server speaking plain HTTP or HTTPS,
// starting it on first use.
func registryFor(t *testing.T, https bool) *registry {
	t.Helper()
	regMu.Lock()
	defer regMu.Unlock()
	r, ok := registries[https]
	if !ok {
		r = startRegistry(https)
		registries[https] = r
	}
	if r.err != nil {
		t.Fatalf("the example server did not start: %v", r.err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("---- server log (%s, last lines) ----\n%s", r.addr, r.logTail(40))
		}
	})
	return r
}

func stopRegistries() {
	regMu.Lock()
	defer regMu.Unlock()
	for _, r := range registries {
		r.stop()
	}
}

func startRegistry(https bool) *registry {
	r := &registry{https: https, exited: make(chan struct{})}
	r.err = r.start()
	return r
}

func (r *registry) start() error {
	bin, err := registryBin()
	if err != nil {
		return err
	}
	if r.dir, err = os.MkdirTemp(suiteDir, "registry-"); err != nil {
		return err
	}
	if r.port, err = freePort(); err != nil {
		return err
	}
	r.addr = net.JoinHostPort("127.0.0.1", r.port)
	r.log = filepath.Join(r.dir, "server.log")
	env := environ("BERTH_")
	env = append(env,
		"BERTH_ADDR="+r.addr,
		"BERTH_DATA_DIR="+filepath.Join(r.dir, "data"),
		"BERTH_ADMIN_PASSWORD="+adminPassword,
		"BERTH_CREATE_PROJECTS_ON_PUSH=true",
	)
	pool := x509.NewCertPool()
	if r.https {
		if r.ca, err = newCA(); err != nil {
			return err
		}
		cert, key, err := r.ca.serverPair()
		if err != nil {
			return err
		}
		r.caFile = filepath.Join(r.dir, "ca.crt")
		certFile, keyFile := filepath.Join(r.dir, "server.crt"), filepath.Join(r.dir, "server.key")
		for p, b := range map[string][]byte{r.caFile: r.ca.pem, certFile: cert, keyFile: key} {
			if err := os.WriteFile(p, b, 0o600); err != nil {
				return err
			}
		}
		pool.AddCert(r.ca.cert)
		env = append(env, "BERTH_TLS_CERT_FILE="+certFile, "BERTH_TLS_KEY_FILE="+keyFile)
	}
	r.client = &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
	}}
	logf, err := os.Create(r.log)
	if err != nil {
		return err
	}
	r.cmd = exec.Command(bin)
	r.cmd.Env = env
	r.cmd.Stdout = logf
	stderr, err := r.cmd.StderrPipe()
	if err != nil {
		logf.Close()
		return err
	}
	if err := r.cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	// The server logs that it listens once its listener is open: from
	// then on connections wait in the backlog until it serves them.
	listening := make(chan struct{})
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		defer logf.Close()
		signal := listening // closed once, then nil
		lines := bufio.NewScanner(stderr)
		for lines.Scan() {
			_, _ = fmt.Fprintln(logf, lines.Text())
			if signal != nil && strings.Contains(lines.Text(), `msg="berth registry listening"`) {
				close(signal)
				signal = nil
			}
		}
	}()
	go func() {
		<-copied // Wait must follow the last read of the pipe
		_ = r.cmd.Wait()
		close(r.exited)
	}()
	select {
	case <-listening:
		return nil
	case <-r.exited:
		return fmt.Errorf("%s exited at start:\n%s", bin, r.logTail(40))
	}
}

func (r *registry) stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(30 * time.Second):
		r.cmd.Process.Kill()
		<-r.exited
	}
}

func (r *registry) logTail(n int) string {
	b, _ := os.ReadFile(r.log)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (r *registry) scheme() string {
	if r.https {
		return "https"
	}
	return "http"
}

func (r *registry) url(path string) string { return r.scheme() + "://" + r.addr + path }

// api calls the admin API as the admin and checks the status.
func (r *registry) api(t *testing.T, method, path string, body any, want int) []byte {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, r.url("/api/v2.0"+path), rd)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(adminUser, adminPassword)
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, out, want)
	}
	return out
}

// manifest fetches repo's manifest ref as the admin (basic credentials
// on /v2/) and returns the digest of the bytes it got and the bytes;
// the registry's Docker-Content-Digest must agree.
func (r *registry) manifest(t *testing.T, repo, ref string) (string, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, r.url("/v2/"+repo+"/manifests/"+ref), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(adminUser, adminPassword)
	req.Header.Set("Accept", strings.Join([]string{mtManifest, mtIndex,
		"application/vnd.docker.distribution.manifest.v2+json",
		"application/vnd.docker.distribution.manifest.list.v2+json"}, ", "))
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET manifest %s:%s: %s %s", repo, ref, resp.Status, body)
	}
	d := digestOf(body)
	if got := resp.Header.Get("Docker-Content-Digest"); got != d {
		t.Fatalf("GET manifest %s:%s: Docker-Content-Digest %q, the bytes hash to %s", repo, ref, got, d)
	}
	return d, body
}

// project creates a project; public false makes a private one.
func (r *registry) project(t *testing.T, name string, public bool) {
	t.Helper()
	r.api(t, "POST", "/projects", map[string]any{"project_name": name,
		"metadata": map[string]string{"public": fmt.Sprint(public)}}, http.StatusCreated)
}

// pullRobot makes a robot that may only pull from project, and returns
// its name and secret.
func (r *registry) pullRobot(t *testing.T, project string) (string, string) {
	t.Helper()
	body := map[string]any{"name": "pull-" + randHex(3), "level": "project", "duration": -1,
		"permissions": []map[string]any{{"kind": "project", "namespace": project, "access": []map[string]string{
			{"resource": "repository", "action": "pull", "pattern": project + "/**"}}}}}
	var created struct{ Name, Secret string }
	if err := json.Unmarshal(r.api(t, "POST", "/robots", body, http.StatusCreated), &created); err != nil {
		t.Fatal(err)
	}
	return created.Name, created.Secret
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	return port, err
}

// environ is this process's environment without the variables that
// would point a client at other configuration or credentials (and
// without those starting with any of drop).
func environ(drop ...string) []string {
	drop = append(drop, "DOCKER_", "CONTAINERD_", "CONTAINERS_", "REGISTRY_AUTH_FILE=", "SSL_CERT_",
		"HTTP_PROXY=", "HTTPS_PROXY=", "NO_PROXY=", "http_proxy=", "https_proxy=", "no_proxy=", "COSIGN_", "SIGSTORE_")
	var env []string
	for _, kv := range os.Environ() {
		if !slices.ContainsFunc(drop, func(p string) bool { return strings.HasPrefix(kv, p) }) {
			env = append(env, kv)
		}
	}
	return env
}

// tool finds a client binary in BERTH_TOOLS, then on PATH.
func tool(name string) (string, error) {
	if dir := os.Getenv("BERTH_TOOLS"); dir != "" {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s is not in BERTH_TOOLS=%q nor on PATH (scripts/tools.sh %s installs it)", name, os.Getenv("BERTH_TOOLS"), name)
	}
	return p, nil
}

func mustTool(t *testing.T, name string) string {
	t.Helper()
	p, err := tool(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// command is one client invocation.
type command struct {
	bin   string
	args  []string
	env   []string // the whole environment
	dir   string
	stdin string
}

type result struct {
	stdout, stderr string
	err            error
}

// output is what the command printed, both streams.
func (r result) output() string { return r.stdout + r.stderr }

// commandTimeout bounds one engine command: a pull of a few kilobytes
// that has not finished by then is stuck.
const commandTimeout = 5 * time.Minute

func run(t *testing.T, c command) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	x := exec.CommandContext(ctx, c.bin, c.args...)
	x.Env, x.Dir = c.env, c.dir
	if c.stdin != "" {
		x.Stdin = strings.NewReader(c.stdin)
	}
	var stdout, stderr bytes.Buffer
	x.Stdout, x.Stderr = &stdout, &stderr
	start := time.Now()
	err := x.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %s: %w", commandTimeout, err)
	}
	status := "ok"
	if err != nil {
		status = err.Error()
	}
	shown := slices.Clone(c.args)
	for i := 1; i < len(shown); i++ {
		if shown[i-1] == "--user" { // ctr's user:password
			user, _, _ := strings.Cut(shown[i], ":")
			shown[i] = user + ":***"
		}
	}
	t.Logf("$ %s %s  (%s, %s)", filepath.Base(c.bin), strings.Join(shown, " "), time.Since(start).Round(time.Millisecond), status)
	if err != nil {
		t.Logf("  which said: %s", lastLines(stdout.String()+stderr.String(), 4))
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), err: err}
}

// must runs c, which must succeed, and returns its stdout.
func must(t *testing.T, c command) string {
	t.Helper()
	r := run(t, c)
	if r.err != nil {
		t.Fatalf("%s %s failed: %v\n%s", filepath.Base(c.bin), strings.Join(c.args, " "), r.err, clip(r.output()))
	}
	return r.stdout
}

// lastLines is the last n non-empty lines of s, on one line.
func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

func clip(s string) string {
	const max = 6000
	if len(s) > max {
		return s[:max/2] + "\n...\n" + s[len(s)-max/2:]
	}
	return s
}

// dockerConfig writes a docker config.json with credentials for host.
func dockerConfig(t *testing.T, dir, host, user, password string) {
	t.Helper()
	cred := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	b, err := json.Marshal(map[string]any{"auths": map[string]any{host: map[string]string{"auth": cred}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}
