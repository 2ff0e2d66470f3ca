package builtin_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthreg/berth/internal/testscan"
	"github.com/berthreg/berth/registrytest"
	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/builtin"
	"github.com/berthreg/berth/scan/pluggable"
	"github.com/berthreg/berth/scan/scantest"
)

// TestPluggableEndToEnd: the built-in scanner passes scantest directly
// and served as a Harbor Pluggable Scanner API v1.2 adapter
// (pluggable.Server) reached by pluggable.Client over HTTP, on images
// pushed to a registry, with exactly the expected vulnerabilities.
func TestPluggableEndToEnd(t *testing.T) {
	reg := registrytest.New(t)
	s := newScanner(t)
	adapter := httptest.NewServer(testscan.Server(t, s, pluggable.WithRequiredAuthorization("Bearer adapter-secret")))
	t.Cleanup(adapter.Close)
	client := testscan.Client(t, adapter.URL, pluggable.WithAuthorization("Bearer adapter-secret"))
	for _, c := range []struct {
		name  string
		oci   bool
		files []file
		check func(*testing.T, scan.VulnerabilityReport)
	}{
		{"alpine", true, alpineFiles, checkAlpine},
		{"debian", false, debianFiles, checkDebian},
	} {
		req := request(reg.URL, "library/"+c.name, push(t, reg.Host, "library/"+c.name, image(t, c.oci, c.files)))
		t.Run(c.name+"/direct", func(t *testing.T) { scantest.Run(t, s, req, c.check) })
		t.Run(c.name+"/adapter", func(t *testing.T) { scantest.Run(t, client, req, c.check) })
	}
}

// guarded serves h only to requests with the accepted Authorization
// header, answering others 401 with a challenge (a Bearer one unless
// basic), and records the headers it saw.
type guarded struct {
	h      http.Handler
	accept string
	basic  bool
	mu     sync.Mutex
	seen   []string
}

func (g *guarded) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a := r.Header.Get("Authorization")
	g.mu.Lock()
	g.seen = append(g.seen, r.Method+" "+r.URL.Path+" "+a)
	g.mu.Unlock()
	if a == g.accept {
		g.h.ServeHTTP(w, r)
		return
	}
	if g.basic {
		w.Header().Set("WWW-Authenticate", `Basic realm="test-registry"`)
	} else {
		w.Header().Set("WWW-Authenticate", `Bearer realm="http://`+r.Host+`/token",service="test-registry"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
}

// TestRegistryAuthorization: the scanner pulls with the request's
// Authorization (a bearer token, or basic credentials); with a wrong one
// the report is an error naming the failed pull, directly and through
// the adapter.
func TestRegistryAuthorization(t *testing.T) {
	reg := registrytest.New(t)
	digest := push(t, reg.Host, "team/app", image(t, true, alpineFiles))
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("robot$scan:s3cret"))
	s := newScanner(t)
	adapter := httptest.NewServer(testscan.Server(t, s))
	t.Cleanup(adapter.Close)
	for _, g := range []*guarded{{h: reg.Handler, accept: "Bearer good-token"}, {h: reg.Handler, accept: basic, basic: true}} {
		private := httptest.NewServer(g)
		t.Cleanup(private.Close)
		req := request(private.URL, "team/app", digest)
		req.Registry.Authorization = g.accept
		checkAlpine(t, vulnReport(t, s, req))
		g.mu.Lock()
		sent := strings.Join(g.seen, "\n")
		g.mu.Unlock()
		if !strings.Contains(sent, "GET /v2/team/app/manifests/"+digest+" "+g.accept) {
			t.Errorf("%s: the manifest was not fetched with it; requests:\n%s", g.accept, sent)
		}
		for _, auth := range []string{"Bearer wrong-token", "Basic d3Jvbmc6d3Jvbmc=", ""} {
			req.Registry.Authorization = auth
			for name, sc := range map[string]scan.Scanner{"direct": s, "adapter": testscan.Client(t, adapter.URL)} {
				_, err := report(t, sc, req, scan.MimeVulnReport, "")
				if err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(private.URL, "http://")+"/team/app@"+digest+" failed: pulling the image") ||
					!strings.Contains(err.Error(), "UNAUTHORIZED") {
					t.Errorf("%s, authorization %q for %q: %v, want an error naming the pull and UNAUTHORIZED", name, auth, g.accept, err)
				}
			}
		}
	}
}

// TestUnknownDigest: a digest the registry does not have is a report
// error naming the pull, not a panic; bad requests are refused.
func TestUnknownDigest(t *testing.T) {
	reg := registrytest.New(t)
	s := newScanner(t)
	req := request(reg.URL, "team/none", "sha256:"+strings.Repeat("0", 64))
	_, err := report(t, s, req, scan.MimeVulnReport, "")
	if err == nil || !strings.Contains(err.Error(), "failed: pulling the image") || !strings.Contains(err.Error(), "MANIFEST_UNKNOWN") {
		t.Errorf("unknown digest: %v", err)
	}
	for name, bad := range map[string]scan.Request{
		"scheme":        request("ftp://"+reg.Host, "team/none", req.Artifact.Digest),
		"path":          request(reg.URL+"/v2", "team/none", req.Artifact.Digest),
		"digest":        request(reg.URL, "team/none", "sha256:abc"),
		"repository":    request(reg.URL, "Team/None", req.Artifact.Digest),
		"authorization": {Registry: scan.Registry{URL: reg.URL, Authorization: "Token x"}, Artifact: req.Artifact},
	} {
		if _, err := s.Scan(context.Background(), bad); !errors.Is(err, scan.ErrInvalid) {
			t.Errorf("%s: %v, want scan.ErrInvalid", name, err)
		}
	}
}

// TestTransport: WithTransport is the way to the registry, here an
// in-process handler under a host name that resolves nowhere.
func TestTransport(t *testing.T) {
	reg := registrytest.New(t)
	digest := push(t, reg.Host, "team/app", image(t, true, alpineFiles))
	inProcess := roundTripper(func(r *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		reg.Handler.ServeHTTP(rec, r)
		return rec.Result(), nil
	})
	s := newScanner(t, builtin.WithTransport(inProcess))
	checkAlpine(t, vulnReport(t, s, request("http://registry.invalid", "team/app", digest)))
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestConcurrency: WithConcurrency(1) pulls one image at a time.
func TestConcurrency(t *testing.T) {
	reg := registrytest.New(t)
	digest := push(t, reg.Host, "team/app", image(t, true, alpineFiles))
	var mu sync.Mutex
	inFlight, most := 0, 0
	slow := roundTripper(func(r *http.Request) (*http.Response, error) {
		if strings.Contains(r.URL.Path, "/manifests/") {
			mu.Lock()
			inFlight++
			most = max(most, inFlight)
			mu.Unlock()
			time.Sleep(50 * time.Millisecond)
			defer func() { mu.Lock(); inFlight--; mu.Unlock() }()
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	s := newScanner(t, builtin.WithConcurrency(1), builtin.WithTransport(slow))
	var ids []string
	for range 3 {
		id, err := s.Scan(context.Background(), request(reg.URL, "team/app", digest))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		if _, err := scan.Wait(context.Background(), s, id, scan.MimeVulnReport, ""); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if most != 1 {
		t.Errorf("%d pulls at once, want 1", most)
	}
}
