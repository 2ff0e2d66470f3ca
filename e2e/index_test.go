package e2e

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestMultiPlatformIndex pushes an index over a linux/amd64 and a linux/arm64
// image and pulls each platform back by --platform.
func TestMultiPlatformIndex(t *testing.T) {
	t.Parallel()
	e := newClientEnv(t)
	repo := uniqueRepo("index")
	amd := newImage(t, "amd64", 96<<10)
	arm := newImage(t, "arm64", 80<<10)
	layout := filepath.Join(t.TempDir(), "layout")
	indexBytes := writeIndexLayout(t, layout, amd, arm)
	indexDigest := digestOf(indexBytes)
	ref := e.ref(repo, ":multi")
	e.run("regctl", "registry", "set", "--tls", "disabled", e.reg)

	out := e.run("crane", "push", "--insecure", "--index", layout, ref)
	wantEqual(t, "crane push --index output", strings.TrimSpace(out), e.ref(repo, "@"+indexDigest))

	t.Run("index", func(t *testing.T) {
		e := e.on(t)
		wantEqual(t, "index digest", strings.TrimSpace(e.run("crane", "digest", "--insecure", ref)), indexDigest)
		got := e.run("crane", "manifest", "--insecure", ref)
		if got != string(indexBytes) {
			t.Errorf("index bytes differ:\n got %s\nwant %s", got, indexBytes)
		}
		resp, _ := httpGet(t, e.reg, "/v2/"+repo+"/manifests/multi", map[string]string{"Accept": mtIndex + ", " + mtManifest})
		wantEqual(t, "index Content-Type", resp.Header.Get("Content-Type"), mtIndex)
		wantEqual(t, "index Docker-Content-Digest", resp.Header.Get("Docker-Content-Digest"), indexDigest)
	})

	for _, img := range []*image{amd, arm} {
		plat := img.Platform.OS + "/" + img.Platform.Architecture
		t.Run("crane-"+img.Platform.Architecture, func(t *testing.T) {
			e := e.on(t)
			wantEqual(t, "crane digest --platform "+plat,
				strings.TrimSpace(e.run("crane", "digest", "--insecure", "--platform", plat, ref)), img.Digest)
			dst := filepath.Join(t.TempDir(), "pulled")
			e.run("crane", "pull", "--insecure", "--format=oci", "--platform", plat, ref, dst)
			m := checkLayoutImage(t, dst, img.Digest)
			if !bytes.Equal(readFile(t, blobPath(dst, m.Layers[0].Digest)), img.LayerBytes()) {
				t.Errorf("%s layer differs from the one pushed", plat)
			}
		})
		t.Run("regctl-"+img.Platform.Architecture, func(t *testing.T) {
			e := e.on(t)
			wantEqual(t, "regctl image digest --platform "+plat,
				strings.TrimSpace(e.run("regctl", "image", "digest", "--platform", plat, ref)), img.Digest)
			raw := e.run("regctl", "manifest", "get", "--format", "raw-body", "--platform", plat, ref)
			if raw != string(img.Manifest) {
				t.Errorf("regctl manifest get --platform %s returned other bytes", plat)
			}
		})
	}
}
