package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRegctl copies images in and between repositories with regctl, lists
// tags, reads manifests, and puts and lists referrers.
func TestRegctl(t *testing.T) {
	t.Parallel()
	e := newClientEnv(t)
	e.run("regctl", "registry", "set", "--tls", "disabled", e.reg)

	repo := uniqueRepo("regctl")
	repo2 := uniqueRepo("regctl-copy")
	img := newImage(t, "arm64", 200<<10)
	layout := filepath.Join(t.TempDir(), "layout")
	writeImageLayout(t, layout, "v1", img)
	v1 := e.ref(repo, ":v1")
	e.run("regctl", "image", "copy", "ocidir://"+layout+":v1", v1)

	t.Run("digest-and-manifest", func(t *testing.T) {
		e := e.on(t)
		wantEqual(t, "image digest", strings.TrimSpace(e.run("regctl", "image", "digest", v1)), img.Digest)
		raw := e.run("regctl", "manifest", "get", "--format", "raw-body", v1)
		if raw != string(img.Manifest) {
			t.Errorf("manifest get returned other bytes:\n got %s\nwant %s", raw, img.Manifest)
		}
		wantEqual(t, "config digest",
			strings.TrimSpace(e.run("regctl", "manifest", "get", "--format", "{{.GetConfig.Digest}}", v1)), img.ConfigDigest)
	})

	t.Run("copy-and-tags", func(t *testing.T) {
		e := e.on(t)
		e.run("regctl", "image", "copy", v1, e.ref(repo, ":v1-copy"))
		dst := e.ref(repo2, ":mirrored")
		e.run("regctl", "image", "copy", v1, dst)
		wantEqual(t, "digest after cross-repo copy", strings.TrimSpace(e.run("regctl", "image", "digest", dst)), img.Digest)
		wantContains(t, "tag ls", lines(e.run("regctl", "tag", "ls", e.ref(repo, ""))), "v1", "v1-copy")
		wantContains(t, "tag ls of copy", lines(e.run("regctl", "tag", "ls", e.ref(repo2, ""))), "mirrored")
		got := e.run("regctl", "blob", "get", e.ref(repo2, ""), img.Layers[0].Digest)
		wantEqual(t, "layer in copy", digestOf([]byte(got)), img.Layers[0].Digest)
	})

	t.Run("artifacts", func(t *testing.T) {
		e := e.on(t)
		dir := t.TempDir()
		note := []byte("regctl note " + randHex(8) + "\n")
		writeFile(t, filepath.Join(dir, "note.txt"), note)
		put := func(artifactType string) string {
			return strings.TrimSpace(e.runCmd(cmd{name: "regctl", dir: dir, args: []string{
				"artifact", "put", "--subject", v1, "--artifact-type", artifactType,
				"-f", "note.txt", "--file-media-type", "text/plain",
				"--format", "{{.Manifest.GetDescriptor.Digest}}",
			}}))
		}
		noteDigest := put(artSBOM)
		sigDigest := put(artSig)

		listFmt := `{{range .Descriptors}}{{.Digest}} {{.ArtifactType}}{{"\n"}}{{end}}`
		all := lines(e.run("regctl", "artifact", "list", "--format", listFmt, v1))
		wantContains(t, "artifact list", all, noteDigest+" "+artSBOM, sigDigest+" "+artSig)
		wantEqual(t, "artifact count", len(all), 2)
		filtered := lines(e.run("regctl", "artifact", "list", "--filter-artifact-type", artSig, "--format", listFmt, v1))
		if len(filtered) != 1 || filtered[0] != sigDigest+" "+artSig {
			t.Errorf("artifact list --filter-artifact-type %s = %q, want only %s", artSig, filtered, sigDigest)
		}

		got := e.run("regctl", "artifact", "get", e.ref(repo, "@"+noteDigest))
		wantEqual(t, "artifact get", got, string(note))
	})

	t.Run("image-mod", func(t *testing.T) {
		e := e.on(t)
		modified := e.ref(repo, ":v1-annotated")
		e.run("regctl", "image", "mod", v1, "--annotation", "berth.e2e/mod=yes", "--create", "v1-annotated")
		ann := strings.TrimSpace(e.run("regctl", "manifest", "get", "--format", `{{index .GetAnnotations "berth.e2e/mod"}}`, modified))
		wantEqual(t, "annotation on modified image", ann, "yes")
		if d := strings.TrimSpace(e.run("regctl", "image", "digest", modified)); d == img.Digest {
			t.Errorf("modified image kept the original digest %s", d)
		}
		wantEqual(t, "original untouched", strings.TrimSpace(e.run("regctl", "image", "digest", v1)), img.Digest)
	})
}
