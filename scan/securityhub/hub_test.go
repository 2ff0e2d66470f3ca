package securityhub

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/scan"
)

// vuln is a report's vulnerability (score 0: none given).
func vuln(id, pkg, fix string, sev scan.Severity, score float64) scan.Vulnerability {
	v := scan.Vulnerability{ID: id, Package: pkg, Version: "1.0", FixVersion: fix, Severity: sev,
		Description: "about " + id, Links: []string{"https://avd.example/" + id}}
	if score > 0 {
		v.PreferredCVSS = &scan.CVSS{ScoreV3: score, VectorV3: "CVSS:3.1/AV:N"}
	}
	return v
}

// hubEnv is a store with a hub over it.
type hubEnv struct {
	t     testing.TB
	store meta.Store
	hub   *Hub
}

func newHubEnv(t testing.TB) *hubEnv {
	t.Helper()
	store := teststores.Open(t)
	hub, err := New(store, WithArtifactCountTTL(0))
	if err != nil {
		t.Fatal(err)
	}
	return &hubEnv{t: t, store: store, hub: hub}
}

func (e *hubEnv) update(fn func(tx meta.Tx) error) {
	e.t.Helper()
	if err := e.store.Update(context.Background(), fn); err != nil {
		e.t.Fatal(err)
	}
}

func (e *hubEnv) record(repo string, d digest.Digest, vs ...scan.Vulnerability) {
	e.t.Helper()
	e.update(func(tx meta.Tx) error {
		return Record(tx, Scan{Repository: repo, Digest: d, Scanner: "test", Vulnerabilities: vs})
	})
}

func (e *hubEnv) forget(repo string, d digest.Digest) {
	e.t.Helper()
	e.update(func(tx meta.Tx) error { return Forget(tx, repo, d) })
}

