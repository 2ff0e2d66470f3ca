package proxy_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/storage/fs"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
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

// BenchmarkBlobPull pulls one large blob directly from a registry like
// the cache's (fs storage), then
// through a cache that does not hold it (cold: fetched, streamed and
// stored; a new cache each round), then from the cache that holds it
// (warm). MB/s side by side; issue 19's targets: cold ≥ 0.8× direct,
// warm ≥ direct.
//
//	go test -run '^$' -bench BlobPull -benchtime 3x ./proxy
func BenchmarkBlobPull(b *testing.B) {
	size := benchBlobSize(b)
	up := newUpstream(b)
	direct := fsRegistry(b)
	img, err := random.Image(size, 1)
	if err != nil {
		b.Fatal(err)
	}
	for _, host := range []string{up.reg.URL, direct} {
		if err := remote.Write(ref(b, host, "library/big:v1"), img); err != nil {
			b.Fatal(err)
		}
	}
	layers, _ := img.Layers()
	d, _ := layers[0].Digest()
	size, _ = layers[0].Size() // a tar a little larger than asked
	path := "/v2/library/big/blobs/" + d.String()
	b.Run("direct", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			get(b, direct+path, size)
		}
	})
	b.Run("cold", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			b.StopTimer()
			c := newCache(b, up)
			b.StartTimer()
			get(b, c.reg.URL+"/v2/hub"+path[3:], size)
		}
	})
	b.Run("warm", func(b *testing.B) {
		c := newCache(b, up)
		get(b, c.reg.URL+"/v2/hub"+path[3:], size)
		b.SetBytes(size)
		b.ResetTimer()
		for b.Loop() {
			get(b, c.reg.URL+"/v2/hub"+path[3:], size)
		}
	})
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
