package registry_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/berthreg/berth/internal/faultmeta"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/registry/internal/spec"
)

// TestMetadataOutageIs503: while the metadata store cannot be reached,
// requests are 503 UNAVAILABLE with a Retry-After (not 500), naming the
// metadata store; once it is back the same handler serves them.
func TestMetadataOutageIs503(t *testing.T) {
	e := newEnv(t)
	m, d := e.pushImage("a/b", "v1")
	store := faultmeta.Wrap(e.store)
	e.store = store
	e.restart()
	requests := []struct {
		method, path string
		body         []byte
		hdr          []string
		after        int
	}{
		{"GET", "/v2/a/b/manifests/v1", nil, nil, http.StatusOK},
		{"GET", "/v2/a/b/manifests/" + d.String(), nil, nil, http.StatusOK},
		{"GET", "/v2/a/b/tags/list", nil, nil, http.StatusOK},
		{"GET", "/v2/_catalog", nil, nil, http.StatusOK},
		{"POST", "/v2/a/b/blobs/uploads/", nil, nil, http.StatusAccepted},
		{"PUT", "/v2/a/b/manifests/v2", m, []string{"Content-Type", spec.MediaTypeOCIManifest}, http.StatusCreated},
	}
	store.SetDown(true)
	for _, r := range requests {
		got := e.do(r.method, r.path, r.body, r.hdr...).expect(t, http.StatusServiceUnavailable, registry.CodeUnavailable)
		if got.Header.Get("Retry-After") == "" || !strings.Contains(string(got.body), "metadata store") {
			t.Errorf("%s %s: Retry-After %q, body %s", r.method, r.path, got.Header.Get("Retry-After"), got.body)
		}
	}
	store.SetDown(false)
	for _, r := range requests {
		e.do(r.method, r.path, r.body, r.hdr...).expect(t, r.after, "")
	}
}

// TestHookOutageIs503: a hook that fails because its store cannot be
// reached gets the request 503 UNAVAILABLE with a Retry-After, not 403
// DENIED: the client's credentials and rights may be fine.
func TestHookOutageIs503(t *testing.T) {
	var down atomic.Bool
	fail := func(context.Context, *registry.Event) error {
		if down.Load() {
			return fmt.Errorf("looking up the account: %w", meta.ErrUnavailable)
		}
		return nil
	}
	e := newEnv(t, registry.WithHooks(registry.Hooks{Authorize: fail, BeforePull: fail}))
	e.pushImage("a/b", "v1")
	down.Store(true)
	for _, path := range []string{"/v2/", "/v2/a/b/manifests/v1"} {
		got := e.do("GET", path, nil).expect(t, http.StatusServiceUnavailable, registry.CodeUnavailable)
		if got.Header.Get("Retry-After") == "" {
			t.Errorf("GET %s: no Retry-After", path)
		}
	}
	down.Store(false)
	e.do("GET", "/v2/a/b/manifests/v1", nil).expect(t, http.StatusOK, "")
}
