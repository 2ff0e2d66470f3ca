package engine_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/meta/metatest"
	"github.com/berthreg/berth/scan/engine"
)

// TestRecordTypes round-trips every field of the engine's records through
// the bbolt backend, with the record-type checks of metatest.
func TestRecordTypes(t *testing.T) {
	s := testbolt.Open(t)
	metatest.RecordType(t, s, engine.Scanners, engine.ScannerRegistration{Name: "trivy", Description: "Trivy adapter",
		URL: "http://trivy:8080", Auth: "Bearer", AccessCredential: "secret", SkipCertVerify: true, UseInternalAddr: true,
		Disabled: true, CreatedAt: metatest.At(20), UpdatedAt: metatest.At(21)},
		func(v engine.ScannerRegistration, i int) engine.ScannerRegistration {
			v.Auth = ""
			if i > 0 {
				v.Name = fmt.Sprintf("scanner-%02d", i)
			}
			return v
		})
	report := engine.ScanReport{Repository: "team/app", Digest: digest.Digest("sha256:" + strings.Repeat("b", 64)), Scanner: "builtin",
		ScannerName: "berth", ScannerVendor: "Berth", ScannerVersion: "1", Status: engine.ScanError, Message: "pull failed", JobID: 45, Severity: "High",
		Counts: map[string]int{"High": 1, "Low": 2}, Fixable: 2,
		Findings: []engine.ScanFinding{{ID: "CVE-2023-5363", Severity: "High"}, {ID: "CVE-2023-5678", Severity: "Low"}},
		Report:   digest.Digest("sha256:" + strings.Repeat("c", 64)), SBOM: digest.Digest("sha256:" + strings.Repeat("d", 64)),
		StartTime: metatest.At(22), EndTime: metatest.At(23), ScannedAt: metatest.At(24)}
	metatest.RecordType(t, s, engine.Reports, report, func(v engine.ScanReport, i int) engine.ScanReport {
		v.Status, v.Findings = engine.ScanSuccess, nil
		if i > 0 {
			v.Repository = fmt.Sprintf("team/app-%02d", i)
		}
		return v
	})
}

// TestReportKeysOrderByRepository: a report without a digest has no key,
// and an artifact's key sorts by repository, then digest.
func TestReportKeysOrderByRepository(t *testing.T) {
	if k := (engine.ScanReport{Repository: "team/app"}).Key(); k != "" {
		t.Errorf("key of a report without a digest = %q, want none", k)
	}
	d := digest.Digest("sha256:" + strings.Repeat("0", 64))
	if a, b := engine.ScanReportKey("team/api", d), engine.ScanReportKey("team/app", d); a >= b {
		t.Errorf("keys %q and %q out of repository order", a, b)
	}
}
