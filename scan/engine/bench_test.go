package engine

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/internal/testreg"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry"
)

// BenchmarkManifestPull measures what the pull gate adds to a manifest
// GET: the same registry without the gate, with it on a project that
// gates nothing (one metadata read), and on one that gates on severity
// with a scanned image (the project and the scan record, in one read).
func BenchmarkManifestPull(b *testing.B) {
	for _, c := range []struct {
		name  string
		gate  bool
		scans accounts.ProjectScan
	}{
		{"no-gate", false, accounts.ProjectScan{}},
		{"gate-off", true, accounts.ProjectScan{}},
		{"gate-high", true, accounts.ProjectScan{PreventVulnerable: true, Severity: "High"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			store := testbolt.Open(b)
			gate, err := NewGate(store)
			if err != nil {
				b.Fatal(err)
			}
			var opts []registry.Option
			if c.gate {
				opts = append(opts, registry.WithHooks(gate.Hooks()))
			}
			reg := testreg.Serve(b, store, opts...)
			ref, _ := name.ParseReference(reg.Host+"/team/app:v1", name.Insecure)
			img, _ := random.Image(256, 1)
			if err := remote.Write(ref, img); err != nil {
				b.Fatal(err)
			}
			h, _ := img.Digest()
			err = reg.Metadata.Update(context.Background(), func(tx meta.Tx) error {
				if err := accounts.Projects.In(tx).Put(accounts.Project{Name: "team", Scan: c.scans}); err != nil {
					return err
				}
				return Reports.In(tx).Put(ScanReport{Repository: "team/app", Digest: digest.Digest(h.String()), Status: ScanSuccess,
					Severity: "Medium", ScannedAt: time.Now(), Findings: []ScanFinding{{ID: "CVE-2023-3446", Severity: "Medium"}}})
			})
			if err != nil {
				b.Fatal(err)
			}
			req, _ := http.NewRequest(http.MethodGet, "http://"+reg.Host+"/v2/team/app/manifests/v1", nil)
			req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json")
			for b.Loop() {
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					b.Fatalf("status %d", res.StatusCode)
				}
			}
		})
	}
}
