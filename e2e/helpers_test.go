package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// defaultTimeout bounds one client command; big transfers pass their own.
const defaultTimeout = 3 * time.Minute

var (
	probeOnce sync.Once
	probeErr  error
)

// registryAddr returns BERTH_E2E_REGISTRY (host:port) and checks once that the
// registry answers /v2/. It skips the test only when the variable is unset.
func registryAddr(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("BERTH_E2E_REGISTRY")
	if addr == "" {
		t.Skip("BERTH_E2E_REGISTRY is unset: set it to the host:port of a plain-HTTP registry (e2e/run.sh HOST:PORT does)")
	}
	addr = strings.TrimSuffix(strings.TrimPrefix(addr, "http://"), "/")
	probeOnce.Do(func() {
		client := http.Client{Timeout: 10 * time.Second}
		resp, err := client.Get("http://" + addr + "/v2/")
		if err != nil {
			probeErr = err
			return
		}
		resp.Body.Close()
		want := http.StatusOK
		if os.Getenv("BERTH_E2E_USER") != "" {
			want = http.StatusUnauthorized // a registry with auth challenges first
		}
		if resp.StatusCode != want {
			probeErr = fmt.Errorf("GET /v2/ answered %s, want %d", resp.Status, want)
		}
	})
	if probeErr != nil {
		t.Fatalf("registry %s is not usable: %v", addr, probeErr)
	}
	return addr
}

// uniqueRepo returns a repository name no other test or run uses.
func uniqueRepo(prefix string) string {
	return "e2e/" + prefix + "-" + randHex(5)
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func randBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// toolPath finds a client binary in BERTH_TOOLS, then on PATH. A missing tool
// fails the test: CI installs all of them.
func toolPath(t *testing.T, name string) string {
	t.Helper()
	if dir := os.Getenv("BERTH_TOOLS"); dir != "" {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("client %q not found in BERTH_TOOLS=%q or PATH (install with scripts/tools.sh): %v",
			name, os.Getenv("BERTH_TOOLS"), err)
	}
	return p
}

// clientEnv is an isolated environment for client tools: its own HOME, docker
// and XDG config dirs, so nothing global is read or written.
type clientEnv struct {
	t         *testing.T
	reg       string // registry host:port
	home      string
	vars      []string
	authFiles []string // the tools' credential files
}

func newClientEnv(t *testing.T) *clientEnv {
	t.Helper()
	reg := registryAddr(t)
	root := t.TempDir()
	dirs := map[string]string{}
	for _, d := range []string{"home", "docker", "config", "cache", "data", "runtime", "tuf"} {
		p := filepath.Join(root, d)
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
		dirs[d] = p
	}
	regConf := filepath.Join(root, "registries.conf")
	if err := os.WriteFile(regConf, []byte("unqualified-search-registries = []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	set := map[string]string{
		"HOME":                       dirs["home"],
		"DOCKER_CONFIG":              dirs["docker"],
		"XDG_CONFIG_HOME":            dirs["config"],
		"XDG_CACHE_HOME":             dirs["cache"],
		"XDG_DATA_HOME":              dirs["data"],
		"XDG_RUNTIME_DIR":            dirs["runtime"],
		"HELM_CONFIG_HOME":           filepath.Join(dirs["config"], "helm"),
		"HELM_CACHE_HOME":            filepath.Join(dirs["cache"], "helm"),
		"HELM_DATA_HOME":             filepath.Join(dirs["data"], "helm"),
		"HELM_REGISTRY_CONFIG":       filepath.Join(dirs["docker"], "helm-registry.json"),
		"REGISTRY_AUTH_FILE":         filepath.Join(dirs["docker"], "auth.json"),
		"CONTAINERS_REGISTRIES_CONF": regConf,
		"REGCTL_CONFIG":              filepath.Join(dirs["config"], "regctl.json"),
		"TUF_ROOT":                   dirs["tuf"],
		"NO_COLOR":                   "1",
		"TERM":                       "dumb",
	}
	var vars []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, override := set[k]; override || strings.HasPrefix(k, "COSIGN_") || strings.HasPrefix(k, "SIGSTORE_") {
			continue
		}
		vars = append(vars, kv)
	}
	for k, v := range set {
		vars = append(vars, k+"="+v)
	}
	e := &clientEnv{t: t, reg: reg, home: dirs["home"], vars: vars,
		authFiles: []string{filepath.Join(dirs["docker"], "config.json"), set["REGISTRY_AUTH_FILE"], set["HELM_REGISTRY_CONFIG"]}}
	if user := os.Getenv("BERTH_E2E_USER"); user != "" {
		e.login(user, os.Getenv("BERTH_E2E_PASSWORD"))
	}
	return e
}

// login configures every tool with the same docker-format credentials:
// docker's config (crane, oras, regctl, cosign), containers' auth file
// (skopeo) and helm's registry config. Each tool then logs in through the
// registry's challenge and the token service. An empty user removes them.
func (e *clientEnv) login(user, password string) {
	e.t.Helper()
	conf := []byte(`{"auths":{}}`)
	if user != "" {
		cred := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
		conf = []byte(`{"auths":{"` + e.reg + `":{"auth":"` + cred + `"}}}`)
	}
	for _, p := range e.authFiles {
		if err := os.WriteFile(p, conf, 0o600); err != nil {
			e.t.Fatal(err)
		}
	}
}

// on returns a copy of e that reports to t: a subtest must fail its own t.
func (e *clientEnv) on(t *testing.T) *clientEnv {
	c := *e
	c.t = t
	return &c
}

// ref joins the registry address with a repository and a ":tag" or "@digest".
func (e *clientEnv) ref(repo, suffix string) string {
	return e.reg + "/" + repo + suffix
}

// cmd describes one client invocation.
type cmd struct {
	name    string
	args    []string
	dir     string
	env     []string // extra KEY=VALUE
	timeout time.Duration
	stdout  io.Writer // when set, stdout goes here instead of being captured
	stdin   io.Reader
}

type result struct {
	stdout, stderr string
	err            error
}

func (e *clientEnv) exec(c cmd) result {
	e.t.Helper()
	timeout := c.timeout
	if timeout == 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	bin := toolPath(e.t, c.name)
	x := exec.CommandContext(ctx, bin, c.args...)
	x.Dir = c.dir
	if x.Dir == "" {
		x.Dir = e.home
	}
	x.Env = append(slices.Clone(e.vars), c.env...)
	x.Stdin = c.stdin
	var stdout, stderr bytes.Buffer
	x.Stdout = &stdout
	if c.stdout != nil {
		x.Stdout = c.stdout
	}
	x.Stderr = &stderr
	start := time.Now()
	err := x.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %s: %w", timeout, err)
	}
	e.t.Logf("$ %s %s  (%s, %v)", c.name, strings.Join(c.args, " "), time.Since(start).Round(time.Millisecond), errOK(err))
	return result{stdout: stdout.String(), stderr: stderr.String(), err: err}
}