func (e *hubEnv) summary() Summary {
	e.t.Helper()
	s, err := e.hub.Summary(context.Background(), SummaryOptions{DangerousCVEs: true, DangerousArtifacts: true})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// cveList is the summary's CVE list as "id score artifacts".
func cveList(s Summary) []string {
	var out []string
	for _, c := range s.DangerousCVEs {
		out = append(out, fmt.Sprintf("%s %.1f %d", c.CVE, c.CVSS3, c.Artifacts))
	}
	return out
}

// artifactList is the summary's artifact list as "repo c/h/m/l".
func artifactList(s Summary) []string {
	var out []string
	for _, a := range s.DangerousArtifacts {
		out = append(out, fmt.Sprintf("%s %d/%d/%d/%d", a.Repository, a.Critical, a.High, a.Medium, a.Low))
	}
	return out
}

// TestSummaryExact: the summary's numbers after scans, a rescan that
// changes the findings, and deletes, down to nothing left.
func TestSummaryExact(t *testing.T) {
	e := newHubEnv(t)
	a, b, c := digest.FromString("a"), digest.FromString("b"), digest.FromString("c")
	e.record("team/app", a,
		vuln("CVE-1", "pa", "2.0", scan.SeverityCritical, 9.8),
		vuln("CVE-2", "pb", "", scan.SeverityHigh, 7.5),
		vuln("CVE-2", "pc", "2.0", scan.SeverityHigh, 7.5),
		vuln("CVE-3", "pd", "", scan.SeverityLow, 3.1))
	e.record("team/web", b,
		vuln("CVE-2", "pb", "", scan.SeverityHigh, 7.5),
		vuln("CVE-4", "pe", "2.0", scan.SeverityMedium, 5),
		vuln("CVE-4", "pe", "2.0", scan.SeverityMedium, 5), // listed twice: one finding
		vuln("CVE-5", "pf", "", "None", 0),                 // Harbor's None, Negligible: above Unknown
		vuln("CVE-6", "pg", "", "Weird", 0))
	e.record("other/db", c) // scanned clean

	s := e.summary()
	want := Totals{Counts: Counts{Critical: 1, High: 3, Medium: 1, Low: 1, None: 1, Unknown: 1}, Fixable: 3, Scanned: 3, Vulnerable: 2}
	if s.Totals != want {
		t.Errorf("totals %+v, want %+v", s.Totals, want)
	}
	if got, want := artifactList(s), []string{"team/app 1/2/0/1", "team/web 0/1/1/0"}; !slices.Equal(got, want) {
		t.Errorf("dangerous artifacts %q, want %q", got, want)
	}
	if got, want := cveList(s), []string{"CVE-1 9.8 1", "CVE-2 7.5 2", "CVE-4 5.0 1", "CVE-3 3.1 1", "CVE-5 0.0 1"}; !slices.Equal(got, want) {
		t.Errorf("dangerous CVEs %q, want %q", got, want)
	}
	if s.DangerousCVEs[0].Description != "about CVE-1" || s.DangerousCVEs[0].Package != "pa" || s.DangerousCVEs[0].Severity != scan.SeverityCritical {
		t.Errorf("the most dangerous CVE: %+v", s.DangerousCVEs[0])
	}

	// A rescan replaces the artifact's findings.
	e.record("team/app", a, vuln("CVE-2", "pb", "", scan.SeverityHigh, 7.5))
	s = e.summary()
	want = Totals{Counts: Counts{High: 2, Medium: 1, None: 1, Unknown: 1}, Fixable: 1, Scanned: 3, Vulnerable: 2}
	if s.Totals != want {
		t.Errorf("after a rescan: totals %+v, want %+v", s.Totals, want)
	}
	if got, want := cveList(s), []string{"CVE-2 7.5 2", "CVE-4 5.0 1", "CVE-5 0.0 1", "CVE-6 0.0 1"}; !slices.Equal(got, want) {
		t.Errorf("after a rescan: dangerous CVEs %q, want %q", got, want)
	}
	if got, want := artifactList(s), []string{"team/web 0/1/1/0", "team/app 0/1/0/0"}; !slices.Equal(got, want) {
		t.Errorf("after a rescan: dangerous artifacts %q, want %q", got, want)
	}
	// The same scan again changes nothing.
	e.record("team/app", a, vuln("CVE-2", "pb", "", scan.SeverityHigh, 7.5))
	if again := e.summary(); again.Totals != s.Totals || !slices.Equal(cveList(again), cveList(s)) {
		t.Errorf("the same scan twice: %+v, then %+v", s.Totals, again.Totals)
	}

	e.forget("team/web", b)
	s = e.summary()
	want = Totals{Counts: Counts{High: 1}, Scanned: 2, Vulnerable: 1}
	if s.Totals != want || !slices.Equal(cveList(s), []string{"CVE-2 7.5 1"}) {
		t.Errorf("after a delete: totals %+v (want %+v), CVEs %q", s.Totals, want, cveList(s))
	}
	e.forget("team/web", b) // again: nothing
	e.forget("team/app", a)
	e.forget("other/db", c)
	if s := e.summary(); s.Totals != (Totals{}) || len(s.DangerousCVEs) != 0 || len(s.DangerousArtifacts) != 0 {
		t.Errorf("after every delete: %+v", s)
	}
	// Nothing is left behind but the CVEs' descriptions.
	e.assertEmpty()
}

// assertEmpty fails when a record of the hub but a description is left.
func (e *hubEnv) assertEmpty() {
	e.t.Helper()
	err := e.store.View(context.Background(), func(tx meta.Tx) error {
		for _, kind := range []string{kindArtifacts, kindByCVE, kindByPackage, kindBySeverity, kindTotals, kindCVECounts, kindCVERank, kindArtifactRank} {
			recs, err := tx.Records(kind).List("", 0)
			if err != nil {
				return err
			}
			for _, r := range recs {
				e.t.Errorf("%s %q = %s left", kind, r.Key, r.Value)
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// TestForgetRepository: the artifacts of a deleted repository go; one
// pushed again under the name (its manifest there) stays.
func TestForgetRepository(t *testing.T) {
	e := newHubEnv(t)
	kept, gone := digest.FromString("kept"), digest.FromString("gone")
	e.record("team/app", kept, vuln("CVE-1", "p", "", scan.SeverityHigh, 7))
	e.record("team/app", gone, vuln("CVE-1", "p", "", scan.SeverityHigh, 7))
	e.record("team/app-2", gone, vuln("CVE-2", "p", "", scan.SeverityLow, 2))
	e.update(func(tx meta.Tx) error {
		if _, _, err := tx.Repositories().Ensure("team/app"); err != nil {
			return err
		}
		return tx.Manifests().Put("team/app", imageManifest(kept))
	})
	e.update(func(tx meta.Tx) error { return ForgetRepository(tx, "team/app") })
	s := e.summary()
	if s.Scanned != 2 || s.High != 1 || s.Low != 1 || !slices.Equal(cveList(s), []string{"CVE-1 7.0 1", "CVE-2 2.0 1"}) {
		t.Errorf("after the repository's delete: %+v, CVEs %q", s.Totals, cveList(s))
	}
	if s.Artifacts != 1 {
		t.Errorf("total artifacts %d, want 1", s.Artifacts)
	}
}

// imageManifest is an image manifest record of digest d.
func imageManifest(d digest.Digest) meta.Manifest {
	return meta.Manifest{Digest: d, MediaType: scan.MimeOCIManifest, Size: 100,
		Config: meta.Descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: digest.FromString("config " + d.String()), Size: 2}}
}

// rerun is a store whose Update runs fn, throws its writes away, and
// runs it again: what a database backend does when a transaction
// conflicts.
type rerun struct{ meta.Store }

var errAgain = errors.New("run it again")

func (s rerun) Update(ctx context.Context, fn func(meta.Tx) error) error {
	err := s.Store.Update(ctx, func(tx meta.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return errAgain
	})
	if !errors.Is(err, errAgain) {
		return err
	}
	return s.Store.Update(ctx, fn)
}

// TestRetriedTransactions: Record and Forget run twice per transaction
// (the first run thrown away) keep the numbers exact.
func TestRetriedTransactions(t *testing.T) {
	e := newHubEnv(t)
	e.store = rerun{e.store}
	d := digest.FromString("x")
	e.record("team/app", d, vuln("CVE-1", "p", "1", scan.SeverityCritical, 9), vuln("CVE-2", "q", "", scan.SeverityLow, 1))
	e.record("team/app", d, vuln("CVE-1", "p", "1", scan.SeverityCritical, 9))
	s := e.summary()
	if want := (Totals{Counts: Counts{Critical: 1}, Fixable: 1, Scanned: 1, Vulnerable: 1}); s.Totals != want {
		t.Errorf("totals %+v, want %+v", s.Totals, want)
	}
	e.forget("team/app", d)
	e.assertEmpty()
}

// TestForgetting: a manifest or a repository deleted through Forgetting's
// store leaves the hub in the deleting transaction.
func TestForgetting(t *testing.T) {
	e := newHubEnv(t)
	a, b, c := digest.FromString("a"), digest.FromString("b"), digest.FromString("c")
	e.update(func(tx meta.Tx) error {
		for repo, d := range map[string]digest.Digest{"team/app": a, "team/web": b, "ops/db": c} {
			if _, _, err := tx.Repositories().Ensure(repo); err != nil {
				return err
			}
			if err := tx.Manifests().Put(repo, imageManifest(d)); err != nil {
				return err
			}
			if err := Record(tx, Scan{Repository: repo, Digest: d, Vulnerabilities: []scan.Vulnerability{vuln("CVE-1", "p", "", scan.SeverityHigh, 7)}}); err != nil {
				return err
			}
		}
		return nil
	})
	e.store = Forgetting(e.store)
	e.update(func(tx meta.Tx) error { return tx.Manifests().Delete("team/app", a) })
	if s := e.summary(); s.Scanned != 2 || s.High != 2 {
		t.Errorf("after a manifest's delete: %+v", s.Totals)
	}
	e.update(func(tx meta.Tx) error { return tx.Repositories().Delete("team/web") })
	if s := e.summary(); s.Scanned != 1 || s.High != 1 || !slices.Equal(cveList(s), []string{"CVE-1 7.0 1"}) {
		t.Errorf("after a repository's delete: %+v", s.Totals)
	}
}
