package label_test

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/internal/testreg"
	"github.com/berthreg/berth/label"
)

// TestRegistryDeletesForgetLabels: a manifest deleted through a registry
// over the Forgetting store loses its labels; pushed again, it has none.
// A tag deletion keeps them.
func TestRegistryDeletesForgetLabels(t *testing.T) {
	e := newEnv(t)
	srv := testreg.Serve(t, label.Forgetting(e.store))
	img, _ := random.Image(128, 1)
	h, _ := img.Digest()
	d := digest.Digest(h.String())
	ref := func(s string) name.Reference {
		r, err := name.ParseReference(srv.Host+"/team/app:"+s, name.Insecure)
		must(t, err)
		return r
	}
	must(t, remote.Write(ref("v3"), img))
	must(t, remote.Write(ref("v4"), img))
	l := e.create(admin, label.Label{Name: "prod", Scope: label.Global})
	if _, err := e.svc.Attach(t.Context(), dev, "team/app", "v3", l.ID); err != nil {
		t.Fatal(err)
	}
	must(t, remote.Delete(ref("v4")))
	if got := e.namesOn("team/app", d); got != "[prod]" {
		t.Errorf("after deleting a tag: %s", got)
	}
	at, _ := name.ParseReference(srv.Host+"/team/app@"+d.String(), name.Insecure)
	must(t, remote.Delete(at))
	if got := e.namesOn("team/app", d); got != "[]" {
		t.Errorf("after deleting the manifest: %s", got)
	}
	must(t, remote.Write(ref("v3"), img))
	if got := e.namesOn("team/app", d); got != "[]" {
		t.Errorf("pushed again: %s", got)
	}
}
