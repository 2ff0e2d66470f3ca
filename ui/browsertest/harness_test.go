package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/testserver"
	"github.com/berthreg/berth/server"
	"github.com/berthreg/berth/server/builtinscan"
)

// adminPassword is the administrator's password on every test server.
const adminPassword = "Admin-Password-1"

// stepTimeout bounds one browser step (a navigation, a click and the
// page it loads, a query): generous, so that a busy 2-core machine never
// fails a test that a quiet one passes. Nothing waits for a fixed time:
// steps wait for conditions, within this bound.
const stepTimeout = 60 * time.Second

// Window sizes: a desktop, and the narrow phone of the small-screen check.
const (
	desktopWidth, desktopHeight = 1280, 900
	narrowWidth, narrowHeight   = 360, 740
)

// repoRoot returns the top of the berth repository (two levels up from
// this module), checked by its go.mod.
var repoRoot = sync.OnceValues(func() (string, error) {
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil || !bytes.HasPrefix(b, []byte("module github.com/berthreg/berth\n")) {
		return "", fmt.Errorf("%s is not the berth repository (go.mod: %v)", dir, err)
	}
	return dir, nil
})

// root is repoRoot for a test.
func root(t testing.TB) string {
	t.Helper()
	dir, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// berth is a whole Berth server running in process on 127.0.0.1 for one
// test: fs storage and bbolt metadata in a temporary directory,
// authentication on with the administrator's password, the built-in
// scanner on the OSV fixtures of scan/builtin/testdata, and the portal at
// / of its handler.
type berth struct {
	host string // 127.0.0.1:port
	url  string // http://host
	logs *syncBuffer
}

// serverOption changes a test server's configuration before it starts.
type serverOption func(*server.Config)

// withAutoScan scans every pushed image.
func withAutoScan(c *server.Config) { c.Scan.AutoScan = true }

// startBerth starts a server for t, stopped when t ends. Its warnings
// and errors are printed when t fails.
func startBerth(t *testing.T, opts ...serverOption) *berth {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Auth.AdminPassword = adminPassword
	cfg.Auth.HashCost = bcrypt.MinCost
	cfg.Scan.OSVDB = filepath.Join(root(t), "scan", "builtin", "testdata", "osv")
	for _, o := range opts {
		o(&cfg)
	}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	t.Cleanup(func() { // runs last, after the server closed
		if t.Failed() {
			t.Logf("server log (warnings and errors):\n%s", logs.tail(60))
		}
	})
	host := testserver.Start(t, cfg, server.WithLogger(logger), server.WithBuiltinScanner(builtinscan.New))
	return &berth{host: host, url: "http://" + host, logs: logs}
}

// api calls the admin API (/api/v2.0 + path) as the administrator and
// fails t unless it answers want; it returns the answer's body.
func (b *berth) api(t testing.TB, method, path, body string, want int) []byte {
	t.Helper()
	code, out, _, err := b.call(context.Background(), method, path, body, "admin", adminPassword)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if code != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, code, out, want)
	}
	return out
}

// call is one call of the admin API with basic authentication; it
// returns the answer's status, body and header.
func (b *berth) call(ctx context.Context, method, path, body, user, password string) (int, []byte, http.Header, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.url+"/api/v2.0"+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.SetBasicAuth(user, password)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, resp.Header, err
}

// apiClient keeps connections to the test servers open for the seeding
// of the scale tests.
var apiClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}, Timeout: 2 * time.Minute}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

