package engine

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/crane"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/builtin"
	"github.com/berthreg/berth/scan/osv"
	"github.com/berthreg/berth/scan/securityhub"
)

// hubFindings returns what the security hub keeps of repo@d ("absent"
// when nothing), as "CVE package" lines.
func (r *rig) hubFindings(repo string, d digest.Digest) []string {
	r.t.Helper()
	var a securityhub.Artifact
	err := r.reg.Metadata.View(context.Background(), func(tx meta.Tx) error {
		var err error
		a, err = securityhub.ArtifactOf(tx, repo, d)
		return err
	})
	if errors.Is(err, meta.ErrNotFound) {
		return []string{"absent"}
	}
	if err != nil {
		r.t.Fatal(err)
	}
	out := []string{}
	for _, f := range a.Findings {
		out = append(out, f.CVE+" "+f.Package)
	}
	return out
}

// TestSecurityHubFollowsScans: a scan's findings reach the security hub
// with the scan's record; a rescan replaces them; a failed rescan keeps
// them, as the record keeps its summary; a delete (from the event log)
// takes them away.
func TestSecurityHubFollowsScans(t *testing.T) {
	r := newRig(t, nil)
	d := r.push("team/app:v1")
	r.scanner.mu.Lock()
	r.scanner.vulns[d.String()] = []scan.Vulnerability{
		{ID: "CVE-2023-5363", Package: "libcrypto3", Version: "3.1.2-r0", FixVersion: "3.1.4-r0", Severity: scan.SeverityHigh},
		{ID: "CVE-2024-0001", Package: "busybox", Version: "1.36.1-r2", Severity: scan.SeverityLow},
	}
	r.scanner.mu.Unlock()
	r.waitStatus("team/app", d, ScanSuccess)
	r.settled()
	if got := r.hubFindings("team/app", d); len(got) != 2 || got[0] != "CVE-2023-5363 libcrypto3" || got[1] != "CVE-2024-0001 busybox" {
		t.Fatalf("hub after the scan: %q", got)
	}

	r.scanner.mu.Lock()
	r.scanner.vulns[d.String()] = []scan.Vulnerability{{ID: "CVE-2024-0002", Package: "zlib", Version: "1.3", Severity: scan.SeverityCritical}}
	r.scanner.mu.Unlock()
	if err := r.eng.Enqueue(context.Background(), "team/app", d, "", TriggerManual); err != nil {
		t.Fatal(err)
	}
	r.settled()
	if got := r.hubFindings("team/app", d); len(got) != 1 || got[0] != "CVE-2024-0002 zlib" {
		t.Fatalf("hub after a rescan: %q", got)
	}

	r.scanner.mu.Lock()
	r.scanner.fail = errors.New("scanner down")
	r.scanner.mu.Unlock()
	if err := r.eng.Enqueue(context.Background(), "team/app", d, "", TriggerManual); err != nil {
		t.Fatal(err)
	}
	r.waitStatus("team/app", d, ScanError)
	if got := r.hubFindings("team/app", d); len(got) != 1 || got[0] != "CVE-2024-0002 zlib" {
		t.Fatalf("hub after a failed rescan: %q", got)
	}

	if err := remote.Delete(r.ref("team/app@" + d.String())); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, "the deleted artifact's findings to go", func() bool {
		got := r.hubFindings("team/app", d)
		return len(got) == 1 && got[0] == "absent"
	})
}

