package registry_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/storage/memory"
)

// FuzzHandler sends arbitrary requests to a live handler: none may panic or
// be answered with a 5xx.
func FuzzHandler(f *testing.F) {
	store, err := bolt.Open(filepath.Join(f.TempDir(), "meta.db"), bolt.NoSync())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = store.Close() })
	h, err := registry.New(memory.New(), store, registry.WithMaxManifestSize(1<<16))
	if err != nil {
		f.Fatal(err)
	}
	seeds := []struct{ method, target, ct, rng string }{
		{"GET", "/v2/", "", ""},
		{"POST", "/v2/a/blobs/uploads/?digest=sha256:" + strings.Repeat("0", 64), "", ""},
		{"POST", "/v2/a/blobs/uploads/?mount=sha256:" + strings.Repeat("1", 64) + "&from=b", "", ""},
		{"PATCH", "/v2/a/blobs/uploads/0123456789abcdef0123456789abcdef", "", "0-3"},
		{"PUT", "/v2/a/manifests/latest?tag=x", "application/vnd.oci.image.index.v1+json", ""},
		{"GET", "/v2/a/tags/list?n=3&last=zz", "", ""},
		{"GET", "/v2/_catalog?n=abc", "", ""},
		{"GET", "/v2/a/referrers/sha256:" + strings.Repeat("2", 64) + "?artifactType=x", "", ""},
		{"DELETE", "/v2/a/manifests/sha512:" + strings.Repeat("3", 128), "", ""},
		{"GET", "/v2/a/blobs/sha256:" + strings.Repeat("4", 64), "", "bytes=0-1"},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, s.ct, s.rng, []byte(`{"schemaVersion":2,"manifests":[]}`))
	}
	f.Fuzz(func(t *testing.T, method, target, ct, rng string, body []byte) {
		if !strings.HasPrefix(target, "/") {
			target = "/" + target
		}
		req, err := http.NewRequest(method, "http://registry.test"+target, bytes.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Content-Range", rng)
		req.Header.Set("Range", rng)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s: status %d body %s", method, target, rec.Code, rec.Body.String())
		}
	})
}