// tail returns the last n lines written.
func (s *syncBuffer) tail(n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	lines := strings.Split(strings.TrimRight(s.buf.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// browser is one tab of a headless Chromium of its own (a fresh profile
// in a temporary directory), pointed at a test server.
type browser struct {
	t   *testing.T
	b   *berth
	ctx context.Context // the tab's context; steps derive timeouts from it

	mu     sync.Mutex
	errors []string // uncaught exceptions of the pages' scripts
}

// chromiumPath is the browser: $BERTH_CHROMIUM, else Debian's.
func chromiumPath(t testing.TB) string {
	t.Helper()
	p := os.Getenv("BERTH_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if fi, err := os.Stat(p); err != nil || fi.IsDir() {
		t.Fatalf("no browser at %s (BERTH_CHROMIUM); install it with scripts/chromium.sh", p)
	}
	return p
}

// newBrowser starts a browser with a window of width × height on b,
// closed when t ends. An uncaught exception of the portal's script on
// any page fails t.
func (b *berth) newBrowser(t *testing.T, width, height int) *browser {
	t.Helper()
	output := &syncBuffer{}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests run as root in CI
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("lang", "en-US"),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
		chromedp.CombinedOutput(output),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	br := &browser{t: t, b: b}
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			br.mu.Lock()
			br.errors = append(br.errors, exceptionText(e.ExceptionDetails))
			br.mu.Unlock()
		}
	}))
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		br.mu.Lock()
		defer br.mu.Unlock()
		for _, e := range br.errors {
			t.Errorf("uncaught exception in a page: %s", e)
		}
		if t.Failed() {
			if out := chromiumNoise.ReplaceAllString(output.tail(200), ""); strings.TrimSpace(out) != "" {
				t.Logf("chromium output:\n%s", out)
			}
		}
	})
	// The first Run starts the browser; it must have no timeout (the
	// timeout would end the browser).
	if err := chromedp.Do(ctx, chromedp.Func(func(context.Context, *chromedp.Target) error { return nil })); err != nil {
		t.Fatalf("starting %s: %v\n%s", chromiumPath(t), err, output.tail(30))
	}
	br.ctx = ctx
	// The layout viewport is exactly the window asked for.
	br.do("setting the viewport", chromedp.EmulateViewport(int64(width), int64(height)))
	return br
}

// chromiumNoise matches the lines of chromium's output that say nothing
// about a failure: no D-Bus in a container, and the Debian launcher's
// check of /dev/shm.
var chromiumNoise = regexp.MustCompile(`(?m)^.*(dbus|DBus|unexpected operator).*\n?`)

// exceptionText writes an uncaught exception with where it was thrown.
func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "?"
	}
	s := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		s += " " + d.Exception.Description
	}
	return fmt.Sprintf("%s (%s:%d:%d)", s, d.URL, d.LineNumber, d.ColumnNumber)
}

// takeExceptions returns the uncaught exceptions seen so far and
// forgets them (for the harness's own test).
func (p *browser) takeExceptions() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.errors
	p.errors = nil
	return e
}

// step derives the context of one step.
func (p *browser) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(p.ctx, stepTimeout)
}

// do runs the actions as one step, failing the test with what on error.
func (p *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := p.step()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s (at %s): %v", what, p.location(), err)
	}
}

// eval evaluates the JavaScript expression js in the page and decodes
// its value into T.
func eval[T any](p *browser, js string) T {
	p.t.Helper()
	ctx, cancel := p.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		p.t.Fatalf("evaluating %.200s (at %s): %v", js, p.location(), err)
	}
	return v
}

// location returns the page's URL, or a note when it cannot.
func (p *browser) location() string {
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(location unknown: " + err.Error() + ")"
	}
	return loc
}

// path returns the page's path and query, without the server's origin.
func (p *browser) path() string {
	p.t.Helper()
	u, err := url.Parse(eval[string](p, `location.href`))
	if err != nil {
		p.t.Fatal(err)
	}
	return u.RequestURI()
}

// open navigates to path (on the test server) and fails the test unless
// the page answers 200 at that path: a redirect elsewhere (to the sign-in
// page, say) fails too.
func (p *browser) open(path string) {
	p.t.Helper()
	status, at := p.navigate(path)
	if status != http.StatusOK {
		p.t.Fatalf("GET %s: status %d (at %s)", path, status, at)
	}
	want, _ := url.Parse(path)
	got, _ := url.Parse(at)
	if got.Path != want.Path {
		p.t.Fatalf("GET %s ended at %s", path, at)
	}
}

