package e2e

import (
	"archive/tar"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The artifact types of the referrers a scan stores.
const (
	vulnReportType = "application/vnd.berth.vulnerability.report.v1+json"
	sbomType       = "application/vnd.goharbor.harbor.sbom.v1"
)

// alpineRootFS is a real Alpine 3.18.2 root file system (os-release and
// the apk database), the scanner's fixture; the server scans with the
// OSV advisories beside it (BERTH_SCAN_OSV_DB).
const alpineRootFS = "../scan/builtin/testdata/rootfs/alpine-3.18"

// TestScanOnPush pushes an image of the Alpine fixture with crane (crane
// append) to a project that scans on push, finds the vulnerability report
// and the SBOM with oras discover, pulls the report with oras and checks
// its CVEs. With auth (BERTH_E2E_USER), the project is made with the admin
// API (auto_scan) and its pull gate is tried: crane cannot pull the image
// while prevent_vul is on at High, and can once the CVEs that block it
// are allowlisted. Without auth, it needs a server that scans every push
// (BERTH_SCAN_AUTO_SCAN, said by BERTH_E2E_AUTO_SCAN=1), which make
// e2e-s3 starts for it alone.
func TestScanOnPush(t *testing.T) {
	t.Parallel()
	user := os.Getenv("BERTH_E2E_USER")
	if user == "" && os.Getenv("BERTH_E2E_AUTO_SCAN") == "" {
		t.Skip("no admin API to turn auto_scan on and no BERTH_E2E_AUTO_SCAN server: make e2e-s3 runs this against a server of its own")
	}
	e := newClientEnv(t)
	api := adminAPI{t: t, base: "http://" + e.reg, user: user, pass: os.Getenv("BERTH_E2E_PASSWORD")}
	project := "e2e"
	if user != "" {
		project = "scan-" + randHex(4)
		api.call("POST", "/projects", map[string]any{"project_name": project, "metadata": map[string]string{"auto_scan": "true"}}, http.StatusCreated)
	}
	repo := project + "/alpine-" + randHex(4)
	layer := filepath.Join(t.TempDir(), "rootfs.tar")
	writeTar(t, alpineRootFS, layer)
	ref := e.ref(repo, ":3.18")
	e.run("crane", "append", "--insecure", "-f", layer, "-t", ref)
	digest := strings.TrimSpace(e.run("crane", "digest", "--insecure", ref))
	byDigest := e.ref(repo, "@"+digest)

	var found orasDiscovery
	waitFor(t, "the scan's report and SBOM as referrers", func() bool {
		mustJSON(t, e.run("oras", "discover", "--plain-http", "--format", "json", byDigest), &found)
		return len(found.Referrers) >= 2
	})
	types := found.byType()
	if len(found.Referrers) != 2 || types[vulnReportType] == "" || types[sbomType] == "" {
		t.Fatalf("oras discover finds %+v, want a vulnerability report and an SBOM", found.Referrers)
	}
	dir := t.TempDir()
	e.run("oras", "pull", "--plain-http", "--no-tty", "-o", dir, e.ref(repo, "@"+types[vulnReportType]))
	var report struct {
		Artifact struct {
			Digest string `json:"digest"`
		} `json:"artifact"`
		Vulnerabilities []struct {
			ID         string `json:"id"`
			Package    string `json:"package"`
			FixVersion string `json:"fix_version"`
			Severity   string `json:"severity"`
		} `json:"vulnerabilities"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "vulnerability-report.json"))
	if err != nil {
		t.Fatal(err)
	}
	mustJSON(t, string(b), &report)
	var ids []string
	for _, v := range report.Vulnerabilities {
		if v.Package == "libcrypto3" || v.Package == "busybox" {
			ids = append(ids, v.ID+" "+v.FixVersion+" "+v.Severity)
		}
	}
	slices.Sort(ids)
	want := []string{"CVE-2022-48174 1.36.1-r1 Critical", "CVE-2023-2975 3.1.1-r2 Medium", "CVE-2023-3446 3.1.1-r3 Medium", "CVE-2023-5363 3.1.4-r0 High"}
	if !slices.Equal(ids, want) || report.Artifact.Digest != digest {
		t.Errorf("the report (of %s) lists %q, want %q", report.Artifact.Digest, ids, want)
	}
	sbomDir := t.TempDir()
	e.run("oras", "pull", "--plain-http", "--no-tty", "-o", sbomDir, e.ref(repo, "@"+types[sbomType]))
	if b, err := os.ReadFile(filepath.Join(sbomDir, "sbom.json")); err != nil || !strings.Contains(string(b), "libcrypto3") {
		t.Errorf("the SBOM (%v) does not list libcrypto3: %s", err, clip(string(b)))
	}
	if user == "" {
		return
	}
	api.call("PUT", "/projects/"+project, map[string]any{"metadata": map[string]string{"prevent_vul": "true", "severity": "high"}}, http.StatusOK)
	if out := e.fails("crane", "manifest", "--insecure", ref); !strings.Contains(out, "PROJECTPOLICYVIOLATION") || !strings.Contains(out, "CVE-2023-5363") {
		t.Errorf("crane manifest at the High gate: %s", out)
	}
	api.call("PUT", "/projects/"+project, map[string]any{"cve_allowlist": map[string]any{
		"items": []map[string]string{{"cve_id": "CVE-2023-5363"}, {"cve_id": "CVE-2022-48174"}}}}, http.StatusOK)
	var m struct {
		Layers []json.RawMessage `json:"layers"`
	}
	mustJSON(t, e.run("crane", "manifest", "--insecure", ref), &m)
	if len(m.Layers) != 1 {
		t.Errorf("the manifest pulled has %d layers, want 1", len(m.Layers))
	}
}

// writeTar writes the files under dir to a tar archive at path.
func writeTar(t *testing.T, dir, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name, hdr.ModTime = filepath.ToSlash(rel), time.Unix(0, 0)
		if d.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err == nil {
			_, err = tw.Write(b)
		}
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
}
