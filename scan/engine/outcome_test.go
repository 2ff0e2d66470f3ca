package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/scan"
)

// TestJudge: what a scan attempt's error means for the job and the
// record.
func TestJudge(t *testing.T) {
	boom := errors.New("connection refused")
	for _, c := range []struct {
		name          string
		err           error
		canceled      bool
		attempts, max int
		want          verdict
	}{
		{"success", nil, false, 1, 3, verdict{outcome: outcomeDone}},
		{"success while canceled", nil, true, 1, 3, verdict{outcome: outcomeDone}},
		{"canceled", boom, true, 1, 3, verdict{outcome: outcomeInterrupted}},
		{"canceled on the last attempt", boom, true, 3, 3, verdict{outcome: outcomeInterrupted}},
		{"the artifact went", fmt.Errorf("x: %w", meta.ErrNotFound), false, 1, 3, verdict{outcome: outcomeGone}},
		{"a passing failure", boom, false, 1, 3, verdict{outcome: outcomeFailed}},
		{"the last attempt", boom, false, 3, 3, verdict{outcome: outcomeFailed, final: true}},
		{"no attempts set: one", boom, false, 1, 0, verdict{outcome: outcomeFailed, final: true}},
		{"a bad report", fmt.Errorf("x: %w", scan.ErrInvalid), false, 1, 3, verdict{outcome: outcomeFailed, final: true, permanent: true}},
		{"an unsupported artifact", fmt.Errorf("x: %w", scan.ErrUnsupported), false, 1, 3, verdict{outcome: outcomeFailed, final: true, permanent: true}},
		{"no such scanner", fmt.Errorf("%w %q", ErrUnknownScanner, "x"), false, 1, 3, verdict{outcome: outcomeFailed, final: true, permanent: true}},
		{"not an image", fmt.Errorf("%w: x", ErrNotScannable), false, 2, 3, verdict{outcome: outcomeFailed, final: true, permanent: true}},
	} {
		if got := judge(c.err, c.canceled, c.attempts, c.max); got != c.want {
			t.Errorf("%s: judge = %+v, want %+v", c.name, got, c.want)
		}
	}
}

// TestFailed: a failed attempt leaves its record Pending with a message
// while it is retried, Error when final, and a newer job's record alone.
func TestFailed(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	start := now.Add(-time.Minute)
	rec := ScanReport{Repository: "team/app", Digest: digest.FromString("a"), Status: ScanRunning, JobID: 7, StartTime: start}
	cause := errors.New("adapter down")
	for _, c := range []struct {
		name   string
		job    meta.Job
		final  bool
		ok     bool
		status ScanStatus
		msg    string
		end    time.Time
	}{
		{"retried", meta.Job{ID: 7, Attempts: 1, MaxAttempts: 3}, false, true, ScanPending, "attempt 1 of 3 failed, retrying: adapter down", time.Time{}},
		{"retried without a maximum", meta.Job{ID: 7, Attempts: 1}, false, true, ScanPending, "attempt 1 of 1 failed, retrying: adapter down", time.Time{}},
		{"final", meta.Job{ID: 7, Attempts: 3, MaxAttempts: 3}, true, true, ScanError, "adapter down", now},
		{"taken over", meta.Job{ID: 6, Attempts: 3, MaxAttempts: 3}, true, false, ScanRunning, "", time.Time{}},
	} {
		got, ok := failed(rec, c.job, cause, c.final, now)
		if ok != c.ok || got.Status != c.status || got.Message != c.msg || !got.EndTime.Equal(c.end) ||
			got.StartTime != start || got.JobID != 7 {
			t.Errorf("%s: failed = %+v, %v; want %s %q ending %v, %v", c.name, got, ok, c.status, c.msg, c.end, c.ok)
		}
	}
}

// TestSucceeded: a finished scan records its summary and referrers, and
// names the referrers of the scan before that the new ones replace.
func TestSucceeded(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	oldReport, oldSBOM := digest.FromString("old report"), digest.FromString("old sbom")
	newReport, newSBOM := digest.FromString("new report"), digest.FromString("new sbom")
	out := result{info: scan.Info{Name: "Trivy", Vendor: "Aqua", Version: "0.50"}, hasReport: true,
		report: scan.VulnerabilityReport{Vulnerabilities: []scan.Vulnerability{
			{ID: "CVE-1", Severity: scan.SeverityHigh, FixVersion: "2"},
			{ID: "CVE-2", Severity: scan.SeverityLow},
			{ID: "CVE-1", Severity: scan.SeverityMedium},
		}}}
	for _, c := range []struct {
		name      string
		before    ScanReport
		made      referrers
		wantStale []digest.Digest
	}{
		{"first scan", ScanReport{}, referrers{newReport, newSBOM}, nil},
		{"both replaced", ScanReport{Report: oldReport, SBOM: oldSBOM}, referrers{newReport, newSBOM}, []digest.Digest{oldReport, oldSBOM}},
		{"same report kept", ScanReport{Report: newReport, SBOM: oldSBOM}, referrers{newReport, newSBOM}, []digest.Digest{oldSBOM}},
		{"no SBOM this time", ScanReport{Report: oldReport, SBOM: oldSBOM}, referrers{report: newReport}, []digest.Digest{oldReport, oldSBOM}},
	} {
		before := c.before
		before.Repository, before.Digest, before.Status, before.Message, before.JobID = "team/app", digest.FromString("a"), ScanRunning, "retrying", 9
		got, stale := succeeded(before, out, c.made, now)
		if !slices.Equal(stale, c.wantStale) {
			t.Errorf("%s: stale %v, want %v", c.name, stale, c.wantStale)
		}
		if got.Status != ScanSuccess || got.Message != "" || !got.EndTime.Equal(now) || !got.ScannedAt.Equal(now) ||
			got.Report != c.made.report || got.SBOM != c.made.sbom || got.JobID != 9 ||
			got.ScannerName != "Trivy" || got.ScannerVendor != "Aqua" || got.ScannerVersion != "0.50" {
			t.Errorf("%s: record %+v", c.name, got)
		}
		if got.Severity != "High" || got.Counts["High"] != 1 || got.Counts["Low"] != 1 || got.Counts["Medium"] != 1 || got.Fixable != 1 ||
			!slices.Equal(got.Findings, []ScanFinding{{"CVE-1", "High"}, {"CVE-2", "Low"}}) {
			t.Errorf("%s: summary %+v", c.name, got)
		}
	}
	clean, _ := succeeded(ScanReport{}, result{}, referrers{}, now)
	if clean.Severity != "None" || len(clean.Findings) != 0 || len(clean.Counts) != 0 {
		t.Errorf("a clean scan: %+v", clean)
	}
}

