package e2e

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfCache makes a source project and a cache project of the registry
// under test caching itself: its own address as the upstream endpoint,
// with the admin's credentials, so that the fetches go through its token
// flow. It returns both projects' names.
func selfCache(e *clientEnv, api adminAPI) (src, cache string) {
	suffix := randHex(4)
	src, cache, endpoint := "psrc-"+suffix, "pcache-"+suffix, "self-"+suffix
	api.call("POST", "/projects", map[string]any{"project_name": src}, http.StatusCreated)
	api.call("POST", "/projects", map[string]any{"project_name": cache}, http.StatusCreated)
	api.call("POST", "/registries", map[string]any{"name": endpoint, "url": "http://" + e.reg,
		"credential": map[string]any{"type": "basic", "access_key": api.user, "access_secret": api.pass}}, http.StatusCreated)
	api.call("PUT", "/projects/"+cache+"/proxy", map[string]any{"registries": []string{endpoint}}, http.StatusOK)
	return src, cache
}

// TestProxyCache makes a project of the registry under test a
// pull-through cache of the same registry (its own address as the
// upstream endpoint, with the admin's credentials, so the fetches go
// through its token flow), pushes a two-platform index to a source
// project, and pulls it through the cache with crane, skopeo, oras and
// regctl: digests and bytes are the source's, platform by platform. A
// push into the cache is refused.
func TestProxyCache(t *testing.T) {
	t.Parallel()
	e, api := newAdminEnv(t)
	src, cache := selfCache(e, api)

	amd, arm := newImage(t, "amd64", 96<<10), newImage(t, "arm64", 80<<10)
	layout := filepath.Join(t.TempDir(), "layout")
	indexBytes := writeIndexLayout(t, layout, amd, arm)
	indexDigest := digestOf(indexBytes)
	e.run("crane", "push", "--insecure", "--index", layout, e.ref(src+"/app", ":v1"))
	through := e.ref(cache+"/"+src+"/app", ":v1")

	// crane: the index, then each platform's image, whole.
	wantEqual(t, "crane digest through the cache", strings.TrimSpace(e.run("crane", "digest", "--insecure", through)), indexDigest)
	if got := e.run("crane", "manifest", "--insecure", through); got != string(indexBytes) {
		t.Errorf("the index through the cache differs:\n got %s\nwant %s", got, indexBytes)
	}
	for _, img := range []*image{amd, arm} {
		plat := img.Platform.OS + "/" + img.Platform.Architecture
		dst := filepath.Join(t.TempDir(), "crane")
		e.run("crane", "pull", "--insecure", "--format=oci", "--platform", plat, through, dst)
		m := checkLayoutImage(t, dst, img.Digest)
		if !bytes.Equal(readFile(t, blobPath(dst, m.Layers[0].Digest)), img.LayerBytes()) {
			t.Errorf("crane: the %s layer through the cache differs", plat)
		}
	}
	// skopeo: every platform, digests preserved.
	policy := filepath.Join(t.TempDir(), "policy.json")
	writeFile(t, policy, []byte(`{"default":[{"type":"insecureAcceptAnything"}]}`))
	dst := filepath.Join(t.TempDir(), "skopeo")
	e.run("skopeo", "--policy", policy, "copy", "--all", "--preserve-digests", "--src-tls-verify=false", "docker://"+through, "oci:"+dst+":v1")
	for _, img := range []*image{amd, arm} {
		if !bytes.Equal(readFile(t, blobPath(dst, digestOf(img.Manifest))), img.Manifest) {
			t.Errorf("skopeo: the %s/%s manifest through the cache differs", img.Platform.OS, img.Platform.Architecture)
		}
	}
	// oras and regctl: the manifests, byte for byte.
	if got := e.run("oras", "manifest", "fetch", "--plain-http", through); got != string(indexBytes) {
		t.Errorf("oras: the index through the cache differs")
	}
	e.run("regctl", "registry", "set", "--tls", "disabled", e.reg)
	for _, img := range []*image{amd, arm} {
		plat := img.Platform.OS + "/" + img.Platform.Architecture
		if raw := e.run("regctl", "manifest", "get", "--format", "raw-body", "--platform", plat, through); raw != string(img.Manifest) {
			t.Errorf("regctl: the %s manifest through the cache differs", plat)
		}
	}
	// The cache takes no pushes.
	other := filepath.Join(t.TempDir(), "other")
	writeImageLayout(t, other, "mine", newImage(t, "amd64", 4<<10))
	if out := e.fails("crane", "push", "--insecure", other, e.ref(cache+"/"+src+"/app", ":mine")); !strings.Contains(out, "proxy cache") {
		t.Errorf("a push into the cache was refused for another reason:\n%s", clip(out))
	}
}

