package proxy

import (
	"net/http"
	"testing"

	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/replication"
)

// Docker Hub endpoints, by type or address, are asked at its registry
// API, official images with their library/; other registries as named.
func TestUpstreamNames(t *testing.T) {
	store := teststores.Open(t)
	s, err := New(store, http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Update(t.Context(), func(tx meta.Tx) error {
		for _, r := range []replication.Registry{
			{Name: "hub", Type: "docker-hub", URL: "https://hub.docker.com"},
			{Name: "hub-by-address", URL: "https://registry-1.docker.io"},
			{Name: "ghcr", Type: "github-ghcr", URL: "https://ghcr.io"},
		} {
			if err := replication.Registries.In(tx).Put(r); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ upstream, repo, want string }{
		{"hub", "nginx", "index.docker.io/library/nginx"},
		{"hub", "bitnami/redis", "index.docker.io/bitnami/redis"},
		{"hub-by-address", "alpine", "index.docker.io/library/alpine"},
		{"ghcr", "owner/app", "ghcr.io/owner/app"},
	} {
		ups, err := s.upstreams(t.Context(), Settings{Project: "p", Upstreams: []string{c.upstream}}, c.repo)
		if err != nil || len(ups) != 1 {
			t.Fatalf("%s: %v, %d upstreams", c.upstream, err, len(ups))
		}
		if got := ups[0].repo.Name(); got != c.want {
			t.Errorf("%s %s: asked as %s, want %s", c.upstream, c.repo, got, c.want)
		}
	}
}