func errOK(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// run runs a client command that must succeed and returns its stdout.
func (e *clientEnv) run(name string, args ...string) string {
	e.t.Helper()
	return e.runCmd(cmd{name: name, args: args})
}

func (e *clientEnv) runCmd(c cmd) string {
	e.t.Helper()
	r := e.exec(c)
	if r.err != nil {
		e.t.Fatalf("%s %s failed: %v\nstdout:\n%s\nstderr:\n%s", c.name, strings.Join(c.args, " "),
			r.err, clip(r.stdout), clip(r.stderr))
	}
	return r.stdout
}

// fails runs a client command that must fail and returns its stderr.
func (e *clientEnv) fails(name string, args ...string) string {
	e.t.Helper()
	r := e.exec(cmd{name: name, args: args})
	if r.err == nil {
		e.t.Fatalf("%s %s succeeded, want failure\nstdout:\n%s", name, strings.Join(args, " "), clip(r.stdout))
	}
	var exitErr *exec.ExitError
	if !errors.As(r.err, &exitErr) {
		e.t.Fatalf("%s %s did not run: %v", name, strings.Join(args, " "), r.err)
	}
	return r.stderr
}

func clip(s string) string {
	const max = 8000
	if len(s) > max {
		return s[:max/2] + "\n...\n" + s[len(s)-max/2:]
	}
	return s
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// fileDigest streams a file through sha256.
func fileDigest(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decoding JSON: %v\n%s", err, clip(s))
	}
}

// lines splits command output into trimmed non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func wantContains(t *testing.T, what string, list []string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(list, w) {
			t.Errorf("%s: %q missing from %q", what, w, list)
		}
	}
}

func wantEqual[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

// httpGet fetches a registry URL path directly, for assertions no client
// exposes (status codes, headers). Against a registry with auth it answers
// a Bearer challenge as clients do: a token for the challenge's scope from
// its realm, with BERTH_E2E_USER's credentials, then the request again.
func httpGet(t *testing.T, reg, path string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	resp, body := rawGet(t, "http://"+reg+path, header, "")
	if resp.StatusCode == http.StatusUnauthorized && os.Getenv("BERTH_E2E_USER") != "" {
		if tok := fetchToken(t, resp.Header.Get("WWW-Authenticate")); tok != "" {
			resp, body = rawGet(t, "http://"+reg+path, header, tok)
		}
	}
	return resp, body
}

func rawGet(t *testing.T, url string, header map[string]string, bearer string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	client := http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp, body
}

// fetchToken answers a Bearer challenge: it asks the realm for the
// challenge's service and scope with basic credentials.
func fetchToken(t *testing.T, challenge string) string {
	t.Helper()
	rest, ok := strings.CutPrefix(challenge, "Bearer ")
	if !ok {
		return ""
	}
	params := map[string]string{}
	for rest != "" {
		k, v, ok := strings.Cut(rest, `="`)
		if !ok {
			break
		}
		end := strings.IndexByte(v, '"')
		if end < 0 {
			break
		}
		params[strings.TrimLeft(k, ", ")] = v[:end]
		rest = v[end+1:]
	}
	q := neturl.Values{"service": {params["service"]}}
	if params["scope"] != "" {
		q["scope"] = strings.Fields(params["scope"])
	}
	req, err := http.NewRequest(http.MethodGet, params["realm"]+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	req.SetBasicAuth(os.Getenv("BERTH_E2E_USER"), os.Getenv("BERTH_E2E_PASSWORD"))
	client := http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	defer resp.Body.Close()
	var tok struct {
		Token string `json:"token"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&tok) != nil {
		t.Fatalf("token request to %s: %s", params["realm"], resp.Status)
	}
	return tok.Token
}

// waitFor polls cond until it holds, failing the test naming what it
// waited for after two minutes: the registry's background work (jobs,
// deliveries, scans) finishes when a busy machine lets it, so tests wait
// on what it makes true, never on a fixed delay.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