// TestProxyCacheBigLayer pushes an image with a 512 MiB layer with oras
// into a source project and reads it through a cache of the registry
// under test with oras, skopeo, crane and regctl, hashing every copy. It
// runs only with BERTH_E2E_BIG=1.
func TestProxyCacheBigLayer(t *testing.T) {
	if os.Getenv("BERTH_E2E_BIG") != "1" {
		registryAddr(t)
		t.Skip("BERTH_E2E_BIG is not 1: skipping the 512 MiB pull through the cache")
	}
	t.Parallel()
	e, api := newAdminEnv(t)
	src, cache := selfCache(e, api)

	dir := t.TempDir()
	const name, long = "big.bin", 10 * time.Minute
	want := writeRandomFile(t, filepath.Join(dir, name), bigSize)
	// An image (an uncompressed layer, so its diff ID is its digest),
	// which skopeo copies as it copies any image.
	writeFile(t, filepath.Join(dir, "config.json"), []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["`+want+`"]}}`))
	e.runCmd(cmd{name: "oras", dir: dir, timeout: long, args: []string{
		"push", "--plain-http", "--no-tty", "--config", "config.json:application/vnd.oci.image.config.v1+json",
		e.ref(src+"/big", ":v1"), name + ":application/vnd.oci.image.layer.v1.tar",
	}})
	through := e.ref(cache+"/"+src+"/big", ":v1")
	dst := t.TempDir()
	e.runCmd(cmd{name: "oras", timeout: long, args: []string{"pull", "--plain-http", "--no-tty", "-o", dst, through}})
	wantEqual(t, "oras pulled through the cache", fileDigest(t, filepath.Join(dst, name)), want)
	policy := filepath.Join(t.TempDir(), "policy.json")
	writeFile(t, policy, []byte(`{"default":[{"type":"insecureAcceptAnything"}]}`))
	layout := filepath.Join(t.TempDir(), "skopeo")
	e.runCmd(cmd{name: "skopeo", timeout: long, args: []string{
		"--policy", policy, "copy", "--preserve-digests", "--src-tls-verify=false", "docker://" + through, "oci:" + layout + ":v1",
	}})
	wantEqual(t, "skopeo copied through the cache", fileDigest(t, blobPath(layout, want)), want)
	out := filepath.Join(t.TempDir(), "blob")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	e.runCmd(cmd{name: "crane", timeout: long, stdout: f, args: []string{"blob", "--insecure", e.ref(cache+"/"+src+"/big", "@"+want)}})
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "crane blob from the cache", fileDigest(t, out), want)
	e.run("regctl", "registry", "set", "--tls", "disabled", e.reg)
	out = filepath.Join(t.TempDir(), "blob")
	if f, err = os.Create(out); err != nil {
		t.Fatal(err)
	}
	e.runCmd(cmd{name: "regctl", timeout: long, stdout: f, args: []string{"blob", "get", e.ref(cache+"/"+src+"/big", ""), want}})
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "regctl blob from the cache", fileDigest(t, out), want)
}
