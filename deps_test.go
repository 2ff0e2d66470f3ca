package berth_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCorePackagesStayLight fails when a core package starts compiling in a
// heavy SDK: a host that imports only the registry and the fs driver must
// not pay for cloud storage, policy engines, signing or databases.
func TestCorePackagesStayLight(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "./registry", "./registry/httplimit", "./registry/naming", "./registry/inproc", "./storage/fs", "./storage/memory", "./storage/objectstore", "./meta/bolt").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := []string{
		"github.com/aws/", "github.com/aliyun/", "github.com/casbin/", "github.com/sigstore/",
		"github.com/jackc/", "github.com/go-ldap/", "github.com/coreos/go-oidc", "github.com/google/go-containerregistry",
		"github.com/prometheus/", "gopkg.in/yaml", "github.com/minio/", "github.com/zitadel/", "golang.org/x/oauth2",
		"github.com/google/osv-scalibr", "modernc.org/",
	}
	var third []string
	for _, pkg := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if strings.HasPrefix(pkg, f) {
				t.Errorf("core packages depend on %s", pkg)
			}
		}
		if strings.Contains(strings.SplitN(pkg, "/", 2)[0], ".") && !strings.HasPrefix(pkg, "github.com/berthreg/berth") {
			third = append(third, pkg)
		}
	}
	allowed := []string{"github.com/opencontainers/", "go.etcd.io/bbolt", "golang.org/x/sys"}
	for _, pkg := range third {
		ok := false
		for _, a := range allowed {
			ok = ok || strings.HasPrefix(pkg, a)
		}
		if !ok {
			t.Errorf("core packages gained third-party dependency %s; add it to the allowed list only if it is small", pkg)
		}
	}
}

// TestScannerSeamStaysLight fails when the scanning interface, the
// scanner-adapter client and server, the scan engine or the admin API start
// compiling in the built-in scanner's libraries: a plugin author writing a
// scanner, or a host using only Harbor adapters, must not pay for
// osv-scalibr, its sqlite and its SBOM formats. Package server is on the
// list too: the built-in scanner is linked in only by a host that passes
// server.WithBuiltinScanner(builtinscan.New).
func TestScannerSeamStaysLight(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "./scan", "./scan/scantest", "./scan/pluggable", "./scan/engine", "./api", "./server").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, f := range []string{"github.com/google/osv-scalibr", "modernc.org/", "github.com/spdx/", "github.com/CycloneDX/", "github.com/berthreg/berth/scan/builtin"} {
			if strings.HasPrefix(pkg, f) {
				t.Errorf("the scanner seam depends on %s", pkg)
			}
		}
	}
}

// TestAdminAPIStaysOffBackends fails when the admin API starts compiling
// in a metadata or storage backend or a cloud SDK: it translates HTTP to
// the feature packages over the meta.Store seam, and a host serving it
// over its own store must not pay for bbolt, S3 or OSS. Package server
// assembles the backends; api never picks one.
func TestAdminAPIStaysOffBackends(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "./api").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := []string{
		"github.com/berthreg/berth/meta/bolt", "go.etcd.io/bbolt",
		"github.com/berthreg/berth/storage/s3", "github.com/berthreg/berth/storage/oss",
		"github.com/berthreg/berth/storage/fs", "github.com/berthreg/berth/storage/objectstore",
		"github.com/berthreg/berth/server",
		"github.com/aws/", "github.com/aliyun/", "github.com/minio/", "github.com/jackc/",
		// Content trust's verifier (sigstore) is the server's to link in.
		"github.com/sigstore/", "github.com/berthreg/berth/trust/cosign",
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if pkg == f || strings.HasPrefix(pkg, strings.TrimSuffix(f, "/")+"/") {
				t.Errorf("api depends on %s", pkg)
			}
		}
	}
}

// TestPortalStaysLight fails when the web portal starts compiling in a
// third-party package: it talks to the admin API over HTTP in process and
// renders with the standard library only, so a host mounting it pays for
// nothing else.
func TestPortalStaysLight(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "./ui").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		first := strings.SplitN(pkg, "/", 2)[0]
		if strings.Contains(first, ".") && pkg != "github.com/berthreg/berth/ui" {
			t.Errorf("the portal depends on %s", pkg)
		}
	}
}