// navigate goes to path and returns the final document's status and
// where the browser ended up (after redirects).
func (p *browser) navigate(path string) (int, string) {
	p.t.Helper()
	ctx, cancel := p.step()
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(p.b.url+path))
	if err != nil {
		p.t.Fatalf("GET %s: %v", path, err)
	}
	if resp == nil {
		p.t.Fatalf("GET %s: no response", path)
	}
	return int(resp.Status), p.path()
}

// submit clicks sel (a submit button, or a link) and waits for the page
// it loads; it fails the test when that page answers 400 or more. It
// returns the new page's path.
func (p *browser) submit(sel string) string {
	p.t.Helper()
	ctx, cancel := p.step()
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		p.t.Fatalf("clicking %s (at %s): %v", sel, p.location(), err)
	}
	if resp != nil && resp.Status >= 400 {
		p.t.Fatalf("clicking %s: the page answered %d %s (at %s): %s", sel, resp.Status, resp.StatusText, p.location(), p.text("main"))
	}
	return p.path()
}

// submitOK is submit followed by a check that the page shows no error
// message of the portal.
func (p *browser) submitOK(sel string) string {
	p.t.Helper()
	at := p.submit(sel)
	p.noError()
	return at
}

// noError fails the test when the page shows the portal's error flash.
func (p *browser) noError() {
	p.t.Helper()
	if msg := eval[string](p, `(() => { const e = document.querySelector('[data-test="flash-error"]'); return e ? e.innerText : ""; })()`); msg != "" {
		p.t.Fatalf("the portal shows an error at %s: %s", p.location(), msg)
	}
}

// fill sets the value of the form field sel.
func (p *browser) fill(sel, value string) {
	p.t.Helper()
	p.do("filling "+sel, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.SetValue(chromedp.CSS(sel), value))
}

// typeInto types text into the field sel, key by key, as a person would.
func (p *browser) typeInto(sel, text string) {
	p.t.Helper()
	p.do("typing into "+sel, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Clear(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), text))
}

