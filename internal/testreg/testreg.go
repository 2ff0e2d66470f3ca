// Package testreg serves a registry over a metadata store the test made
// first, for tests whose registry hooks (an events.Recorder, a scan
// Gate) are built over that store before the registry is.
package testreg

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/registrytest"
	"github.com/berthreg/berth/storage/memory"
)

// Serve is registrytest.New over store: in-memory blobs, anonymous
// mounts on, opts after the defaults; stopped when the test ends (store
// is the caller's, e.g. testbolt.Open's).
func Serve(t testing.TB, store meta.Store, opts ...registry.Option) *registrytest.Server {
	t.Helper()
	driver := memory.New()
	h, err := registry.New(driver, store, append([]registry.Option{registry.WithAnonymousMount(true)}, opts...)...)
	if err != nil {
		t.Fatalf("testreg: %v", err)
	}
	mux := http.NewServeMux() // as registrytest serves it
	mux.Handle("/v2/", h)
	mux.Handle("/v2", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &registrytest.Server{URL: srv.URL, Host: strings.TrimPrefix(srv.URL, "http://"), Handler: h, Storage: driver, Metadata: store}
}
