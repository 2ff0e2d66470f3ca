package proxy_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/storage/fs"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/time/rate"
)

// benchBlobSize is the blob BenchmarkBlobPull moves: BERTH_BENCH_BLOB_MIB
// MiB (default 1024).
func benchBlobSize(b *testing.B) int64 {
	n := int64(1024)
	if v := os.Getenv("BERTH_BENCH_BLOB_MIB"); v != "" {
		var err error
		if n, err = strconv.ParseInt(v, 10, 64); err != nil || n <= 0 {
			b.Fatalf("BERTH_BENCH_BLOB_MIB=%q", v)
		}
	}
	return n << 20
}

// get reads url whole and fails unless it answers 200 with size bytes.
func get(b *testing.B, url string, size int64) {
	b.Helper()
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || (size > 0 && n != size) {
		b.Fatalf("GET %s: %d, %d bytes, %v", url, resp.StatusCode, n, err)
	}
}

// fsRegistry serves a registry like the cache's (fs storage, bbolt),
// without the cache: the direct pull's peer.
func fsRegistry(b *testing.B) string {
	driver, err := fs.New(filepath.Join(b.TempDir(), "blobs"), fs.WithoutSync())
	if err != nil {
		b.Fatal(err)
	}
	h, err := registry.New(driver, teststores.Open(b))
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	return srv.URL
}

// bigBlob pushes one large random layer to the registry at base; its
// path under /v2 (in library/big) and size.
func bigBlob(b *testing.B, base string) (string, int64) {
	img, err := random.Image(benchBlobSize(b), 1)
	if err != nil {
		b.Fatal(err)
	}
	if err := remote.Write(ref(b, base, "library/big:v1"), img); err != nil {
		b.Fatal(err)
	}
	layers, _ := img.Layers()
	d, _ := layers[0].Digest()
	size, _ := layers[0].Size() // a tar a little larger than asked
	return "/library/big/blobs/" + d.String(), size
}

// pullDirectAndCold pulls blob path of size bytes directly from the
// registry at up, then through a cache of it that does not hold it
// (cold: fetched, streamed and stored; a new cache each round).
func pullDirectAndCold(b *testing.B, up, path string, size int64) {
	b.Run("direct", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			get(b, up+"/v2"+path, size)
		}
	})
	b.Run("cold", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			b.StopTimer()
			c := newCacheOf(b, up)
			b.StartTimer()
			get(b, c.reg.URL+"/v2/hub"+path, size)
		}
	})
}

// BenchmarkBlobPull pulls one large blob directly from the upstream (a
// registry like the cache's: fs storage, bbolt), through a cache that
// does not hold it (cold), and from the cache that holds it (warm), all
// over loopback on one machine: MB/s side by side. Issue 19's targets:
// cold ≥ 0.8× direct, warm ≥ direct.
//
//	go test -run '^$' -bench 'BlobPull$' -benchtime 3x ./proxy
func BenchmarkBlobPull(b *testing.B) {
	up := fsRegistry(b) // pulled from directly, and by the caches
	path, size := bigBlob(b, up)
	pullDirectAndCold(b, up, path, size)
	b.Run("warm", func(b *testing.B) {
		c := newCacheOf(b, up)
		get(b, c.reg.URL+"/v2/hub"+path, size)
		b.SetBytes(size)
		b.ResetTimer()
		for b.Loop() {
			get(b, c.reg.URL+"/v2/hub"+path, size)
		}
	})
}

// BenchmarkBlobPullShaped is BenchmarkBlobPull's direct and cold pulls
// from an upstream that sends at most BERTH_BENCH_UPSTREAM_MBIT megabits
// a second (default 1000): the network between a cache and a remote
// registry, which loopback does not have.
//
//	go test -run '^$' -bench BlobPullShaped -benchtime 2x ./proxy
func BenchmarkBlobPullShaped(b *testing.B) {
	mbit := int64(1000)
	if v := os.Getenv("BERTH_BENCH_UPSTREAM_MBIT"); v != "" {
		var err error
		if mbit, err = strconv.ParseInt(v, 10, 64); err != nil || mbit <= 0 {
			b.Fatalf("BERTH_BENCH_UPSTREAM_MBIT=%q", v)
		}
	}
	up := fsRegistry(b)
	path, size := bigBlob(b, up)
	limiter := rate.NewLimiter(rate.Limit(mbit*1e6/8), shapedBurst)
	shaped := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target, _ := url.Parse(up)
		httputil.NewSingleHostReverseProxy(target).ServeHTTP(shapedWriter{w, limiter}, r)
	}))
	b.Cleanup(shaped.Close)
	pullDirectAndCold(b, shaped.URL, path, size)
}

// shapedBurst is the most a shapedWriter sends at once.
const shapedBurst = 256 << 10

// shapedWriter sends a response no faster than its limiter allows (for
// every response of the server together, as a link would).
type shapedWriter struct {
	http.ResponseWriter
	limiter *rate.Limiter
}

func (w shapedWriter) Write(p []byte) (int, error) {
	var n int
	for len(p) > 0 {
		k := min(len(p), shapedBurst)
		if err := w.limiter.WaitN(context.Background(), k); err != nil {
			return n, err
		}
		k, err := w.ResponseWriter.Write(p[:k])
		n += k
		if err != nil {
			return n, err
		}
		p = p[k:]
	}
	return n, nil
}

func (w shapedWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// BenchmarkManifestGet gets one manifest directly from a registry like
// the cache's, and
// from a cache holding it within its TTL: requests per second side by
// side (issue 19's target: warm ≥ direct).
//
//	go test -run '^$' -bench ManifestGet ./proxy
func BenchmarkManifestGet(b *testing.B) {
	up := newUpstream(b)
	want := pushUpstream(b, up, "library/app:v1", 1024, 1)
	c := newCache(b, up)
	direct := fsRegistry(b)
	img, err := remote.Image(ref(b, up.reg.URL, "library/app:v1"))
	if err != nil {
		b.Fatal(err)
	}
	if err := remote.Write(ref(b, direct, "library/app:v1"), img); err != nil {
		b.Fatal(err)
	}
	if d, _ := img.Digest(); d != want {
		b.Fatal("the peer holds another image")
	}
	manifest := func(base string) {
		req, _ := http.NewRequest(http.MethodGet, base+"/manifests/v1", nil)
		req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("GET manifest: %d", resp.StatusCode)
		}
	}
	for _, target := range []struct{ name, base string }{{"direct", direct + "/v2/library/app"}, {"warm", c.reg.URL + "/v2/hub/library/app"}} {
		name, base := target.name, target.base
		manifest(base)
		b.Run(name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					manifest(base)
				}
			})
		})
	}
}
