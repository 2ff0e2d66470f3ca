package registry

import (
	"log/slog"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/storage"
)

// defaultMaxManifestSize is the default cap on a pushed manifest (4 MiB).
const defaultMaxManifestSize = 4 << 20

// defaultPageSize is the page size of tag and catalog listings when the
// client does not ask for one; maxPageSize caps what a client may ask for.
const (
	defaultPageSize = 10000
	maxPageSize     = 10000
)

// Option configures a Handler.
type Option func(*config)

type config struct {
	logger          *slog.Logger
	driver          storage.Driver
	store           meta.Store
	maxManifestSize int64
	maxBlobSize     int64
	sparse          bool
	anonymousMount  bool
	deletes         bool
	hooks           Hooks
	chunkMinLength  int64
	// manifestCacheBytes bounds the in-memory cache of manifest bytes.
	manifestCacheBytes int64
	// upstream, when set, fills pull-through caches.
	upstream Upstream
}

func defaultConfig() config {
	return config{
		logger:             slog.New(slog.DiscardHandler),
		maxManifestSize:    defaultMaxManifestSize,
		deletes:            true,
		manifestCacheBytes: 4 << 20,
	}
}

// WithLogger sets the logger for request errors. The default discards.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithMaxManifestSize caps the size of pushed manifests (default 4 MiB).
// Larger pushes get 413 with SIZE_INVALID.
func WithMaxManifestSize(n int64) Option {
	return func(c *config) { c.maxManifestSize = n }
}

// WithMaxBlobSize caps the size of one blob (0, the default, means no cap).
// Uploads that grow past it get 413 with SIZE_INVALID.
func WithMaxBlobSize(n int64) Option {
	return func(c *config) { c.maxBlobSize = n }
}

// WithSparseManifests accepts manifests whose layers or child manifests have
// not been pushed to the repository (off by default: every descriptor must
// be present).
func WithSparseManifests(allow bool) Option {
	return func(c *config) { c.sparse = allow }
}

// WithAnonymousMount lets a POST with mount=<digest> and no from= link a blob
// that already exists anywhere in the registry. Only enable it when every
// caller may read every repository, or when a BeforeMount hook decides;
// otherwise knowing a digest would expose another tenant's layer.
func WithAnonymousMount(allow bool) Option {
	return func(c *config) { c.anonymousMount = allow }
}

// WithDeletes enables (default) or disables blob, manifest and tag deletion.
// Disabled deletes answer 405 UNSUPPORTED.
func WithDeletes(enabled bool) Option {
	return func(c *config) { c.deletes = enabled }
}

// WithHooks installs policy and event hooks.
func WithHooks(h Hooks) Option {
	return func(c *config) { c.hooks = h }
}

// WithChunkMinLength advertises the minimum chunk size a client should send
// in the OCI-Chunk-Min-Length header (0, the default, advertises nothing).
func WithChunkMinLength(n int64) Option {
	return func(c *config) { c.chunkMinLength = n }
}

// WithManifestCache bounds the memory used to cache manifest bytes by digest
// (default 4 MiB; 0 disables the cache).
func WithManifestCache(maxBytes int64) Option {
	return func(c *config) { c.manifestCacheBytes = maxBytes }
}
