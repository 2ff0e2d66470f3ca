package registry_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/registry/internal/spec"
)

// fakeUpstream caches repositories under "cache/": its "upstream" is a
// map of manifests by reference, which it pushes into the registry under
// test when asked, and of blobs, which it streams (cut after cut bytes,
// when set).
type fakeUpstream struct {
	e         *env
	mu        sync.Mutex
	manifests map[string][]byte
	blobs     map[digest.Digest][]byte
	calls     []string
	err       error
	warning   string
	cut       int
}

func (f *fakeUpstream) Manifest(_ context.Context, repo, ref string) (registry.UpstreamResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "manifest "+repo+":"+ref)
	if !strings.HasPrefix(repo, "cache/") {
		return registry.UpstreamResult{}, nil
	}
	if f.err != nil {
		return registry.UpstreamResult{Handled: true}, f.err
	}
	res := registry.UpstreamResult{Handled: true, Warning: f.warning}
	if m, ok := f.manifests[ref]; ok {
		f.e.do("PUT", "/v2/"+repo+"/manifests/"+ref, m, "Content-Type", spec.MediaTypeOCIManifest).expect(f.e.t, http.StatusCreated, "")
		res.From = "fake"
	}
	return res, nil
}

func (f *fakeUpstream) Blob(_ context.Context, repo string, d digest.Digest) (bool, io.ReadCloser, int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "blob "+repo+"@"+d.String())
	if !strings.HasPrefix(repo, "cache/") {
		return false, nil, 0, nil
	}
	b, ok := f.blobs[d]
	if !ok {
		return true, nil, 0, registry.NewError(http.StatusNotFound, registry.CodeBlobUnknown, "upstream has no %s", d)
	}
	body := b
	if f.cut > 0 {
		body = b[:f.cut]
	}
	return true, io.NopCloser(bytes.NewReader(body)), int64(len(b)), nil
}

type sparseKey struct{}

// Sparse lets the fake's own pushes (marked in their context) reference
// what the cache lacks.
func (f *fakeUpstream) Sparse(ctx context.Context, _ string) bool {
	return ctx.Value(sparseKey{}) != nil
}

func (f *fakeUpstream) took() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

// A pull-through cache's tags go through the upstream every time (it
// decides when to revalidate), its digests only when missing; what the
// upstream answers is the answer; other repositories never reach it.
func TestUpstreamManifests(t *testing.T) {
	f := &fakeUpstream{}
	var from []string
	e := newEnv(t, registry.WithUpstream(f), registry.WithHooks(registry.Hooks{AfterPull: func(_ context.Context, ev *registry.Event) {
		from = append(from, ev.Upstream)
	}}))
	f.e = e
	// The "upstream" content: an image whose blobs are already here.
	m, d := e.pushImage("cache/app", "seed")
	f.took()
	f.manifests = map[string][]byte{"v1": m}

	r := e.do("GET", "/v2/cache/app/manifests/v1", nil).expect(t, http.StatusOK, "")
	if !bytes.Equal(r.body, m) {
		t.Fatal("the fetched manifest is not served")
	}
	if got := f.took(); len(got) != 1 || got[0] != "manifest cache/app:v1" {
		t.Errorf("calls %q", got)
	}
	e.do("GET", "/v2/cache/app/manifests/"+d.String(), nil).expect(t, http.StatusOK, "")
	if got := f.took(); len(got) != 0 {
		t.Errorf("a digest held was asked for: %q", got)
	}
	if len(from) != 2 || from[0] != "fake" || from[1] != "" {
		t.Errorf("pull events' upstreams %q, want the fetch's, then none", from)
	}
	e.do("HEAD", "/v2/cache/app/manifests/"+digest.FromString("other").String(), nil).expect(t, http.StatusNotFound, "")
	if got := f.took(); len(got) != 1 {
		t.Errorf("a digest missing was not asked for: %q", got)
	}

	f.warning = `110 berth "upstream answered 429: serving the cached copy"`
	r = e.do("GET", "/v2/cache/app/manifests/v1", nil).expect(t, http.StatusOK, "")
	if r.Header.Get("Warning") != f.warning {
		t.Errorf("Warning %q", r.Header.Get("Warning"))
	}
	f.err = registry.NewError(http.StatusBadGateway, registry.CodeUnavailable, "upstream answered 503")
	e.do("GET", "/v2/cache/app/manifests/v2", nil).expect(t, http.StatusBadGateway, registry.CodeUnavailable)

	e.pushImage("plain/app", "v1")
	f.took()
	e.do("GET", "/v2/plain/app/manifests/v9", nil).expect(t, http.StatusNotFound, registry.CodeManifestUnknown)
}

// A blob a cache lacks streams from the upstream; cut short, the response
// is cut short too (never a whole-looking body).
func TestUpstreamBlobs(t *testing.T) {
	f := &fakeUpstream{}
	e := newEnv(t, registry.WithUpstream(f))
	f.e = e
	b := randomBytes(t, 4096)
	d := digest.FromBytes(b)
	f.blobs = map[digest.Digest][]byte{d: b}

	r := e.do("GET", "/v2/cache/app/blobs/"+d.String(), nil).expect(t, http.StatusOK, "")
	if !bytes.Equal(r.body, b) || r.Header.Get("Docker-Content-Digest") != d.String() {
		t.Fatal("the upstream's blob is not served")
	}
	r = e.do("HEAD", "/v2/cache/app/blobs/"+d.String(), nil).expect(t, http.StatusOK, "")
	if r.Header.Get("Content-Length") != "4096" {
		t.Errorf("HEAD Content-Length %q", r.Header.Get("Content-Length"))
	}
	e.do("GET", "/v2/cache/app/blobs/"+digest.FromString("none").String(), nil).expect(t, http.StatusNotFound, registry.CodeBlobUnknown)
	e.do("GET", "/v2/plain/app/blobs/"+d.String(), nil).expect(t, http.StatusNotFound, registry.CodeBlobUnknown)

	f.cut = 100
	resp, err := http.Get(e.srv.URL + "/v2/cache/app/blobs/" + d.String())
	if err == nil { // else the connection dropped before the headers went
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		if err == nil || len(got) == len(b) {
			t.Errorf("a blob cut upstream read whole: %d bytes, %v", len(got), err)
		}
	}
	e.do("HEAD", "/v2/cache/app/blobs/"+d.String(), nil).expect(t, http.StatusOK, "") // still serving
}

// The Upstream's own pushes may reference what the cache lacks (its
// blobs come on demand); anyone else's may not.
func TestUpstreamSparsePushes(t *testing.T) {
	f := &fakeUpstream{}
	e := newEnv(t, registry.WithUpstream(f))
	f.e = e
	missing := digest.FromString("not here")
	m := imageManifest(t, spec.MediaTypeOCIManifest,
		desc{MediaType: "application/vnd.oci.image.config.v1+json", Digest: missing, Size: 8}, nil, nil, "")
	e.do("PUT", "/v2/cache/app/manifests/v1", m, "Content-Type", spec.MediaTypeOCIManifest).
		expect(t, http.StatusBadRequest, registry.CodeManifestBlobUnknown)
	req := httptest.NewRequest("PUT", "/v2/cache/app/manifests/v1", bytes.NewReader(m)).
		WithContext(context.WithValue(context.Background(), sparseKey{}, true))
	req.Header.Set("Content-Type", spec.MediaTypeOCIManifest)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		t.Fatalf("the upstream's own push: %d %s", rec.Code, rec.Body)
	}
}
