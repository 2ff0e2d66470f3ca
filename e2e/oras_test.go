package e2e

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

const (
	artBundle = "application/vnd.berth.e2e.bundle.v1"
	artSBOM   = "application/vnd.berth.e2e.sbom.v1+json"
	artSig    = "application/vnd.berth.e2e.signature.v1"
)

type orasDiscovery struct {
	Digest    string `json:"digest"`
	Referrers []struct {
		Digest       string `json:"digest"`
		MediaType    string `json:"mediaType"`
		ArtifactType string `json:"artifactType"`
	} `json:"referrers"`
}

func (d orasDiscovery) byType() map[string]string {
	m := map[string]string{}
	for _, r := range d.Referrers {
		m[r.ArtifactType] = r.Digest
	}
	return m
}

// TestOras pushes and pulls an artifact with a custom type, attaches
// referrers to an image and discovers them, with and without a type filter.
func TestOras(t *testing.T) {
	t.Parallel()
	e := newClientEnv(t)
	repo := uniqueRepo("oras")

	t.Run("push-pull-artifact", func(t *testing.T) {
		e := e.on(t)
		src := t.TempDir()
		files := map[string][]byte{
			"notes.txt":   []byte("berth e2e artifact " + randHex(8) + "\n"),
			"payload.bin": randBytes(t, 300<<10),
		}
		for name, b := range files {
			writeFile(t, filepath.Join(src, name), b)
		}
		ref := e.ref(repo, ":bundle")
		exported := filepath.Join(t.TempDir(), "manifest.json")
		out := e.runCmd(cmd{name: "oras", dir: src, args: []string{
			"push", "--plain-http", "--artifact-type", artBundle, "--export-manifest", exported,
			"--format", "json", ref, "notes.txt:text/plain", "payload.bin",
		}})
		var pushed descriptor
		mustJSON(t, out, &pushed)
		manifestBytes := readFile(t, exported)
		wantEqual(t, "pushed digest", pushed.Digest, digestOf(manifestBytes))
		wantEqual(t, "pushed artifactType", pushed.ArtifactType, artBundle)

		fetched := e.run("oras", "manifest", "fetch", "--plain-http", ref)
		if fetched != string(manifestBytes) {
			t.Errorf("oras manifest fetch returned other bytes:\n got %s\nwant %s", fetched, manifestBytes)
		}
		var m manifest
		mustJSON(t, fetched, &m)
		wantEqual(t, "manifest artifactType", m.ArtifactType, artBundle)
		wantEqual(t, "layer count", len(m.Layers), 2)

		wantEqual(t, "oras resolve", strings.TrimSpace(e.run("oras", "resolve", "--plain-http", ref)), pushed.Digest)

		dst := t.TempDir()
		e.run("oras", "pull", "--plain-http", "-o", dst, ref)
		for name, want := range files {
			if got := readFile(t, filepath.Join(dst, name)); !bytes.Equal(got, want) {
				t.Errorf("pulled %s: %d bytes hashing to %s, want %s", name, len(got), digestOf(got), digestOf(want))
			}
		}
	})

	// An image with two referrers of different artifact types.
	img := newImage(t, "amd64", 64<<10)
	layout := filepath.Join(t.TempDir(), "layout")
	writeImageLayout(t, layout, "v1", img)
	subject := e.ref(repo, ":image")
	e.run("oras", "cp", "--from-oci-layout", "--to-plain-http", layout+":v1", subject)
	wantEqual(t, "image digest", strings.TrimSpace(e.run("oras", "resolve", "--plain-http", subject)), img.Digest)

	attachDir := t.TempDir()
	sbom := []byte(`{"berth":"e2e","id":"` + randHex(8) + `"}`)
	sig := []byte("signature " + randHex(16))
	writeFile(t, filepath.Join(attachDir, "sbom.json"), sbom)
	writeFile(t, filepath.Join(attachDir, "sig.txt"), sig)
	attach := func(artifactType, file string) string {
		out := e.runCmd(cmd{name: "oras", dir: attachDir, args: []string{
			"attach", "--plain-http", "--artifact-type", artifactType, "--format", "json", subject, file,
		}})
		var d descriptor
		mustJSON(t, out, &d)
		return d.Digest
	}
	sbomDigest := attach(artSBOM, "sbom.json:application/json")
	sigDigest := attach(artSig, "sig.txt:text/plain")

	t.Run("discover", func(t *testing.T) {
		e := e.on(t)
		var all orasDiscovery
		mustJSON(t, e.run("oras", "discover", "--plain-http", "--format", "json", subject), &all)
		wantEqual(t, "discover subject", all.Digest, img.Digest)
		got := all.byType()
		wantEqual(t, "sbom referrer", got[artSBOM], sbomDigest)
		wantEqual(t, "signature referrer", got[artSig], sigDigest)
		wantEqual(t, "referrer count", len(all.Referrers), 2)

		var filtered orasDiscovery
		mustJSON(t, e.run("oras", "discover", "--plain-http", "--format", "json", "--artifact-type", artSig, subject), &filtered)
		if len(filtered.Referrers) != 1 || filtered.Referrers[0].Digest != sigDigest {
			t.Errorf("discover --artifact-type %s = %+v, want only %s", artSig, filtered.Referrers, sigDigest)
		}
	})

	t.Run("pull-referrer", func(t *testing.T) {
		e := e.on(t)
		dst := t.TempDir()
		e.run("oras", "pull", "--plain-http", "-o", dst, e.ref(repo, "@"+sbomDigest))
		if got := readFile(t, filepath.Join(dst, "sbom.json")); !bytes.Equal(got, sbom) {
			t.Errorf("pulled sbom = %q, want %q", got, sbom)
		}
	})

	// The registry's own referrers API, not the tag-schema fallback: oras
	// told to use only the API, and the endpoint read directly.
	t.Run("referrers-api", func(t *testing.T) {
		e := e.on(t)
		var api orasDiscovery
		mustJSON(t, e.run("oras", "discover", "--plain-http", "--distribution-spec", "v1.1-referrers-api",
			"--format", "json", subject), &api)
		wantEqual(t, "referrers via API", len(api.Referrers), 2)

		resp, body := httpGet(t, e.reg, "/v2/"+repo+"/referrers/"+img.Digest+"?artifactType="+artSig, nil)
		wantEqual(t, "referrers status", resp.StatusCode, 200)
		wantEqual(t, "referrers Content-Type", resp.Header.Get("Content-Type"), mtIndex)
		var idx index
		if err := json.Unmarshal(body, &idx); err != nil {
			t.Fatalf("referrers body: %v\n%s", err, clip(string(body)))
		}
		if len(idx.Manifests) != 1 || idx.Manifests[0].Digest != sigDigest || idx.Manifests[0].ArtifactType != artSig {
			t.Errorf("filtered referrers = %+v, want only %s (%s)", idx.Manifests, sigDigest, artSig)
		}
		if applied := resp.Header.Get("OCI-Filters-Applied"); applied != "artifactType" {
			t.Errorf("OCI-Filters-Applied = %q, want artifactType", applied)
		}
	})
}
