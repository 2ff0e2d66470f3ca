package blobcount_test

import (
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berthreg/berth/internal/blobcount"
	"github.com/berthreg/berth/registrytest"
)

// TestCounts: blob GETs through the proxy are counted per repository
// and digest; manifests, HEADs and misses are not.
func TestCounts(t *testing.T) {
	reg := registrytest.New(t)
	host := reg.Host
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(host+"/team/app:v1", name.Insecure)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	gets := blobcount.Start(t, host)
	layers, _ := img.Layers()
	d, _ := layers[0].Digest()
	base := "http://" + gets.Host + "/v2/team/app/blobs/"
	for _, req := range []struct{ method, url string }{
		{http.MethodGet, base + d.String()},
		{http.MethodGet, base + d.String()},
		{http.MethodHead, base + d.String()},
		{http.MethodGet, base + "sha256:" + "00000000000000000000000000000000000000000000000000000000000000aa"},
		{http.MethodGet, "http://" + gets.Host + "/v2/team/app/manifests/v1"},
	} {
		r, _ := http.NewRequest(req.method, req.url, nil)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if n := gets.Of("team/app", d.String()); n != 2 {
		t.Errorf("Of = %d, want 2", n)
	}
	if n := gets.Total(); n != 2 {
		t.Errorf("Total = %d, want 2", n)
	}
}
