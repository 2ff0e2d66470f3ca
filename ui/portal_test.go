package ui_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/berthreg/berth/internal/testserver"
	"github.com/berthreg/berth/server"
	"github.com/berthreg/berth/server/builtinscan"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/crypto/bcrypt"
)

// adminPassword is the test servers' admin password.
const adminPassword = "admin-password"

// startServer runs a whole Berth server (auth on, bbolt and fs in a
// temporary directory, the built-in scanner) with its portal on a
// loopback port until the test ends, and returns its host:port. change
// adjusts the configuration.
func startServer(t *testing.T, change ...func(*server.Config)) string {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Auth.AdminPassword = adminPassword
	cfg.Auth.HashCost = bcrypt.MinCost
	cfg.Outbound.Allow = []string{"127.0.0.0/8", "::1"}
	for _, c := range change {
		c(&cfg)
	}
	return testserver.Start(t, cfg, server.WithLogger(slog.New(slog.DiscardHandler)), server.WithBuiltinScanner(builtinscan.New))
}

// browser is a person's browser: a cookie jar and no redirects followed
// automatically unless asked.
type browser struct {
	t    *testing.T
	host string
	c    *http.Client
}

func newBrowser(t *testing.T, host string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, host: host, c: &http.Client{Jar: jar}}
}

// get fetches a page (following redirects) and returns its status and
// body.
func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	resp, err := b.c.Get("http://" + b.host + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// fragment fetches a page's live part, as the portal's script does.
func (b *browser) fragment(path string) (int, string) {
	b.t.Helper()
	req, _ := http.NewRequest("GET", "http://"+b.host+path, nil)
	req.Header.Set("X-Berth-Fragment", "1")
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// page fetches a page and fails unless it answers 200.
func (b *browser) page(path string) string {
	b.t.Helper()
	code, body := b.get(path)
	if code != http.StatusOK {
		b.t.Fatalf("GET %s: %d\n%s", path, code, body)
	}
	return body
}

// csrf returns the browser's CSRF cookie (fetching a page to get one).
func (b *browser) csrf() string {
	b.t.Helper()
	u, _ := url.Parse("http://" + b.host + "/")
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "berth-csrf" {
			return c.Value
		}
	}
	b.get("/login")
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "berth-csrf" {
			return c.Value
		}
	}
	b.t.Fatal("no CSRF cookie")
	return ""
}

// post sends a form as the portal's page would (with the CSRF token),
// follows the redirect, and returns the final status and body.
func (b *browser) post(path string, form url.Values) (int, string) {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if form.Get("csrf") == "" {
		form.Set("csrf", b.csrf())
	}
	resp, err := b.c.PostForm("http://"+b.host+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// signIn signs in through the portal's form.
func (b *browser) signIn(user, password string) {
	b.t.Helper()
	code, body := b.post("/login", url.Values{"principal": {user}, "password": {password}, "next": {"/projects"}})
	if code != http.StatusOK || !strings.Contains(body, `data-test="who">`+user+`<`) {
		b.t.Fatalf("signing in as %s: %d\n%s", user, code, body)
	}
}

// api calls the admin API with basic credentials and returns the status
// and body.
func api(t *testing.T, host, user, pass, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+host+"/api/v2.0"+path, strings.NewReader(body))
	req.SetBasicAuth(user, pass)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// mustAPI calls the admin API as the admin and fails on a status other
// than want.
func mustAPI(t *testing.T, host, method, path, body string, want int) string {
	t.Helper()
	code, out := api(t, host, "admin", adminPassword, method, path, body)
	if code != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, code, out, want)
	}
	return out
}

// names decodes a JSON list and returns each item's "name".
func names(t *testing.T, body string) []string {
	t.Helper()
	var list []struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	var out []string
	for _, it := range list {
		out = append(out, it.Name)
	}
	return out
}

// push pushes img to host as repo:tag, as the admin, and returns its
// digest.
func push(t *testing.T, host, repo, tag string, img v1.Image) string {
	t.Helper()
	ref, err := name.ParseReference(host+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "admin", Password: adminPassword})); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// pushRandom pushes a random image to host as repo:tag, as the admin.
func pushRandom(t *testing.T, host, repo, tag string) {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	push(t, host, repo, tag, img)
}
