package engine

import (
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// Scanners holds the scanner registrations, keyed by name.
var Scanners = meta.RecordType[ScannerRegistration]{Kind: "scanners", Key: func(r ScannerRegistration) string { return r.Name }}

// Reports holds the artifacts' latest scans, keyed by ScanReportKey.
var Reports = meta.RecordType[ScanReport]{Kind: "scanReports", Key: ScanReport.Key}

// ScannerRegistration is a vulnerability scanner the registry can use: a
// Harbor scanner adapter reached over the Pluggable Scanner API, by URL.
// (Scanners built into the host are not stored: the host names them.)
type ScannerRegistration struct {
	// Name identifies the registration.
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// URL is the adapter's base address (its API is under /api/v1).
	URL string `json:"url"`
	// Auth is how to authenticate to the adapter: "" (none), "Basic",
	// "Bearer" or "X-ScannerAdapter-API-Key"; AccessCredential is the
	// secret ("user:password" for Basic).
	Auth             string `json:"auth,omitempty"`
	AccessCredential string `json:"accessCredential,omitempty"`
	// SkipCertVerify accepts any TLS certificate from the adapter.
	SkipCertVerify bool `json:"skipCertVerify,omitempty"`
	// UseInternalAddr gives the adapter the registry's internal address
	// rather than its external one.
	UseInternalAddr bool `json:"useInternalAddr,omitempty"`
	// Disabled registrations are not used.
	Disabled bool `json:"disabled,omitempty"`
	// CreatedAt and UpdatedAt bound the record's life.
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// ScanStatus is where an artifact's scan stands (Harbor's words).
type ScanStatus string

// The scan statuses.
const (
	ScanPending ScanStatus = "Pending"
	ScanRunning ScanStatus = "Running"
	ScanSuccess ScanStatus = "Success"
	ScanError   ScanStatus = "Error"
)

// ScanReport is the latest scan of one artifact: its status, its summary,
// the findings a pull gate needs, and where the full reports are (OCI
// referrers of the artifact).
type ScanReport struct {
	// Repository and Digest name the artifact; the key is
	// ScanReportKey(Repository, Digest).
	Repository string        `json:"repository"`
	Digest     digest.Digest `json:"digest"`
	// Scanner is the registration that scanned it; ScannerName,
	// ScannerVendor and ScannerVersion are what the scanner said it is.
	Scanner        string `json:"scanner,omitempty"`
	ScannerName    string `json:"scannerName,omitempty"`
	ScannerVendor  string `json:"scannerVendor,omitempty"`
	ScannerVersion string `json:"scannerVersion,omitempty"`
	// Status is where the scan stands; Message says why it failed.
	Status  ScanStatus `json:"status"`
	Message string     `json:"message,omitempty"`
	// JobID is the job running or that ran the scan.
	JobID uint64 `json:"jobId,omitempty"`
	// Severity is the highest severity found; Counts the number of
	// vulnerabilities per severity; Fixable how many have a fix.
	Severity string         `json:"severity,omitempty"`
	Counts   map[string]int `json:"counts,omitempty"`
	Fixable  int            `json:"fixable,omitempty"`
	// Findings are the vulnerabilities found (id and severity).
	Findings []ScanFinding `json:"findings,omitempty"`
	// ScannedAt is when the summary and findings were made: they stay
	// while a rescan runs or fails (zero: never scanned successfully).
	ScannedAt time.Time `json:"scannedAt,omitzero"`
	// Report and SBOM are the digests of the referrers holding the
	// vulnerability report and the SBOM (empty when not made).
	Report digest.Digest `json:"report,omitempty"`
	SBOM   digest.Digest `json:"sbom,omitempty"`
	// StartTime and EndTime bound the last scan.
	StartTime time.Time `json:"startTime,omitzero"`
	EndTime   time.Time `json:"endTime,omitzero"`
}

// ScanFinding is one vulnerability found in an artifact.
type ScanFinding struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
}

// Key is the record's key in the table.
func (r ScanReport) Key() string {
	if r.Repository == "" || r.Digest == "" {
		return ""
	}
	return ScanReportKey(r.Repository, r.Digest)
}

// ScanReportKey is the table key of the scan of d in repo.
func ScanReportKey(repo string, d digest.Digest) string { return repo + "@" + d.String() }
