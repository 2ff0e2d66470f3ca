package builtin_test

import (
	"debug/buildinfo"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthreg/berth/registrytest"
	"github.com/berthreg/berth/scan"
)

// buildGoBinary builds testdata/gobin (a program using
// github.com/google/uuid) with the go command running the tests.
func buildGoBinary(t *testing.T) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the test binary: %v", err)
	}
	out := filepath.Join(t.TempDir(), "gobin")
	cmd := exec.Command(goCmd, "build", "-trimpath", "-buildvcs=false", "-o", out, "./testdata/gobin")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

// TestGoBinary: the modules in a Go binary's build info (and the Go
// version, as "stdlib") are listed and matched against Go advisories.
func TestGoBinary(t *testing.T) {
	bin := buildGoBinary(t)
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	s, req := scanning(t, "team/gobin", true, []file{{name: "usr/local/bin/gobin", body: body, mode: 0o755}})

	got, _ := sbomPackages(t, s, req, scan.MimeCycloneDX)
	want := map[string]string{"go": strings.TrimPrefix(info.GoVersion, "go"), info.Main.Path: info.Main.Version}
	uuidVersion := ""
	for _, d := range info.Deps {
		want[d.Path] = strings.TrimPrefix(d.Version, "v")
		if d.Path == "github.com/google/uuid" {
			uuidVersion = want[d.Path]
		}
	}
	if uuidVersion == "" {
		t.Fatalf("the test binary's build info names no github.com/google/uuid: %+v", info.Deps)
	}
	checkPackages(t, got, want)

	// BERTH-TEST-GO-1 (uuid ≥ 1.6.0) and BERTH-TEST-GO-3 (stdlib ≥
	// 1.26.0) match; BERTH-TEST-GO-2 (uuid < 1.6.0) and the real
	// GO-2024-2687 (stdlib < 1.21.9, 1.22.0–1.22.1) do not.
	r := vulnReport(t, s, req)
	goVersion := strings.TrimPrefix(info.GoVersion, "go")
	if len(r.Vulnerabilities) != 2 {
		t.Fatalf("vulnerabilities %+v, want BERTH-TEST-GO-1 and BERTH-TEST-GO-3", r.Vulnerabilities)
	}
	v1, v3 := r.Vulnerabilities[0], r.Vulnerabilities[1]
	if v1.ID != "BERTH-TEST-GO-1" || v1.Package != "github.com/google/uuid" || v1.Version != uuidVersion || v1.FixVersion != "" || v1.Severity != scan.SeverityMedium {
		t.Errorf("uuid: %+v", v1)
	}
	if v3.ID != "BERTH-TEST-GO-3" || v3.Package != "stdlib" || v3.Version != goVersion || v3.Severity != scan.SeverityHigh {
		t.Errorf("stdlib: %+v", v3)
	}
	if v3.VendorAttributes["path"] != "usr/local/bin/gobin" || v3.VendorAttributes["ecosystem"] != "Go" {
		t.Errorf("stdlib vendor attributes %v", v3.VendorAttributes)
	}
	if r.Severity != scan.SeverityHigh {
		t.Errorf("severity %s", r.Severity)
	}
}

// TestWhiteout: a layer deleting the package database of a lower layer
// (a whiteout of the file or of a directory above it, or an opaque
// whiteout of its directory) leaves no packages to report.
func TestWhiteout(t *testing.T) {
	reg := registrytest.New(t)
	s := newScanner(t)
	for _, c := range []struct {
		name  string
		upper []file
		want  int
	}{
		{"none", []file{text("etc/motd", "hello\n")}, len(alpinePackages)},
		{"file", []file{text("lib/apk/db/.wh.installed", "")}, 0},
		{"opaque", []file{text("lib/apk/db/.wh..wh..opq", "")}, 0},
		{"directory", []file{text("lib/.wh.apk", "")}, 0},
		// The layer's own files in an opaque directory stay.
		{"opaque with a new database", []file{text("lib/apk/db/.wh..wh..opq", ""),
			text("lib/apk/db/installed", "P:musl\nV:1.2.4-r0\nA:x86_64\no:musl\n\n")}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			repo := "team/" + strings.ReplaceAll(c.name, " ", "-")
			digest := push(t, reg.Host, repo, image(t, true, alpineFiles, c.upper))
			req := request(reg.URL, repo, digest)
			got, _ := sbomPackages(t, s, req, scan.MimeSPDX)
			if len(got) != c.want {
				t.Errorf("packages %v, want %d", got, c.want)
			}
			r := vulnReport(t, s, req)
			if c.want < len(alpinePackages) && len(r.Vulnerabilities) != 0 {
				t.Errorf("vulnerabilities of deleted packages: %+v", r.Vulnerabilities)
			}
			if c.want == len(alpinePackages) {
				checkAlpine(t, r)
			}
		})
	}
}
