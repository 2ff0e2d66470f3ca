package registrytest

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/storage/memory"
)

// Server is a running throw-away registry.
type Server struct {
	// URL is the base URL, e.g. "http://127.0.0.1:41234".
	URL string
	// Host is URL without the scheme, the form image references use
	// ("127.0.0.1:41234/repo:tag").
	Host string
	// Handler is the registry handler being served.
	Handler *registry.Handler
	// Storage is the in-memory blob storage.
	Storage *memory.Driver
	// Metadata is the metadata store (New's: bbolt in a temporary
	// directory).
	Metadata meta.Store

	srv *httptest.Server
	dir string
}

// New starts a registry on an httptest server (plain HTTP on 127.0.0.1) with
// in-memory blob storage, and stops it and removes its files when the test
// ends. Extra options are passed to registry.New after the defaults
// (anonymous mounts on, as the registry has no authentication).
func New(t testing.TB, opts ...registry.Option) *Server {
	t.Helper()
	s, err := Start(opts...)
	if err != nil {
		t.Fatalf("registrytest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start is New without a test: the caller must Close the server.
func Start(opts ...registry.Option) (*Server, error) {
	dir, err := os.MkdirTemp("", "berth-registrytest-")
	if err != nil {
		return nil, err
	}
	store, err := bolt.Open(filepath.Join(dir, "meta.db"), bolt.NoSync())
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	driver := memory.New()
	h, err := registry.New(driver, store, append([]registry.Option{registry.WithAnonymousMount(true)}, opts...)...)
	if err != nil {
		_ = store.Close()
		_ = os.RemoveAll(dir)
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/v2/", h)
	mux.Handle("/v2", h)
	srv := httptest.NewServer(mux)
	return &Server{
		URL:      srv.URL,
		Host:     strings.TrimPrefix(srv.URL, "http://"),
		Handler:  h,
		Storage:  driver,
		Metadata: store,
		srv:      srv,
		dir:      dir,
	}, nil
}

// Close stops the server and removes its files. It is safe to call twice.
func (s *Server) Close() {
	if s.srv == nil {
		return
	}
	s.srv.Close()
	_ = s.Metadata.Close()
	_ = os.RemoveAll(s.dir)
	s.srv = nil
}