// click clicks sel where no page load follows (a checkbox, a script's
// button).
func (p *browser) click(sel string) {
	p.t.Helper()
	p.do("clicking "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// waitVisible waits until sel is shown.
func (p *browser) waitVisible(sel string) {
	p.t.Helper()
	p.do("waiting for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
}

// waitFor waits, within a step, until the JavaScript expression js is
// true on the current page (what names the condition in a failure).
func (p *browser) waitFor(what, js string) {
	p.t.Helper()
	ctx, cancel := p.step()
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(stepTimeout))); err != nil {
		p.t.Fatalf("waiting for %s (at %s): %v\npage text: %.2000s", what, p.location(), err, p.text("body"))
	}
}

// reloadUntil reloads path until the JavaScript expression js is true
// on it, for up to limit (for work the server does in the background,
// like a scan); what names the condition in a failure.
func (p *browser) reloadUntil(what, path, js string, limit time.Duration) {
	p.t.Helper()
	eventually.Within(p.t, limit, what+" (reloading "+path+")", func() bool {
		p.open(path)
		return eval[bool](p, js)
	})
}

// pick returns a selector of the one element matching sel whose text is
// exactly text (a link to a repository, say, whose address the page
// makes); it fails the test when there is none.
func (p *browser) pick(sel, text string) string {
	p.t.Helper()
	return p.mark(sel, text, `e => e.innerText.trim() === want`)
}

// pickNear returns a selector of the first element matching sel whose
// row (its closest tr, li or .chip, else its parent) holds text (the
// delete button of one tag, say); it fails the test when there is none.
func (p *browser) pickNear(sel, text string) string {
	p.t.Helper()
	return p.mark(sel, text, `e => (e.closest('tr, li, .chip') || e.parentElement).innerText.includes(want)`)
}

// marks numbers the elements pick and pickNear mark.
var marks atomic.Int64

// mark gives the first element matching sel for which the JavaScript
// predicate match (of the element, with want bound to text) holds an
// attribute of its own, and returns a selector of it.
func (p *browser) mark(sel, text, match string) string {
	p.t.Helper()
	id := strconv.FormatInt(marks.Add(1), 10)
	js := `(() => { const want = ` + jsString(text) + `; const e = [...document.querySelectorAll(` + jsString(sel) + `)].find(` + match + `);
		if (!e) { return false; } e.setAttribute('data-bt-mark', ` + jsString(id) + `); return true; })()`
	if !eval[bool](p, js) {
		p.t.Fatalf("no %s for %q at %s; page text: %.2000s", sel, text, p.location(), p.text("main"))
	}
	return `[data-bt-mark="` + id + `"]`
}

// count returns how many elements match sel.
func (p *browser) count(sel string) int {
	p.t.Helper()
	return eval[int](p, `document.querySelectorAll(`+jsString(sel)+`).length`)
}

// text returns the rendered text of the first element matching sel, or
// "" when none does.
func (p *browser) text(sel string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const e = document.querySelector(`+jsString(sel)+`); return e ? e.innerText : ""; })()`))
	if err != nil {
		return "(text unknown: " + err.Error() + ")"
	}
	return s
}

// attr returns attribute name of the first element matching sel ("" when
// there is none or it has none).
func (p *browser) attr(sel, name string) string {
	p.t.Helper()
	return eval[string](p, `(() => { const e = document.querySelector(`+jsString(sel)+`); return (e && e.getAttribute(`+jsString(name)+`)) || ""; })()`)
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// signIn signs in on the sign-in page as user, typing the credentials,
// and fails the test unless the browser lands on the projects page.
func (p *browser) signIn(user, password string) {
	p.t.Helper()
	p.open("/login")
	if at := p.signInHere(user, password); !strings.HasPrefix(at, "/projects") {
		p.t.Fatalf("signing in as %s ended at %s, not /projects: %s", user, at, p.text("main"))
	}
}

// signInHere types the credentials into the sign-in form of the current
// page and submits it; it returns where the browser lands.
func (p *browser) signInHere(user, password string) string {
	p.t.Helper()
	p.typeInto(`input[name="principal"]`, user)
	p.typeInto(`input[name="password"]`, password)
	return p.submit(`[data-test="login-submit"]`)
}

// reveal opens the drawer (a details element) whose summary is sel,
// unless it is open.
func (p *browser) reveal(sel string) {
	p.t.Helper()
	p.waitVisible(sel)
	if eval[bool](p, `(() => { const d = document.querySelector(`+jsString(sel)+`).closest('details'); return !!d && !d.open; })()`) {
		p.click(sel)
	}
	p.waitFor(sel+" open", `(() => { const d = document.querySelector(`+jsString(sel)+`).closest('details'); return !d || d.open; })()`)
}

// check sets the checkbox sel to on.
func (p *browser) check(sel string, on bool) {
	p.t.Helper()
	p.waitVisible(sel)
	if eval[bool](p, `document.querySelector(`+jsString(sel)+`).checked`) != on {
		p.click(sel)
	}
}

// choose selects, in the select element sel, the first option whose
// value or text is one of wants.
func (p *browser) choose(sel string, wants ...string) {
	p.t.Helper()
	p.waitVisible(sel)
	b, _ := json.Marshal(wants)
	msg := eval[string](p, `(() => { const s = document.querySelector(`+jsString(sel)+`); const wants = `+string(b)+`;
		const o = [...s.options].find(o => wants.includes(o.value) || wants.includes(o.text.trim()));
		if (!o) { return "no option " + wants.join(" or ") + " among " + [...s.options].map(o => o.value + "=" + o.text.trim()).join(", "); }
		s.value = o.value; s.dispatchEvent(new Event("change", {bubbles: true})); return ""; })()`)
	if msg != "" {
		p.t.Fatalf("choosing in %s: %s", sel, msg)
	}
}

// signOut uses the header's sign-out button and fails the test unless
// the browser lands on the sign-in page.
func (p *browser) signOut() {
	p.t.Helper()
	at := p.submit(`[data-test="logout"]`)
	if !strings.HasPrefix(at, "/login") {
		p.t.Fatalf("signing out ended at %s, not /login", at)
	}
}

// artifactsDir is where screenshots go: $BERTH_ARTIFACTS/portal, by
// default <repo>/.artifacts/portal.
func artifactsDir(t testing.TB) string {
	t.Helper()
	base := os.Getenv("BERTH_ARTIFACTS")
	if base == "" {
		base = filepath.Join(root(t), ".artifacts")
	}
	dir := filepath.Join(base, "portal")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// unsafeName matches what a file name should not hold.
var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// screenshot saves a PNG of the whole page (beyond the window) as
// <test>-<name>.png in artifactsDir.
func (p *browser) screenshot(name string) {
	p.t.Helper()
	ctx, cancel := p.step()
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	file := filepath.Join(artifactsDir(p.t), unsafeName.ReplaceAllString(p.t.Name()+"-"+name, "_")+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.t.Logf("screenshot %s", file)
}

// axeSource is axe-core's axe.min.js, read once from $BERTH_AXE.
var axeSource = sync.OnceValues(func() (string, error) {
	p := os.Getenv("BERTH_AXE")
	if p == "" {
		return "", errors.New("BERTH_AXE is not set: run the tests under scripts/chromium.sh, which installs axe-core and sets it")
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", fmt.Errorf("BERTH_AXE: %w", err)
	}
	return string(b), nil
})

// axeViolation is what the tests keep of one of axe's violations.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	URL    string `json:"helpUrl"`
	Nodes  []struct {
		Target  string `json:"target"`
		HTML    string `json:"html"`
		Summary string `json:"summary"`
	} `json:"nodes"`
}

// axeRun runs axe-core on the whole document and returns its violations.
const axeRun = `axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => ({
	id: v.id, impact: v.impact || '', help: v.help, helpUrl: v.helpUrl,
	nodes: v.nodes.map(n => ({
		target: n.target.map(x => Array.isArray(x) ? x.join(' >>> ') : String(x)).join(', '),
		html: n.html, summary: n.failureSummary || '',
	})),
})))`

// axe checks the current page (named pageName in messages) with
// axe-core and fails the test on any violation of serious or critical
// impact, printing its rule, help and the nodes at fault; lesser ones are
// logged.
func (p *browser) axe(pageName string) {
	p.t.Helper()
	for _, v := range p.axeViolations(pageName) {
		var b strings.Builder
		fmt.Fprintf(&b, "axe on %s: %s [%s]: %s (%s)", pageName, v.ID, v.Impact, v.Help, v.URL)
		for i, n := range v.Nodes {
			if i == 10 {
				fmt.Fprintf(&b, "\n\t… and %d more", len(v.Nodes)-i)
				break
			}
			fmt.Fprintf(&b, "\n\t%s: %.300s\n\t\t%s", n.Target, n.HTML, strings.ReplaceAll(n.Summary, "\n", "\n\t\t"))
		}
		if v.serious() {
			p.t.Error(b.String())
		} else {
			p.t.Log(b.String())
		}
	}
}

// serious reports a violation of serious or critical impact.
func (v axeViolation) serious() bool { return v.Impact == "serious" || v.Impact == "critical" }

// axeViolations injects axe-core into the current page, runs it on the
// whole document and returns its violations.
func (p *browser) axeViolations(pageName string) []axeViolation {
	p.t.Helper()
	src, err := axeSource()
	if err != nil {
		p.t.Fatal(err)
	}
	ctx, cancel := p.step()
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](src)); err != nil {
		p.t.Fatalf("axe on %s: injecting axe.min.js: %v", pageName, err)
	}
	vs, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("axe on %s: %v", pageName, err)
	}
	return vs
}