// alpineImage is an image of a real Alpine 3.18.2 root file system (the
// built-in scanner's fixture), whose packages the fixture advisories
// give 7 findings: CVE-2022-48174 in busybox (Critical, 9.8),
// CVE-2023-5363 (High, 7.5), CVE-2023-2975 and CVE-2023-3446 (Medium,
// 5.3) in both libcrypto3 and libssl3, all fixed.
func alpineImage(t *testing.T) v1.Image {
	t.Helper()
	root := os.DirFS("../builtin/testdata/rootfs/alpine-3.18")
	files := map[string][]byte{}
	err := fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files[p], err = fs.ReadFile(root, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	layer, err := crane.Layer(files)
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// hubSummary is the security hub's summary, with both lists.
func (r *rig) hubSummary(hub *securityhub.Hub) securityhub.Summary {
	r.t.Helper()
	s, err := hub.Summary(context.Background(), securityhub.SummaryOptions{DangerousCVEs: true, DangerousArtifacts: true})
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

// TestBuiltinScansInTheHub: the built-in scanner's findings on the OSV
// fixtures reach the security hub with the scans; a rescan of the same
// image counts nothing twice; the artifact's and the repository's
// deletes take them away.
func TestBuiltinScansInTheHub(t *testing.T) {
	db, err := osv.Load("../builtin/testdata/osv")
	if err != nil {
		t.Fatal(err)
	}
	sc := builtin.New(db)
	t.Cleanup(func() { _ = sc.Close() })
	r := newRig(t, nil, WithBuiltin("builtin", sc), WithDefault("builtin"))
	hub, err := securityhub.New(r.reg.Metadata, securityhub.WithArtifactCountTTL(0))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	img := alpineImage(t)
	d, _ := img.Digest()
	for _, ref := range []string{"team/alpine:3.18", "team/copy:v1"} {
		if err := remote.Write(r.ref(ref), img); err != nil {
			t.Fatal(err)
		}
	}
	r.settled()
	for _, repo := range []string{"team/alpine", "team/copy"} {
		if rec := r.waitStatus(repo, digest.Digest(d.String()), ScanSuccess); rec.ScannerName != builtin.Name {
			t.Fatalf("%s scanned by %q", repo, rec.ScannerName)
		}
	}
	two := securityhub.Totals{Counts: securityhub.Counts{Critical: 2, High: 4, Medium: 8}, Fixable: 14, Scanned: 2, Vulnerable: 2}
	s := r.hubSummary(hub)
	if s.Totals != two || s.Artifacts != 2 {
		t.Errorf("after two scans: %+v, %d artifacts", s.Totals, s.Artifacts)
	}
	var cves []string
	for _, c := range s.DangerousCVEs {
		cves = append(cves, c.CVE)
		if c.Artifacts != 2 || c.Description == "" {
			t.Errorf("dangerous CVE %+v", c)
		}
	}
	if want := []string{"CVE-2022-48174", "CVE-2023-5363", "CVE-2023-2975", "CVE-2023-3446"}; !slices.Equal(cves, want) {
		t.Errorf("dangerous CVEs %q, want %q", cves, want)
	}
	if c := s.DangerousCVEs[0]; c.CVSS3 != 9.8 || c.Package != "busybox" || c.FixVersion != "1.36.1-r1" {
		t.Errorf("the most dangerous CVE: %+v", c)
	}
	if a := s.DangerousArtifacts; len(a) != 2 || a[0].Critical != 1 || a[0].High != 2 || a[0].Medium != 4 {
		t.Errorf("dangerous artifacts %+v", a)
	}
	q, _ := securityhub.ParseQuery("cve_id=CVE-2023-5363")
	items, total, err := hub.Vulnerabilities(ctx, q, securityhub.Page{Limit: 10})
	if err != nil || total != 4 || len(items) != 4 || items[0].FixVersion != "3.1.4-r0" {
		t.Errorf("CVE-2023-5363: %d of %d (%v): %+v", len(items), total, err, items)
	}
	q, _ = securityhub.ParseQuery("package=busybox,repository_name=team/alpine")
	if items, total, _ = hub.Vulnerabilities(ctx, q, securityhub.Page{Limit: 10}); total != 1 || !slices.Equal(items[0].Tags, []string{"3.18"}) {
		t.Errorf("busybox in team/alpine: %d: %+v", total, items)
	}

	if err := r.eng.Enqueue(ctx, "team/alpine", digest.Digest(d.String()), "", TriggerManual); err != nil {
		t.Fatal(err)
	}
	r.settled()
	if s := r.hubSummary(hub); s.Totals != two {
		t.Errorf("after a rescan: %+v, want %+v", s.Totals, two)
	}

	if err := remote.Delete(r.ref("team/alpine@" + d.String())); err != nil {
		t.Fatal(err)
	}
	r.settled()
	one := securityhub.Totals{Counts: securityhub.Counts{Critical: 1, High: 2, Medium: 4}, Fixable: 7, Scanned: 1, Vulnerable: 1}
	if s := r.hubSummary(hub); s.Totals != one || s.DangerousCVEs[0].Artifacts != 1 || len(s.DangerousArtifacts) != 1 {
		t.Errorf("after a delete: %+v, %+v", s.Totals, s.DangerousCVEs)
	}
	// A repository deleted with its artifacts (as package artifact does),
	// forgotten from the event log.
	err = r.reg.Metadata.Update(ctx, func(tx meta.Tx) error {
		if err := tx.Repositories().Delete("team/copy"); err != nil {
			return err
		}
		_, err := tx.Events().Append(meta.Event{Type: events.DeleteRepository, Repository: "team/copy", Project: "team"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	r.settled()
	if s := r.hubSummary(hub); s.Totals != (securityhub.Totals{}) || len(s.DangerousCVEs) != 0 || len(s.DangerousArtifacts) != 0 || s.Artifacts != 0 {
		t.Errorf("with nothing left: %+v", s)
	}
}