// TestSBOMOf: an SBOM report yields its SBOM, in the format it names or
// else the one asked for; a report without an SBOM is an error.
func TestSBOMOf(t *testing.T) {
	for _, c := range []struct {
		name, body, asked string
		sbom, mediaType   string
		err               bool
	}{
		{"as asked", `{"sbom":{"spdxVersion":"SPDX-2.3"}}`, scan.MimeSPDX, `{"spdxVersion":"SPDX-2.3"}`, scan.MimeSPDX, false},
		{"its own format", `{"media_type":"` + scan.MimeCycloneDX + `","sbom":{"bomFormat":"CycloneDX"}}`, scan.MimeSPDX, `{"bomFormat":"CycloneDX"}`, scan.MimeCycloneDX, false},
		{"no sbom", `{"media_type":"x"}`, scan.MimeSPDX, "", "", true},
		{"not JSON", `<html>`, scan.MimeSPDX, "", "", true},
	} {
		sbom, mt, err := sbomOf([]byte(c.body), c.asked)
		if (err != nil) != c.err || string(sbom) != c.sbom || mt != c.mediaType {
			t.Errorf("%s: sbomOf = %s, %q, %v", c.name, sbom, mt, err)
		}
		if err != nil && !strings.Contains(err.Error(), "SBOM report without an sbom") {
			t.Errorf("%s: error %v", c.name, err)
		}
	}
}

// TestRequest: the scanner is asked for the reports its metadata
// promises: SPDX when it offers it, else its first SBOM format.
func TestRequest(t *testing.T) {
	vuln := scan.Capability{Type: scan.CapabilityVulnerability, ProducesMimeTypes: []string{scan.MimeVulnReport}}
	sbom := func(formats ...string) scan.Capability {
		return scan.Capability{Type: scan.CapabilitySBOM, ProducesMimeTypes: []string{scan.MimeSBOMReport},
			AdditionalAttributes: map[string][]string{"sbom_media_types": formats}}
	}
	p := payload{Repository: "team/app", Digest: digest.FromString("a")}
	m := meta.Manifest{Digest: p.Digest, MediaType: scan.MimeOCIManifest}
	for _, c := range []struct {
		name     string
		caps     []scan.Capability
		tags     []string
		wantCaps []string
		wantSBOM string
	}{
		{"vulnerabilities only", []scan.Capability{vuln}, []string{"v1", "latest"}, []string{scan.CapabilityVulnerability}, ""},
		{"SPDX preferred", []scan.Capability{vuln, sbom(scan.MimeCycloneDX, scan.MimeSPDX)}, nil, []string{scan.CapabilityVulnerability, scan.CapabilitySBOM}, scan.MimeSPDX},
		{"else the first", []scan.Capability{sbom(scan.MimeCycloneDX)}, nil, []string{scan.CapabilitySBOM}, scan.MimeCycloneDX},
		{"an SBOM without formats", []scan.Capability{sbom()}, nil, nil, ""},
		{"nothing", nil, nil, nil, ""},
	} {
		req, sbomType := request(scan.Metadata{Capabilities: c.caps}, "http://reg", p, m, c.tags)
		var caps []string
		for _, ec := range req.EnabledCapabilities {
			caps = append(caps, ec.Type)
		}
		if !slices.Equal(caps, c.wantCaps) || sbomType != c.wantSBOM || req.Registry.URL != "http://reg" ||
			req.Artifact.Repository != "team/app" || req.Artifact.Digest != p.Digest.String() {
			t.Errorf("%s: request %+v, SBOM %q", c.name, req, sbomType)
		}
		wantTag := ""
		if len(c.tags) > 0 {
			wantTag = c.tags[0]
		}
		if req.Artifact.Tag != wantTag {
			t.Errorf("%s: tag %q, want %q", c.name, req.Artifact.Tag, wantTag)
		}
		if c.wantSBOM != "" {
			raw, _ := json.Marshal(req.EnabledCapabilities[len(req.EnabledCapabilities)-1].Parameters)
			if !strings.Contains(string(raw), c.wantSBOM) {
				t.Errorf("%s: SBOM parameters %s", c.name, raw)
			}
		}
	}
}
