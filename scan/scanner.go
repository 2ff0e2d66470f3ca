package scan

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// MIME types of the Harbor Pluggable Scanner API v1.2 that Berth uses.
const (
	// MimeOCIManifest and MimeDockerManifest are the artifacts scanners
	// consume.
	MimeOCIManifest    = "application/vnd.oci.image.manifest.v1+json"
	MimeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	// MimeVulnReport is the vulnerability report (Harbor's v1.1 format).
	MimeVulnReport = "application/vnd.security.vulnerability.report; version=1.1"
	// MimeHarborVulnReport is the same report under its v1.0 name.
	MimeHarborVulnReport = "application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0"
	// MimeSBOMReport wraps an SBOM (SPDX or CycloneDX JSON).
	MimeSBOMReport = "application/vnd.security.sbom.report+json; version=1.0"
	// MimeSPDX and MimeCycloneDX are the SBOM formats.
	MimeSPDX      = "application/spdx+json"
	MimeCycloneDX = "application/vnd.cyclonedx+json"
)

// Capability types.
const (
	CapabilityVulnerability = "vulnerability"
	CapabilitySBOM          = "sbom"
)

// Scanner is a vulnerability or SBOM scanner: the built-in one, a Harbor
// scanner adapter reached over HTTP (pluggable.Client), or a plugin
// author's. scantest.Run checks an implementation.
type Scanner interface {
	// Metadata describes the scanner and what it can do.
	Metadata(ctx context.Context) (Metadata, error)
	// Scan starts scanning an artifact and returns the id its reports
	// are fetched with. It may return before the scan is done.
	Scan(ctx context.Context, req Request) (string, error)
	// Report returns the report of type mimeType for scan id (for
	// MimeSBOMReport, sbomType says the SBOM format): the report's JSON.
	// While the report is being made it returns a *NotReady error;
	// ErrUnknownScan when id is unknown; ErrUnsupported when the scanner
	// cannot make that report.
	Report(ctx context.Context, id, mimeType, sbomType string) ([]byte, error)
}

// Metadata is what a scanner says about itself.
type Metadata struct {
	Scanner      Info              `json:"scanner"`
	Capabilities []Capability      `json:"capabilities"`
	Properties   map[string]string `json:"properties,omitempty"`
}

// Info names a scanner.
type Info struct {
	Name    string `json:"name"`
	Vendor  string `json:"vendor"`
	Version string `json:"version"`
}

// Capability is a kind of report a scanner makes from kinds of artifacts.
type Capability struct {
	// Type is CapabilityVulnerability or CapabilitySBOM ("" means
	// vulnerability, as in the API's first version).
	Type string `json:"type,omitempty"`
	// ConsumesMimeTypes are the artifact manifest types it reads.
	ConsumesMimeTypes []string `json:"consumes_mime_types"`
	// ProducesMimeTypes are the report types it makes.
	ProducesMimeTypes []string `json:"produces_mime_types"`
	// AdditionalAttributes carries sbom_media_types for SBOM scanners.
	AdditionalAttributes map[string][]string `json:"additional_attributes,omitempty"`
}

// Produces reports whether m says the scanner makes reports of type
// mimeType.
func (m Metadata) Produces(mimeType string) bool {
	for _, c := range m.Capabilities {
		for _, p := range c.ProducesMimeTypes {
			if p == mimeType {
				return true
			}
		}
	}
	return false
}

// Request says what to scan and how to pull it.
type Request struct {
	Registry Registry `json:"registry"`
	Artifact Artifact `json:"artifact"`
	// EnabledCapabilities, when set, limits the reports to make.
	EnabledCapabilities []EnabledCapability `json:"enabled_capabilities,omitempty"`
}

// Registry is where the scanner pulls the artifact from.
type Registry struct {
	// URL is the registry's base URL.
	URL string `json:"url"`
	// Authorization is the Authorization header to pull with: short-lived,
	// pull-only for the one repository.
	Authorization string `json:"authorization,omitempty"`
}

// Artifact names the artifact scanned.
type Artifact struct {
	Repository string `json:"repository"`
	Digest     string `json:"digest"`
	Tag        string `json:"tag,omitempty"`
	MimeType   string `json:"mime_type,omitempty"`
}

// EnabledCapability asks for one kind of report.
type EnabledCapability struct {
	Type              string   `json:"type"`
	ProducesMimeTypes []string `json:"produces_mime_types,omitempty"`
	Parameters        *struct {
		SBOMMediaTypes []string `json:"sbom_media_types,omitempty"`
	} `json:"parameters,omitempty"`
}

// Check reports what is missing from a request, naming the field.
func (r Request) Check() error {
	switch {
	case r.Registry.URL == "":
		return errors.New("registry.url: required")
	case r.Artifact.Repository == "":
		return errors.New("artifact.repository: required")
	case r.Artifact.Digest == "":
		return errors.New("artifact.digest: required")
	}
	return nil
}

// NotReady is the error of a report still being made.
type NotReady struct {
	// RetryAfter is when to ask again.
	RetryAfter time.Duration
}

// Error implements error.
func (e *NotReady) Error() string {
	return fmt.Sprintf("scan: report not ready; retry after %s", e.RetryAfter)
}

// Errors scanners return.
var (
	ErrUnknownScan = errors.New("scan: unknown scan id")
	ErrUnsupported = errors.New("scan: the scanner cannot make that report")
	// ErrInvalid wraps a request the scanner refuses (bad fields).
	ErrInvalid = errors.New("scan: invalid request")
)
