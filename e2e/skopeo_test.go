package e2e

import (
	"bytes"
	"path/filepath"
	"testing"
)

// TestSkopeo copies an OCI layout to the registry and back with skopeo, and
// checks inspect and list-tags.
func TestSkopeo(t *testing.T) {
	t.Parallel()
	e := newClientEnv(t)
	repo := uniqueRepo("skopeo")
	img := newImage(t, "amd64", 128<<10)
	work := t.TempDir()
	src := filepath.Join(work, "src")
	writeImageLayout(t, src, "v1", img)
	// An explicit accept-anything policy: skopeo must not read /etc/containers.
	policy := filepath.Join(work, "policy.json")
	writeFile(t, policy, []byte(`{"default":[{"type":"insecureAcceptAnything"}]}`))

	skopeo := func(args ...string) string {
		return e.run("skopeo", append([]string{"--policy", policy}, args...)...)
	}
	remote := "docker://" + e.ref(repo, ":v1")

	skopeo("copy", "--preserve-digests", "--dest-tls-verify=false", "oci:"+src+":v1", remote)
	skopeo("copy", "--preserve-digests", "--dest-tls-verify=false", "oci:"+src+":v1", "docker://"+e.ref(repo, ":v1-again"))

	t.Run("inspect", func(t *testing.T) {
		e := e.on(t)
		var info struct {
			Name         string
			Digest       string
			Layers       []string
			Os           string
			Architecture string
		}
		mustJSON(t, e.run("skopeo", "inspect", "--tls-verify=false", remote), &info)
		wantEqual(t, "inspect Digest", info.Digest, img.Digest)
		wantEqual(t, "inspect Name", info.Name, e.ref(repo, ""))
		wantEqual(t, "inspect Os", info.Os, "linux")
		wantEqual(t, "inspect Architecture", info.Architecture, "amd64")
		if len(info.Layers) != 1 || info.Layers[0] != img.Layers[0].Digest {
			t.Errorf("inspect Layers = %q, want [%s]", info.Layers, img.Layers[0].Digest)
		}
		raw := e.run("skopeo", "inspect", "--raw", "--tls-verify=false", remote)
		if raw != string(img.Manifest) {
			t.Errorf("inspect --raw returned other bytes:\n got %s\nwant %s", raw, img.Manifest)
		}
	})

	t.Run("list-tags", func(t *testing.T) {
		e := e.on(t)
		var tags struct {
			Repository string
			Tags       []string
		}
		mustJSON(t, e.run("skopeo", "list-tags", "--tls-verify=false", "docker://"+e.ref(repo, "")), &tags)
		wantEqual(t, "list-tags Repository", tags.Repository, e.ref(repo, ""))
		wantContains(t, "list-tags Tags", tags.Tags, "v1", "v1-again")
	})

	t.Run("copy-back", func(t *testing.T) {
		e := e.on(t)
		dst := filepath.Join(t.TempDir(), "back")
		e.run("skopeo", "--policy", policy, "copy", "--preserve-digests", "--src-tls-verify=false", remote, "oci:"+dst+":v1")
		m := checkLayoutImage(t, dst, img.Digest)
		if !bytes.Equal(readFile(t, blobPath(dst, m.Layers[0].Digest)), img.LayerBytes()) {
			t.Error("layer copied back differs from the one pushed")
		}
		wantEqual(t, "config copied back", m.Config.Digest, img.ConfigDigest)
	})
}
