package server

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// A proxy cache project of another server with auth on (its token flow,
// with the endpoint's credentials): pulled through, the image is the
// upstream's, digest for digest, and is then served from the cache; the
// cache takes no pushes, even the admin's; its settings are the admin's
// to set, through the API, naming the field that is wrong.
func TestProxyCacheBetweenServers(t *testing.T) {
	a, b := startSite(t, nil), startSite(t, nil)
	a.must("POST", "/projects", `{"project_name":"team"}`, 201)
	want := a.push(t, "team/app:v1", 4096)

	b.endpoint("a", a.host, true)
	b.must("POST", "/projects", `{"project_name":"hub"}`, 201)
	b.must("PUT", "/projects/hub/proxy", `{"registries":["nope"]}`, 404)
	b.must("PUT", "/projects/hub/proxy", `{"registries":[]}`, 400)
	b.must("PUT", "/projects/hub/proxy", `{"registries":["a"],"ttl_seconds":60}`, 200)
	if got := b.must("GET", "/projects/hub/proxy", "", 200); !strings.Contains(got, `"registries":["a"]`) || !strings.Contains(got, `"ttl_seconds":60`) {
		t.Errorf("proxy settings %s", got)
	}

	img, err := remote.Image(b.ref(t, "hub/team/app:v1"), b.auth)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := img.Digest(); d != want {
		t.Fatalf("pulled %s through the cache, want %s", d, want)
	}
	layers, _ := img.Layers()
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 32<<10)
		for {
			_, err := rc.Read(buf)
			if err != nil {
				break
			}
		}
		rc.Close()
	}
	if got := b.digest(t, "hub/team/app:v1", b.auth); got != want.String() {
		t.Errorf("cached tag at %s", got)
	}
	other, _ := random.Image(256, 1)
	if err := remote.Write(b.ref(t, "hub/team/app:mine"), other, b.auth); err == nil || !strings.Contains(err.Error(), "proxy cache") {
		t.Errorf("the admin's push into the cache: %v", err)
	}
	b.must("GET", "/projects/team/proxy", "", 404) // no project
	b.must("POST", "/projects", `{"project_name":"plain"}`, 201)
	if got := b.must("GET", "/projects/plain/proxy", "", 404); !strings.Contains(got, "no proxy cache") {
		t.Errorf("a project that is no cache: %s", got)
	}
}
