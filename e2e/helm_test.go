package e2e

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestHelm packages a chart, pushes it as an OCI artifact, pulls it back and
// reads its metadata from the registry.
func TestHelm(t *testing.T) {
	t.Parallel()
	e := newClientEnv(t)
	ns := uniqueRepo("helm")
	work := t.TempDir()
	chart := "berth-e2e-chart"

	e.runCmd(cmd{name: "helm", dir: work, args: []string{"create", chart}})
	// A distinct description makes each run's chart (and digest) unique.
	desc := "Berth e2e chart " + randHex(6)
	chartYAML := filepath.Join(work, chart, "Chart.yaml")
	yaml := regexp.MustCompile(`(?m)^description:.*$`).ReplaceAllString(string(readFile(t, chartYAML)), "description: "+desc)
	writeFile(t, chartYAML, []byte(yaml))
	e.runCmd(cmd{name: "helm", dir: work, args: []string{"package", chart, "-d", "dist"}})
	tgz := filepath.Join(work, "dist", chart+"-0.1.0.tgz")
	packaged := readFile(t, tgz)

	base := "oci://" + e.ref(ns, "")
	out := e.exec(cmd{name: "helm", args: []string{"push", tgz, base, "--plain-http"}})
	if out.err != nil {
		t.Fatalf("helm push failed: %v\n%s\n%s", out.err, out.stdout, out.stderr)
	}
	// helm prints "Pushed: ..." and "Digest: ..." (on stderr in helm 3).
	m := regexp.MustCompile(`Digest: (sha256:[0-9a-f]{64})`).FindStringSubmatch(out.stdout + out.stderr)
	if m == nil {
		t.Fatalf("helm push printed no digest:\n%s\n%s", out.stdout, out.stderr)
	}
	pushedDigest := m[1]
	chartRef := base + "/" + chart

	t.Run("pull", func(t *testing.T) {
		e := e.on(t)
		dst := t.TempDir()
		e.run("helm", "pull", chartRef, "--version", "0.1.0", "--plain-http", "-d", dst)
		if got := readFile(t, filepath.Join(dst, chart+"-0.1.0.tgz")); !bytes.Equal(got, packaged) {
			t.Errorf("pulled chart: %d bytes hashing to %s, want %s", len(got), digestOf(got), digestOf(packaged))
		}
	})

	t.Run("show-chart", func(t *testing.T) {
		e := e.on(t)
		shown := e.run("helm", "show", "chart", chartRef, "--version", "0.1.0", "--plain-http")
		for _, want := range []string{"name: " + chart, "version: 0.1.0", "description: " + desc} {
			if !strings.Contains(shown, want) {
				t.Errorf("helm show chart lacks %q:\n%s", want, shown)
			}
		}
	})

	t.Run("stored-as-oci", func(t *testing.T) {
		e := e.on(t)
		ref := e.ref(ns+"/"+chart, ":0.1.0")
		wantEqual(t, "crane digest of chart", strings.TrimSpace(e.run("crane", "digest", "--insecure", ref)), pushedDigest)
		var mf manifest
		mustJSON(t, e.run("crane", "manifest", "--insecure", ref), &mf)
		wantEqual(t, "chart config mediaType", mf.Config.MediaType, "application/vnd.cncf.helm.config.v1+json")
		if len(mf.Layers) != 1 || mf.Layers[0].Digest != digestOf(packaged) {
			t.Errorf("chart layers = %+v, want the packaged tgz %s", mf.Layers, digestOf(packaged))
		}
	})
}
