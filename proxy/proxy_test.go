package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/generation"
	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/netguard"
	"github.com/berthreg/berth/proxy"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/registry/inproc"
	"github.com/berthreg/berth/registrytest"
	"github.com/berthreg/berth/replication"
	"github.com/berthreg/berth/retention"
	"github.com/berthreg/berth/storage/fs"
)

// upstreamServer is a real registry behind a counting, fault-injecting
// front: it counts the GETs and HEADs of manifests and blobs, and can cut
// blob bodies short or fail every request with a status.
type upstreamServer struct {
	reg   *registrytest.Server
	front *httptest.Server
	mu    sync.Mutex
	count map[string]int // "GET blob", "HEAD manifest", …
	cut   atomic.Int64   // cut blob bodies after this many bytes (0: no)
	fail  atomic.Int32   // answer every request with this status (0: no)
	stall atomic.Bool    // send half of each blob body, then nothing until the client leaves
	// inFlight and maxInFlight count the blob GETs being answered.
	inFlight, maxInFlight atomic.Int32
}

func newUpstream(t testing.TB) *upstreamServer {
	u := &upstreamServer{reg: registrytest.New(t), count: map[string]int{}}
	target, _ := url.Parse(u.reg.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	u.front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := "other"
		switch {
		case strings.Contains(r.URL.Path, "/blobs/"):
			kind = "blob"
		case strings.Contains(r.URL.Path, "/manifests/"):
			kind = "manifest"
		}
		u.mu.Lock()
		u.count[r.Method+" "+kind]++
		u.mu.Unlock()
		if kind == "blob" && r.Method == http.MethodGet {
			n := u.inFlight.Add(1)
			defer u.inFlight.Add(-1)
			for m := u.maxInFlight.Load(); n > m && !u.maxInFlight.CompareAndSwap(m, n); m = u.maxInFlight.Load() {
			}
		}
		if s := u.fail.Load(); s != 0 {
			w.WriteHeader(int(s))
			return
		}
		if kind == "blob" && r.Method == http.MethodGet && u.stall.Load() {
			rec := httptest.NewRecorder()
			rp.ServeHTTP(rec, r)
			for k, vs := range rec.Header() {
				w.Header()[k] = vs
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes()[:rec.Body.Len()/2])
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		if kind == "blob" && r.Method == http.MethodGet {
			if n := u.cut.Load(); n > 0 {
				rec := httptest.NewRecorder()
				rp.ServeHTTP(rec, r)
				for k, vs := range rec.Header() {
					w.Header()[k] = vs
				}
				w.WriteHeader(rec.Code)
				_, _ = w.Write(rec.Body.Bytes()[:min(int(n), rec.Body.Len())])
				panic(http.ErrAbortHandler)
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(u.front.Close)
	return u
}

func (u *upstreamServer) took(kind string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.count[kind]
}

// cache is a local registry whose project "hub" caches the upstream.
type cache struct {
	reg   *httptest.Server
	store meta.Store
	svc   *proxy.Service
	now   *atomic.Pointer[time.Time]
}

func newCache(t testing.TB, up *upstreamServer, opts ...proxy.Option) *cache {
	t.Helper()
	return newCacheOf(t, up.front.URL, opts...)
}

// newCacheOf is newCache for the registry at upstreamURL.
func newCacheOf(t testing.TB, upstreamURL string, opts ...proxy.Option) *cache {
	t.Helper()
	store := teststores.Open(t)
	var h http.Handler
	local := inproc.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	now := &atomic.Pointer[time.Time]{}
	start := time.Now()
	now.Store(&start)
	watcher, err := generation.NewWatcher(store)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := proxy.New(store, local, append([]proxy.Option{proxy.WithSpoolDir(t.TempDir()), proxy.WithTimeout(5 * time.Second), proxy.WithWatcher(watcher),
		proxy.WithOutboundGuard(netguard.New(netguard.AllowNetworks(netip.MustParsePrefix("127.0.0.0/8")))),
		proxy.WithClock(func() time.Time { return *now.Load() })}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() }) // before the store closes
	driver, err := fs.New(filepath.Join(t.TempDir(), "blobs"), fs.WithoutSync())
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.New(driver, store, registry.WithUpstream(svc), registry.WithHooks(svc.Hooks()), registry.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil))))
	if err != nil {
		t.Fatal(err)
	}
	h = reg
	srv := httptest.NewServer(reg)
	t.Cleanup(srv.Close)
	if err := store.Update(t.Context(), func(tx meta.Tx) error {
		if err := accounts.Projects.In(tx).Put(accounts.Project{Name: "hub"}); err != nil {
			return err
		}
		return replication.Registries.In(tx).Put(replication.Registry{Name: "up", URL: upstreamURL})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetSettings(t.Context(), proxy.Settings{Project: "hub", Upstreams: []string{"up"}, TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if err := watcher.Poll(t.Context()); err != nil { // settings kept in memory from here on
		t.Fatal(err)
	}
	return &cache{reg: srv, store: store, svc: svc, now: now}
}

func (c *cache) advance(d time.Duration) {
	t := c.now.Load().Add(d)
	c.now.Store(&t)
}

func ref(t testing.TB, host, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(strings.TrimPrefix(host, "http://")+"/"+s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// pull pulls an image and reads its config and every layer (which go-containerregistry
// verifies against its digest); it returns the image's digest.
func pull(t *testing.T, host, s string) (v1.Hash, error) {
	t.Helper()
	img, err := remote.Image(ref(t, host, s))
	if err != nil {
		return v1.Hash{}, err
	}
	if _, err := img.RawConfigFile(); err != nil {
		return v1.Hash{}, err
	}
	layers, err := img.Layers()
	if err != nil {
		return v1.Hash{}, err
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			return v1.Hash{}, err
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return v1.Hash{}, err
		}
	}
	return img.Digest()
}

func pushUpstream(t testing.TB, up *upstreamServer, s string, size int64, layers int64) v1.Hash {
	t.Helper()
	img, err := random.Image(size, layers)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref(t, up.reg.URL, s), img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return d
}

func TestPullThrough(t *testing.T) {
	up := newUpstream(t)
	c := newCache(t, up)
	want := pushUpstream(t, up, "library/app:v1", 64<<10, 2)

	got, err := pull(t, c.reg.URL, "hub/library/app:v1")
	if err != nil || got != want {
		t.Fatalf("first pull: %v, %v; want %v", got, err, want)
	}
	if n := up.took("GET blob"); n != 3 { // config and two layers
		t.Errorf("first pull fetched %d blobs upstream, want 3", n)
	}
	// The blobs of one repository share one token flow (its /v2/ ping):
	// the manifest's fetch pinged once, the first blob's once.
	if n := up.took("GET other"); n != 2 {
		t.Errorf("first pull pinged the upstream %d times, want 2", n)
	}
	// Cached: no upstream request at all within the TTL.
	before := up.took("GET blob") + up.took("GET manifest") + up.took("HEAD manifest")
	if got, err := pull(t, c.reg.URL, "hub/library/app:v1"); err != nil || got != want {
		t.Fatalf("second pull: %v, %v", got, err)
	}
	if after := up.took("GET blob") + up.took("GET manifest") + up.took("HEAD manifest"); after != before {
		t.Errorf("the second pull made %d upstream requests", after-before)
	}
	// Past the TTL, one HEAD revalidates the tag, and nothing is fetched.
	c.advance(2 * time.Minute)
	heads, gets := up.took("HEAD manifest"), up.took("GET manifest")
	if _, err := pull(t, c.reg.URL, "hub/library/app:v1"); err != nil {
		t.Fatal(err)
	}
	if up.took("HEAD manifest") != heads+1 || up.took("GET manifest") != gets {
		t.Errorf("revalidation: %d HEADs and %d GETs, want 1 and 0", up.took("HEAD manifest")-heads, up.took("GET manifest")-gets)
	}
	// The tag moved upstream: the next revalidation fetches the new one.
	moved := pushUpstream(t, up, "library/app:v1", 1024, 1)
	c.advance(2 * time.Minute)
	if got, err := pull(t, c.reg.URL, "hub/library/app:v1"); err != nil || got != moved {
		t.Fatalf("after the tag moved: %v, %v; want %v", got, err, moved)
	}
	// By digest, the old image is still here, and never revalidated.
	heads = up.took("HEAD manifest")
	if got, err := pull(t, c.reg.URL, "hub/library/app@"+want.String()); err != nil || got != want {
		t.Fatalf("old image by digest: %v, %v", got, err)
	}
	if up.took("HEAD manifest") != heads {
		t.Error("a digest was revalidated")
	}
	// Pushes into the cache are refused.
	img, _ := random.Image(128, 1)
	if err := remote.Write(ref(t, c.reg.URL, "hub/library/app:mine"), img); err == nil || !strings.Contains(err.Error(), "proxy cache") {
		t.Errorf("a push into the cache: %v", err)
	}
}

// The upstream failing: a cached tag is served with a Warning once its
// TTL passed; an uncached one fails saying what the upstream answered;
// 404 upstream is 404.
func TestUpstreamFailures(t *testing.T) {
	up := newUpstream(t)
	c := newCache(t, up)
	want := pushUpstream(t, up, "library/app:v1", 1024, 1)
	if _, err := pull(t, c.reg.URL, "hub/library/app:v1"); err != nil {
		t.Fatal(err)
	}
	get := func(path string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, c.reg.URL+path, nil)
		req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	body := func(resp *http.Response) string { b, _ := io.ReadAll(resp.Body); return string(b) }

	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		up.fail.Store(int32(status))
		c.advance(2 * time.Minute)
		resp := get("/v2/hub/library/app/manifests/v1")
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Docker-Content-Digest") != want.String() ||
			!strings.Contains(resp.Header.Get("Warning"), "110") {
			t.Errorf("upstream %d, cached tag: %d, Warning %q", status, resp.StatusCode, resp.Header.Get("Warning"))
		}
		resp = get("/v2/hub/library/app/manifests/v2")
		b := body(resp)
		wantStatus := map[int]int{http.StatusTooManyRequests: http.StatusTooManyRequests, http.StatusServiceUnavailable: http.StatusBadGateway}[status]
		if resp.StatusCode != wantStatus || !strings.Contains(b, http.StatusText(status)) {
			t.Errorf("upstream %d, uncached tag: %d %s", status, resp.StatusCode, b)
		}
	}
	up.fail.Store(0)
	resp := get("/v2/hub/library/app/manifests/nope")
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body(resp), "MANIFEST_UNKNOWN") {
		t.Errorf("a tag missing upstream: %d", resp.StatusCode)
	}
	up.front.Close() // unreachable
	c.advance(2 * time.Minute)
	if got, err := pull(t, c.reg.URL, "hub/library/app:v1"); err != nil || got != want {
		t.Errorf("cached pull, upstream gone: %v, %v", got, err)
	}
	resp = get("/v2/hub/library/app/manifests/v3")
	if b := body(resp); resp.StatusCode != http.StatusBadGateway || !strings.Contains(b, "up:") {
		t.Errorf("uncached pull, upstream gone: %d %s", resp.StatusCode, b)
	}
}

// A blob cut short upstream stores nothing, and the next pull gets it
// whole; 32 pulls at once of an image not cached fetch each blob once.
func TestBlobFetches(t *testing.T) {
	up := newUpstream(t)
	c := newCache(t, up)
	want := pushUpstream(t, up, "library/big:v1", 1<<20, 2)
	up.cut.Store(300 << 10)
	if _, err := pull(t, c.reg.URL, "hub/library/big:v1"); err == nil {
		t.Fatal("a pull of blobs cut short succeeded")
	}
	img, _ := remote.Image(ref(t, up.reg.URL, "library/big:v1"))
	layers, _ := img.Layers()
	for _, l := range layers {
		d, _ := l.Digest()
		if err := c.store.View(context.Background(), func(tx meta.Tx) error {
			_, err := tx.Blobs().Linked("hub/library/big", digest.Digest(d.String()))
			return err
		}); err == nil {
			t.Errorf("layer %s stored though it came cut short", d)
		}
	}
	up.cut.Store(0)
	if got, err := pull(t, c.reg.URL, "hub/library/big:v1"); err != nil || got != want {
		t.Fatalf("pull after the cut: %v, %v", got, err)
	}

	other := pushUpstream(t, up, "library/many:v1", 512<<10, 3)
	blobsBefore := up.took("GET blob")
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := pull(t, c.reg.URL, "hub/library/many:v1")
			if err == nil && got != other {
				err = io.ErrUnexpectedEOF
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a concurrent pull: %v", err)
		}
	}
	if n := up.took("GET blob") - blobsBefore; n != 4 {
		t.Errorf("32 concurrent pulls fetched %d blobs upstream, want 4 (a config, 3 layers)", n)
	}
}

// What nobody pulled for longer than the expiry goes; what was pulled
// lately stays; a pull of what went fetches it again.
func TestExpire(t *testing.T) {
	up := newUpstream(t)
	c := newCache(t, up)
	pushUpstream(t, up, "library/kept:v1", 1024, 1)
	pushUpstream(t, up, "library/gone:v1", 1024, 1)
	for _, s := range []string{"hub/library/kept:v1", "hub/library/gone:v1"} {
		if _, err := pull(t, c.reg.URL, s); err != nil {
			t.Fatal(err)
		}
	}
	// kept is pulled six days on, as the registry's pull times record it.
	sixDays := c.now.Load().Add(6 * 24 * time.Hour)
	pulls, err := retention.NewPullTimes(c.store, retention.WithPullClock(func() time.Time { return sixDays }))
	if err != nil {
		t.Fatal(err)
	}
	var kept digest.Digest
	if err := c.store.View(t.Context(), func(tx meta.Tx) error {
		kept, err = tx.Tags().Get("hub/library/kept", "v1")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	pulls.Pulled("hub/library/kept", kept)
	if err := pulls.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	c.advance(8 * 24 * time.Hour)
	res, err := c.svc.Expire(t.Context(), proxy.DefaultExpireAfter)
	if err != nil || res.Projects != 1 || res.Manifests != 1 {
		t.Fatalf("Expire: %+v, %v; want one manifest of one cache", res, err)
	}
	if err := c.store.View(t.Context(), func(tx meta.Tx) error {
		if _, err := tx.Tags().Get("hub/library/kept", "v1"); err != nil {
			return fmt.Errorf("kept:v1: %w", err)
		}
		if _, err := tx.Tags().Get("hub/library/gone", "v1"); !errors.Is(err, meta.ErrNotFound) {
			return fmt.Errorf("gone:v1 still there: %v", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	gets := up.took("GET manifest")
	if _, err := pull(t, c.reg.URL, "hub/library/gone:v1"); err != nil || up.took("GET manifest") != gets+1 {
		t.Errorf("pull of what expired: %v, %d upstream GETs", err, up.took("GET manifest")-gets)
	}
}

// An upstream that stops sending mid-blob is given up once it has been
// silent for the timeout: the pull fails, nothing is stored, and the next
// pull, the upstream well again, succeeds.
func TestStalledUpstream(t *testing.T) {
	up := newUpstream(t)
	c := newCache(t, up, proxy.WithTimeout(300*time.Millisecond))
	want := pushUpstream(t, up, "library/app:v1", 256<<10, 1)
	up.stall.Store(true)
	if _, err := pull(t, c.reg.URL, "hub/library/app:v1"); err == nil {
		t.Fatal("a pull from a stalled upstream succeeded")
	}
	up.stall.Store(false)
	if got, err := pull(t, c.reg.URL, "hub/library/app:v1"); err != nil || got != want {
		t.Fatalf("pull after the stall: %v, %v", got, err)
	}
}

// With a bound of one fetch per upstream, the layers of an image pulled
// at once are fetched one after the other; with a bandwidth limit, a
// fetch moves no faster than it.
func TestUpstreamLimits(t *testing.T) {
	up := newUpstream(t)
	const limit = 8 << 20
	c := newCache(t, up, proxy.WithUpstreamLimits(1, limit))
	want := pushUpstream(t, up, "library/app:v1", 3<<20, 3)
	img, err := remote.Image(ref(t, c.reg.URL, "hub/library/app:v1"))
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	start := time.Now()
	var wg sync.WaitGroup
	var moved atomic.Int64
	for _, l := range layers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc, err := l.Compressed()
			if err != nil {
				t.Error(err)
				return
			}
			defer rc.Close()
			n, err := io.Copy(io.Discard, rc)
			if err != nil {
				t.Error(err)
			}
			moved.Add(n)
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if d, _ := img.Digest(); d != want {
		t.Fatalf("pulled %s", d)
	}
	if m := up.maxInFlight.Load(); m != 1 {
		t.Errorf("%d blob fetches at once from the upstream, want 1", m)
	}
	// Only an upper bound on speed: a busy machine is slower, never faster.
	if rate := float64(moved.Load()) / took.Seconds(); rate > limit*1.1 {
		t.Errorf("%d bytes in %v: %.1f MiB/s, over the %d MiB/s limit by more than 10%%", moved.Load(), took, rate/(1<<20), limit>>20)
	}
}
