package proxy

import (
	"context"
	"net/http"
	"strings"
)

// Mirrors maps upstream registries to the cache projects that mirror
// them, for clients that use this registry as a mirror (containerd's
// hosts.toml, Docker's registry-mirrors): they ask for the upstream's
// repository names at the root, /v2/library/nginx/manifests/1.27, with
// containerd adding ?ns=docker.io to say which registry it means.
type Mirrors struct {
	// ByNamespace maps a registry host (containerd's ns: "docker.io",
	// "ghcr.io") to the project caching it.
	ByNamespace map[string]string
	// Default is the project a request without ns goes to (Docker's
	// registry-mirrors, which is for Docker Hub only), unless its
	// repository is one of this registry's: "" for none.
	Default string
}

// Handler serves mirror requests through next, the registry's handler:
// a pull (GET or HEAD) of a manifest, blob, tag list or referrers of an
// upstream repository is answered as the same request for that
// repository inside the cache project that mirrors its registry.
// isLocal reports whether a repository is this registry's (a request
// without ns for one is left alone: Docker Hub's library/ names and a
// project "library" here may meet). Anything else passes as it is.
func (m Mirrors) Handler(next http.Handler, isLocal func(ctx context.Context, repo string) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if project := m.projectFor(r, isLocal); project != "" {
			r = r.Clone(r.Context())
			r.URL.Path = "/v2/" + project + "/" + strings.TrimPrefix(r.URL.Path, "/v2/")
			r.URL.RawPath = ""
			q := r.URL.Query()
			q.Del("ns")
			r.URL.RawQuery = q.Encode()
		}
		next.ServeHTTP(w, r)
	})
}

// projectFor is the cache project a mirror request goes to ("" when it
// is none).
func (m Mirrors) projectFor(r *http.Request, isLocal func(ctx context.Context, repo string) bool) string {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return ""
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v2/")
	if !ok {
		return ""
	}
	repo := pullRepository(rest)
	if repo == "" {
		return ""
	}
	if ns := r.URL.Query().Get("ns"); ns != "" {
		return m.ByNamespace[ns]
	}
	if m.Default == "" || isLocal(r.Context(), repo) {
		return ""
	}
	return m.Default
}

// pullRepository is the repository of a path below /v2/ that reads a
// manifest, blob, tag list or referrers ("" for any other path).
func pullRepository(rest string) string {
	for _, part := range []string{"/manifests/", "/blobs/", "/referrers/"} {
		if i := strings.LastIndex(rest, part); i > 0 && !strings.HasPrefix(rest[i:], "/blobs/uploads") {
			return rest[:i]
		}
	}
	if repo, ok := strings.CutSuffix(rest, "/tags/list"); ok && repo != "" {
		return repo
	}
	return ""
}
