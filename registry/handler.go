package registry

import (
	"context"
	_ "crypto/sha256" // registers sha256 for go-digest
	_ "crypto/sha512" // registers sha512 for go-digest
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/berthreg/berth/internal/outage"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/internal/spec"
	"github.com/berthreg/berth/storage"
)

// Handler serves the OCI distribution API under /v2/.
type Handler struct {
	cfg    config
	log    *slog.Logger
	driver storage.Driver
	// sessions is the driver as a storage.Sessioner, when it is one: then
	// upload sessions keep their data with SessionWriter and their state
	// in meta.Upload.DriverState.
	sessions storage.Sessioner
	store    meta.Store
	uploads  keyedMutex
	cache    manifestCache
}

// New returns a Handler serving the OCI Distribution Specification v1.1 API
// with bytes in driver and metadata in store, both required. It returns an
// error when one is nil or an option is invalid.
func New(driver storage.Driver, store meta.Store, opts ...Option) (*Handler, error) {
	if driver == nil {
		return nil, errors.New("registry: New needs a storage driver")
	}
	if store == nil {
		return nil, errors.New("registry: New needs a metadata store")
	}
	cfg := defaultConfig()
	cfg.driver, cfg.store = driver, store
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	if cfg.maxManifestSize <= 0 {
		return nil, fmt.Errorf("registry: max manifest size must be positive, got %d", cfg.maxManifestSize)
	}
	h := &Handler{cfg: cfg, log: cfg.logger, driver: cfg.driver, store: cfg.store}
	h.sessions, _ = cfg.driver.(storage.Sessioner)
	h.cache.maxBytes = cfg.manifestCacheBytes
	return h, nil
}

// route is one parsed /v2/ request path.
type route struct {
	kind string // "ping", "catalog", "tags", "manifest", "blob", "uploads", "upload", "referrers"
	name string
	arg  string // reference, digest or upload id
}

// parseRoute splits a /v2/ path into its endpoint and arguments. Repository
// names may contain slashes, so the endpoint is found from the end.
func parseRoute(p string) (route, bool) {
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok {
		if p == "/v2" {
			return route{kind: "ping"}, true
		}
		return route{}, false
	}
	if rest == "" {
		return route{kind: "ping"}, true
	}
	if rest == "_catalog" {
		return route{kind: "catalog"}, true
	}
	segs := strings.Split(rest, "/")
	n := len(segs)
	join := func(k int) string { return strings.Join(segs[:k], "/") }
	switch {
	case n >= 4 && segs[n-3] == "blobs" && segs[n-2] == "uploads":
		if segs[n-1] == "" {
			return route{kind: "uploads", name: join(n - 3)}, true
		}
		return route{kind: "upload", name: join(n - 3), arg: segs[n-1]}, true
	case n >= 3 && segs[n-2] == "blobs" && segs[n-1] == "uploads":
		return route{kind: "uploads", name: join(n - 2)}, true
	case n >= 3 && segs[n-2] == "tags" && segs[n-1] == "list":
		return route{kind: "tags", name: join(n - 2)}, true
	case n >= 3 && segs[n-2] == "blobs":
		return route{kind: "blob", name: join(n - 2), arg: segs[n-1]}, true
	case n >= 3 && segs[n-2] == "manifests":
		return route{kind: "manifest", name: join(n - 2), arg: segs[n-1]}, true
	case n >= 3 && segs[n-2] == "referrers":
		return route{kind: "referrers", name: join(n - 2), arg: segs[n-1]}, true
	}
	return route{}, false
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	rt, ok := parseRoute(r.URL.Path)
	if !ok {
		writeError(w, NewError(http.StatusNotFound, CodeNameUnknown, "no such endpoint: %s", r.URL.Path))
		return
	}
	if rt.kind != "ping" && rt.kind != "catalog" {
		if err := spec.ValidateName(rt.name); err != nil {
			writeError(w, NewError(http.StatusBadRequest, CodeNameInvalid, "%v", err))
			return
		}
	}
	if err := h.dispatch(w, r, rt); err != nil {
		h.fail(w, r, err)
	}
}

// fail writes err; unexpected (non-*Error) errors are logged and become
// 500s, but for a backend outage: 503, logged as a warning.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		switch {
		case errors.Is(err, context.Canceled):
			return
		case outage.Is(err):
			h.log.WarnContext(r.Context(), "registry request failed: a backend is unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		default:
			h.log.ErrorContext(r.Context(), "registry request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
	}
	writeError(w, err)
}

func (h *Handler) dispatch(w http.ResponseWriter, r *http.Request, rt route) error {
	switch rt.kind {
	case "ping":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return methodNotAllowed(w, "GET, HEAD")
		}
		if err := h.authorize(r, &Event{Action: ActionPing}); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "2")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write([]byte("{}"))
		}
		return nil
	case "catalog":
		if r.Method != http.MethodGet {
			return methodNotAllowed(w, "GET")
		}
		return h.getCatalog(w, r)
	case "tags":
		if r.Method != http.MethodGet {
			return methodNotAllowed(w, "GET")
		}
		return h.getTags(w, r, rt.name)
	case "referrers":
		if r.Method != http.MethodGet {
			return methodNotAllowed(w, "GET")
		}
		return h.getReferrers(w, r, rt.name, rt.arg)
	case "manifest":
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			return h.getManifest(w, r, rt.name, rt.arg)
		case http.MethodPut:
			return h.putManifest(w, r, rt.name, rt.arg)
		case http.MethodDelete:
			return h.deleteManifest(w, r, rt.name, rt.arg)
		}
		return methodNotAllowed(w, "GET, HEAD, PUT, DELETE")
	case "blob":
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			return h.getBlob(w, r, rt.name, rt.arg)
		case http.MethodDelete:
			return h.deleteBlob(w, r, rt.name, rt.arg)
		}
		return methodNotAllowed(w, "GET, HEAD, DELETE")
	case "uploads":
		if r.Method != http.MethodPost {
			return methodNotAllowed(w, "POST")
		}
		return h.startUpload(w, r, rt.name)
	case "upload":
		switch r.Method {
		case http.MethodGet:
			return h.uploadStatus(w, r, rt.name, rt.arg)
		case http.MethodPatch:
			return h.patchUpload(w, r, rt.name, rt.arg)
		case http.MethodPut:
			return h.putUpload(w, r, rt.name, rt.arg)
		case http.MethodDelete:
			return h.cancelUpload(w, r, rt.name, rt.arg)
		}
		return methodNotAllowed(w, "GET, PATCH, PUT, DELETE")
	}
	return NewError(http.StatusNotFound, CodeNameUnknown, "no such endpoint")
}

func methodNotAllowed(w http.ResponseWriter, allow string) error {
	w.Header().Set("Allow", allow)
	return errUnsupported("method not allowed; allowed: %s", allow)
}

// authorize runs the Authorize hook for ev.
func (h *Handler) authorize(r *http.Request, ev *Event) error {
	ev.Request = r
	return runBefore(r.Context(), h.cfg.hooks.Authorize, ev)
}

// keyedMutex serialises work per key (an upload id) within this process.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	mu   sync.Mutex
	refs int
}

// Lock locks key and returns its unlock function.
func (k *keyedMutex) Lock(key string) func() {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = make(map[string]*keyedLock)
	}
	l := k.locks[key]
	if l == nil {
		l = &keyedLock{}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
