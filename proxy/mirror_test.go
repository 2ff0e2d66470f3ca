package proxy_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/berthreg/berth/proxy"
)

func TestMirrorPaths(t *testing.T) {
	m := proxy.Mirrors{ByNamespace: map[string]string{"docker.io": "dockerhub", "ghcr.io": "ghcr"}, Default: "dockerhub"}
	var got string
	h := m.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r.Method + " " + r.URL.String() }),
		func(_ context.Context, repo string) bool { return repo == "team/app" || repo == "library/mine" })
	for _, c := range []struct{ method, in, want string }{
		{"GET", "/v2/library/nginx/manifests/1.27?ns=docker.io", "GET /v2/dockerhub/library/nginx/manifests/1.27"},
		{"HEAD", "/v2/owner/app/blobs/sha256:abc?ns=ghcr.io", "HEAD /v2/ghcr/owner/app/blobs/sha256:abc"},
		{"GET", "/v2/owner/app/tags/list?ns=ghcr.io&n=10", "GET /v2/ghcr/owner/app/tags/list?n=10"},
		{"GET", "/v2/owner/app/manifests/v1?ns=quay.io", "GET /v2/owner/app/manifests/v1?ns=quay.io"}, // not mirrored
		{"GET", "/v2/library/nginx/manifests/1.27", "GET /v2/dockerhub/library/nginx/manifests/1.27"}, // Docker's mirror: the default
		{"GET", "/v2/team/app/manifests/v1", "GET /v2/team/app/manifests/v1"},                         // a repository here
		{"GET", "/v2/library/mine/manifests/v1", "GET /v2/library/mine/manifests/v1"},
		{"GET", "/v2/team/other/manifests/v1", "GET /v2/dockerhub/team/other/manifests/v1"},
		{"PUT", "/v2/library/nginx/manifests/1.27?ns=docker.io", "PUT /v2/library/nginx/manifests/1.27?ns=docker.io"},
		{"POST", "/v2/library/nginx/blobs/uploads/?ns=docker.io", "POST /v2/library/nginx/blobs/uploads/?ns=docker.io"},
		{"GET", "/v2/?ns=docker.io", "GET /v2/?ns=docker.io"},
		{"GET", "/v2/_catalog", "GET /v2/_catalog"},
	} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(c.method, c.in, nil))
		if got != c.want {
			t.Errorf("%s %s → %q, want %q", c.method, c.in, got, c.want)
		}
	}
}
