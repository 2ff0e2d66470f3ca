package builtin_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/berthreg/berth/registrytest"
	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/builtin"
)

// TestMetadata: both capabilities, and the database's size and load
// time among the properties.
func TestMetadata(t *testing.T) {
	db := testDB(t)
	s := builtin.New(db)
	defer s.Close()
	m, err := s.Metadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !m.Produces(scan.MimeVulnReport) || !m.Produces(scan.MimeSBOMReport) || m.Scanner.Name != builtin.Name || m.Scanner.Version == "" {
		t.Errorf("metadata %+v", m)
	}
	for _, c := range m.Capabilities {
		if len(c.ConsumesMimeTypes) != 2 || c.ConsumesMimeTypes[0] != scan.MimeOCIManifest || c.ConsumesMimeTypes[1] != scan.MimeDockerManifest {
			t.Errorf("%s consumes %v", c.Type, c.ConsumesMimeTypes)
		}
	}
	p := m.Properties
	if p["berth.osv/advisories"] != strconv.Itoa(db.Len()) || db.Len() != 14 || p["env.BERTH_OSV_DB"] != "testdata/osv" {
		t.Errorf("properties %v (database of %d)", p, db.Len())
	}
	at, err := time.Parse(time.RFC3339, p["harbor.scanner-adapter/vulnerability-database-updated-at"])
	if err != nil || at.Unix() != db.LoadedAt().Unix() || p["berth.osv/loaded-at"] == "" {
		t.Errorf("load time %q (%v), want %v", p["harbor.scanner-adapter/vulnerability-database-updated-at"], err, db.LoadedAt())
	}
}

// TestEnabledCapabilities: only the reports a request asks for are made;
// the others are scan.ErrUnsupported, as are kinds the scanner lacks.
func TestEnabledCapabilities(t *testing.T) {
	reg := registrytest.New(t)
	req := request(reg.URL, "team/app", push(t, reg.Host, "team/app", image(t, true, alpineFiles)))
	s := newScanner(t)
	ctx := context.Background()
	spdxOnly := req
	spdxOnly.EnabledCapabilities = []scan.EnabledCapability{{Type: scan.CapabilitySBOM}}
	spdxOnly.EnabledCapabilities[0].Parameters = &struct {
		SBOMMediaTypes []string `json:"sbom_media_types,omitempty"`
	}{SBOMMediaTypes: []string{scan.MimeSPDX}}
	vulnOnly := req
	vulnOnly.EnabledCapabilities = []scan.EnabledCapability{{Type: scan.CapabilityVulnerability, ProducesMimeTypes: []string{scan.MimeVulnReport}}}

	for _, c := range []struct {
		name      string
		req       scan.Request
		made, not [][2]string
	}{
		{"sbom", spdxOnly, [][2]string{{scan.MimeSBOMReport, scan.MimeSPDX}}, [][2]string{{scan.MimeVulnReport, ""}, {scan.MimeSBOMReport, scan.MimeCycloneDX}}},
		{"vulnerability", vulnOnly, [][2]string{{scan.MimeVulnReport, ""}, {scan.MimeHarborVulnReport, ""}}, [][2]string{{scan.MimeSBOMReport, scan.MimeSPDX}, {scan.MimeSBOMReport, scan.MimeCycloneDX}}},
	} {
		id, err := s.Scan(ctx, c.req)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range c.made {
			if _, err := scan.Wait(ctx, s, id, r[0], r[1]); err != nil {
				t.Errorf("%s: %s %s: %v", c.name, r[0], r[1], err)
			}
		}
		for _, r := range c.not {
			if _, err := s.Report(ctx, id, r[0], r[1]); !errors.Is(err, scan.ErrUnsupported) {
				t.Errorf("%s: %s %s not asked for: %v, want scan.ErrUnsupported", c.name, r[0], r[1], err)
			}
		}
	}
	for _, ec := range []scan.EnabledCapability{{Type: "secrets"}, {Type: scan.CapabilityVulnerability, ProducesMimeTypes: []string{"application/x-other"}}} {
		bad := req
		bad.EnabledCapabilities = []scan.EnabledCapability{ec}
		if _, err := s.Scan(ctx, bad); !errors.Is(err, scan.ErrUnsupported) {
			t.Errorf("capability %+v: %v, want scan.ErrUnsupported", ec, err)
		}
	}
	index := req
	index.Artifact.MimeType = "application/vnd.oci.image.index.v1+json"
	if _, err := s.Scan(ctx, index); !errors.Is(err, scan.ErrUnsupported) {
		t.Errorf("an image index: %v, want scan.ErrUnsupported", err)
	}
}

// TestRetentionAndClose: finished scans are forgotten after the
// retention window; Close stops the scanner.
func TestRetentionAndClose(t *testing.T) {
	reg := registrytest.New(t)
	req := request(reg.URL, "team/app", push(t, reg.Host, "team/app", image(t, true, alpineFiles)))
	s := builtin.New(testDB(t), builtin.WithRetention(200*time.Millisecond), builtin.WithRetryAfter(10*time.Millisecond))
	defer s.Close()
	ctx := context.Background()
	id, err := s.Scan(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Report(ctx, id, scan.MimeVulnReport, ""); err == nil {
		t.Log("the scan finished before the first poll")
	} else if nr := (*scan.NotReady)(nil); !errors.As(err, &nr) || nr.RetryAfter != 10*time.Millisecond {
		t.Errorf("first poll: %v, want *scan.NotReady", err)
	}
	if _, err := scan.Wait(ctx, s, id, scan.MimeVulnReport, ""); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if _, err := s.Report(ctx, id, scan.MimeVulnReport, ""); !errors.Is(err, scan.ErrUnknownScan) {
		t.Errorf("after the retention window: %v, want scan.ErrUnknownScan", err)
	}
	if _, err := s.Report(ctx, "nope", scan.MimeVulnReport, ""); !errors.Is(err, scan.ErrUnknownScan) {
		t.Errorf("unknown id: %v", err)
	}
	if _, err := s.Report(ctx, id, "application/x-nope", ""); !errors.Is(err, scan.ErrUnsupported) {
		t.Errorf("unknown report type: %v", err)
	}

	// A scan still waiting for its turn when the scanner closes ends with
	// an error; Close waits for the background work.
	slowStart := builtin.New(testDB(t), builtin.WithConcurrency(1))
	first, _ := slowStart.Scan(ctx, req)
	second, _ := slowStart.Scan(ctx, req)
	if err := slowStart.Close(); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{first, second} {
		if _, err := slowStart.Report(ctx, id, scan.MimeVulnReport, ""); err != nil && errors.As(err, new(*scan.NotReady)) {
			t.Errorf("scan %s still running after Close", id)
		}
	}
	if _, err := slowStart.Scan(ctx, req); !errors.Is(err, builtin.ErrClosed) {
		t.Errorf("Scan after Close: %v, want ErrClosed", err)
	}
}
