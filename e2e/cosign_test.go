package e2e

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const cosignBundleType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// TestCosign signs images with a key pair, offline (no transparency log, no
// Sigstore services), and verifies them with the right and a wrong key. It
// covers both storage forms: the Sigstore bundle attached as an OCI referrer
// (cosign v3's default) and the legacy "sha256-<hex>.sig" tag (cosign v2's).
func TestCosign(t *testing.T) {
	t.Parallel()
	e := newClientEnv(t)
	repo := uniqueRepo("cosign")
	password := "COSIGN_PASSWORD=berth-e2e-" + randHex(4)

	keys := t.TempDir()
	e.runCmd(cmd{name: "cosign", dir: keys, env: []string{password}, args: []string{"generate-key-pair"}})
	key, pub := filepath.Join(keys, "cosign.key"), filepath.Join(keys, "cosign.pub")
	otherKeys := t.TempDir()
	e.runCmd(cmd{name: "cosign", dir: otherKeys, env: []string{password}, args: []string{"generate-key-pair"}})
	wrongPub := filepath.Join(otherKeys, "cosign.pub")

	push := func(t *testing.T, tag string) (*image, string) {
		img := newImage(t, "amd64", 32<<10)
		layout := filepath.Join(t.TempDir(), "layout")
		writeImageLayout(t, layout, tag, img)
		e.on(t).run("crane", "push", "--insecure", layout, e.ref(repo, ":"+tag))
		return img, e.ref(repo, "@"+img.Digest)
	}
	sign := func(e *clientEnv, ref string, extra ...string) {
		args := []string{"sign", "--key", key, "--yes",
			"--use-signing-config=false", "--tlog-upload=false",
			"--allow-http-registry", "--allow-insecure-registry"}
		args = append(args, extra...)
		e.runCmd(cmd{name: "cosign", env: []string{password}, args: append(args, ref)})
	}
	verifyArgs := func(pubKey, ref string) []string {
		return []string{"verify", "--key", pubKey, "--insecure-ignore-tlog=true",
			"--allow-http-registry", "--allow-insecure-registry", ref}
	}
	verify := func(e *clientEnv, img *image, ref string) {
		var payloads []struct {
			Critical struct {
				Image struct {
					Digest string `json:"docker-manifest-digest"`
				} `json:"image"`
			} `json:"critical"`
		}
		out := e.run("cosign", verifyArgs(pub, ref)...)
		mustJSON(e.t, out, &payloads)
		if len(payloads) == 0 {
			e.t.Fatalf("cosign verify printed no verified payloads:\n%s", out)
		}
		for _, p := range payloads {
			wantEqual(e.t, "signed digest", p.Critical.Image.Digest, img.Digest)
		}
		e.fails("cosign", verifyArgs(wrongPub, ref)...)
	}

	t.Run("bundle-referrer", func(t *testing.T) {
		e := e.on(t)
		img, ref := push(t, "bundle")
		e.fails("cosign", verifyArgs(pub, ref)...) // nothing signed yet
		sign(e, ref)
		verify(e, img, ref)

		var found orasDiscovery
		mustJSON(t, e.run("oras", "discover", "--plain-http", "--format", "json", "--artifact-type", cosignBundleType, ref), &found)
		if len(found.Referrers) != 1 {
			t.Errorf("oras discover finds %d cosign bundles for %s, want 1", len(found.Referrers), img.Digest)
		}
	})

	t.Run("legacy-sig-tag", func(t *testing.T) {
		e := e.on(t)
		img, ref := push(t, "legacy")
		sign(e, ref, "--new-bundle-format=false")
		verify(e, img, ref)
		sigTag := strings.Replace(img.Digest, ":", "-", 1) + ".sig"
		if tags := lines(e.run("crane", "ls", "--insecure", e.ref(repo, ""))); !slices.Contains(tags, sigTag) {
			t.Errorf("crane ls = %q, want the signature tag %s", tags, sigTag)
		}
	})
}
