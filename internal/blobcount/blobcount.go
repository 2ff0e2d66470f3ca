// Package blobcount counts the blobs a registry serves, at a reverse
// proxy in front of it, for tests that must show what a peer (a P2P
// provider's seed peer or origin, a replication target) fetched from
// Berth: every GET /v2/<repository>/blobs/<digest> answered 200.
//
//	gets := blobcount.Start(t, berthHost) // give the peer gets.Host
//	...
//	if gets.Of("library/app", layerDigest) == 0 { … }
package blobcount

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// Counter is a counting reverse proxy to one registry.
type Counter struct {
	// Host is the proxy's loopback host:port, what the peer is given
	// instead of the registry's.
	Host string

	mu sync.Mutex
	n  map[string]int // "<repository>@<digest>" -> blob GETs answered 200
}

// Start serves a counting reverse proxy to registry (a host:port, plain
// HTTP) on a loopback port until the test ends.
func Start(t testing.TB, registry string) *Counter {
	t.Helper()
	c := &Counter{n: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: registry})
	rp.ModifyResponse = func(resp *http.Response) error {
		r := resp.Request
		repo, d, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), "/blobs/")
		if r.Method == http.MethodGet && resp.StatusCode == http.StatusOK && ok && strings.HasPrefix(r.URL.Path, "/v2/") {
			c.mu.Lock()
			c.n[repo+"@"+d]++
			c.mu.Unlock()
		}
		return nil
	}
	ts := httptest.NewServer(rp)
	t.Cleanup(ts.Close)
	c.Host = ts.Listener.Addr().String()
	return c
}

// Of is how many times blob digest ("sha256:…") of repository was
// served.
func (c *Counter) Of(repository, digest string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[repository+"@"+digest]
}

// Total is how many blobs were served in all.
func (c *Counter) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	total := 0
	for _, v := range c.n {
		total += v
	}
	return total
}
