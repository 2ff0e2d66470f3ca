package trust_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/generation"
	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/metatest"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/storage/memory"
	"github.com/berthreg/berth/trust"
)

// BenchmarkManifestGET serves GETs of a signed manifest by tag through
// the registry handler (bbolt, memory storage) with content trust off,
// on with the result cached (warm; the settings kept in memory by a
// generation watcher, as the server runs it), and on with every GET verifying
// again (cold: the signature's blobs read and checked), side by side:
//
//	go test -run '^$' -bench ManifestGET ./trust
func BenchmarkManifestGET(b *testing.B) {
	for _, mode := range []string{"off", "warm", "cold"} {
		b.Run(mode, func(b *testing.B) {
			e := &env{store: testbolt.Open(b), driver: memory.New(), now: time.Now()}
			if err := e.store.Update(b.Context(), func(tx meta.Tx) error {
				return accounts.Projects.In(tx).Put(accounts.Project{Name: "team"})
			}); err != nil {
				b.Fatal(err)
			}
			ttl := time.Minute
			if mode == "cold" {
				ttl = 0
			}
			// As the server runs it: settings kept in memory by a watcher.
			w, err := generation.NewWatcher(e.store, generation.WithTicks(make(chan time.Time)))
			if err != nil {
				b.Fatal(err)
			}
			svc, err := trust.New(e.store, e.driver, keyVerifier, trust.WithVerifiedFor(ttl), trust.WithWatcher(w))
			if err != nil {
				b.Fatal(err)
			}
			e.svc = svc
			signer, pub := newKey(b)
			body := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`)
			d := digest.FromBytes(body)
			e.blob(b, body)
			metatest.Put(b, e.store, "team/app", meta.Manifest{Digest: d, MediaType: "application/vnd.oci.image.manifest.v1+json", Size: int64(len(body))}, "v1")
			e.signBundle(b, signer, "team/app", d)
			if mode != "off" {
				if _, err := svc.SetSettings(b.Context(), trust.Settings{Project: "team", Enabled: true, Keys: []string{pub}}); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Poll(b.Context()); err != nil {
				b.Fatal(err)
			}
			h, err := registry.New(e.driver, e.store, registry.WithSparseManifests(true), registry.WithHooks(svc.Hooks(nil)))
			if err != nil {
				b.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodGet, "/v2/team/app/manifests/v1", nil)
			req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
			b.ResetTimer()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("GET: %d %s", w.Code, w.Body)
				}
			}
		})
	}
}
