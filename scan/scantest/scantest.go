package scantest

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/berthreg/berth/scan"
)

// Run checks s: its metadata, refusals of a bad request and an unknown
// scan id, and that scanning req yields every report its metadata
// promises, well-formed and about the requested artifact. check, when
// set, gets the vulnerability report for the implementation's own
// assertions.
func Run(t *testing.T, s scan.Scanner, req scan.Request, check func(*testing.T, scan.VulnerabilityReport)) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var meta scan.Metadata
	t.Run("Metadata", func(t *testing.T) {
		var err error
		if meta, err = s.Metadata(ctx); err != nil {
			t.Fatal(err)
		}
		if meta.Scanner.Name == "" || meta.Scanner.Version == "" {
			t.Errorf("scanner name and version are required: %+v", meta.Scanner)
		}
		if len(meta.Capabilities) == 0 {
			t.Fatal("no capabilities")
		}
		for _, c := range meta.Capabilities {
			if len(c.ConsumesMimeTypes) == 0 || len(c.ProducesMimeTypes) == 0 {
				t.Errorf("capability %+v consumes or produces nothing", c)
			}
			if c.Type == scan.CapabilitySBOM && len(c.AdditionalAttributes["sbom_media_types"]) == 0 {
				t.Errorf("SBOM capability %+v names no sbom_media_types", c)
			}
		}
	})
	t.Run("Refusals", func(t *testing.T) {
		bad := req
		bad.Artifact.Digest = ""
		if _, err := s.Scan(ctx, bad); !errors.Is(err, scan.ErrInvalid) {
			t.Errorf("a request without a digest: %v, want scan.ErrInvalid", err)
		}
		if _, err := s.Report(ctx, "no-such-scan", scan.MimeVulnReport, ""); !errors.Is(err, scan.ErrUnknownScan) {
			t.Errorf("an unknown scan id: %v, want scan.ErrUnknownScan", err)
		}
	})
	t.Run("Reports", func(t *testing.T) {
		id, err := s.Scan(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if id == "" {
			t.Fatal("empty scan id")
		}
		if _, err := s.Report(ctx, id, "application/x-no-such-report", ""); !errors.Is(err, scan.ErrUnsupported) {
			var nr *scan.NotReady
			if !errors.As(err, &nr) { // a scanner may say "not ready" before it knows
				t.Errorf("an unsupported report type: %v, want scan.ErrUnsupported", err)
			}
		}
		for _, c := range meta.Capabilities {
			for _, mt := range c.ProducesMimeTypes {
				sbomTypes := []string{""}
				if mt == scan.MimeSBOMReport {
					sbomTypes = c.AdditionalAttributes["sbom_media_types"]
				}
				for _, st := range sbomTypes {
					b, err := scan.Wait(ctx, s, id, mt, st)
					if err != nil {
						t.Errorf("report %s %s: %v", mt, st, err)
						continue
					}
					checkReport(t, req, mt, st, b, check)
				}
			}
		}
	})
}

func checkReport(t *testing.T, req scan.Request, mimeType, sbomType string, b []byte, check func(*testing.T, scan.VulnerabilityReport)) {
	t.Helper()
	switch mimeType {
	case scan.MimeVulnReport, scan.MimeHarborVulnReport:
		var r scan.VulnerabilityReport
		if err := json.Unmarshal(b, &r); err != nil {
			t.Errorf("%s: %v", mimeType, err)
			return
		}
		if r.Artifact.Digest != req.Artifact.Digest || r.Artifact.Repository != req.Artifact.Repository {
			t.Errorf("%s names %+v, not the scanned artifact", mimeType, r.Artifact)
		}
		if r.GeneratedAt.IsZero() || r.Scanner.Name == "" {
			t.Errorf("%s lacks generated_at or the scanner", mimeType)
		}
		for _, v := range r.Vulnerabilities {
			if v.ID == "" || v.Package == "" || !v.Severity.Valid() {
				t.Errorf("%s: malformed vulnerability %+v", mimeType, v)
			}
		}
		if len(r.Vulnerabilities) > 0 && r.Severity != scan.Highest(r.Vulnerabilities) {
			t.Errorf("%s: severity %s, but the highest is %s", mimeType, r.Severity, scan.Highest(r.Vulnerabilities))
		}
		if check != nil {
			check(t, r)
		}
	case scan.MimeSBOMReport:
		var r scan.SBOMReport
		if err := json.Unmarshal(b, &r); err != nil {
			t.Errorf("%s: %v", mimeType, err)
			return
		}
		if r.MediaType != sbomType || len(r.SBOM) == 0 {
			t.Errorf("SBOM report %s: media_type %q with %d fields", sbomType, r.MediaType, len(r.SBOM))
		}
		if !slices.Contains([]string{scan.MimeSPDX, scan.MimeCycloneDX}, r.MediaType) {
			t.Errorf("SBOM format %q", r.MediaType)
		}
	default:
		if !json.Valid(b) {
			t.Errorf("%s: not JSON", mimeType)
		}
	}
}
