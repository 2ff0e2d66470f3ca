package registry

import (
	"context"
	"io"

	"github.com/opencontainers/go-digest"
)

// Upstream is where the repositories of a pull-through cache get what
// they do not hold: package proxy's Service is one. The handler consults
// it on manifest and blob pulls; what it fetches it writes into this
// registry through the registry's own API (so every rule of a push
// applies to it), and the handler then serves the local copy.
type Upstream interface {
	// Manifest makes manifest ref (a tag or a digest) of repo current
	// here before the handler resolves it: fetched from the upstream when
	// missing, and, for a tag, revalidated once its copy is older than the
	// cache's time to live. An upstream failure with nothing cached is an
	// *Error saying what the upstream answered; a manifest the upstream
	// does not have, a 404 MANIFEST_UNKNOWN.
	Manifest(ctx context.Context, repo, ref string) (UpstreamResult, error)
	// Blob streams blob d of repo from the upstream while storing it
	// here (a blob the handler found missing); handled is false for a
	// repository that is not a cache. size is the blob's size. The
	// stream is verified against d: a reader ends in an error, never in
	// bytes of another blob.
	Blob(ctx context.Context, repo string, d digest.Digest) (handled bool, rc io.ReadCloser, size int64, err error)
	// Sparse reports whether a manifest push (with its request's
	// context) may reference blobs and manifests repo does not hold: the
	// Upstream's own pushes of what it fetched, whose content follows on
	// demand.
	Sparse(ctx context.Context, repo string) bool
}

// UpstreamResult is what Upstream.Manifest did.
type UpstreamResult struct {
	// Handled is false for a repository that is no cache: the handler
	// goes on as without an Upstream.
	Handled bool
	// From names the upstream the manifest was fetched from for this
	// pull ("" when the cached copy was current): the pull's Event says
	// it (Event.Upstream).
	From string
	// Warning, when not empty, is passed to the client in a Warning
	// header: the upstream failed and the cached copy is served.
	Warning string
}

// WithUpstream makes the repositories u caches pull-through caches of
// their upstream.
func WithUpstream(u Upstream) Option {
	return func(c *config) { c.upstream = u }
}
