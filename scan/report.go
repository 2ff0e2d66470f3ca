package scan

import "time"

// Severity is a vulnerability's severity on Harbor's scale.
type Severity string

// The severities, lowest first.
const (
	SeverityUnknown    Severity = "Unknown"
	SeverityNegligible Severity = "Negligible"
	SeverityLow        Severity = "Low"
	SeverityMedium     Severity = "Medium"
	SeverityHigh       Severity = "High"
	SeverityCritical   Severity = "Critical"
)

var severityRank = map[Severity]int{SeverityUnknown: 0, SeverityNegligible: 1, SeverityLow: 2, SeverityMedium: 3, SeverityHigh: 4, SeverityCritical: 5}

// Rank orders severities (Unknown 0 … Critical 5; unrecognized ones 0).
func (s Severity) Rank() int { return severityRank[s] }

// Valid reports a severity of Harbor's scale.
func (s Severity) Valid() bool { _, ok := severityRank[s]; return ok }

// VulnerabilityReport is Harbor's vulnerability report (MimeVulnReport).
type VulnerabilityReport struct {
	GeneratedAt time.Time `json:"generated_at"`
	Artifact    Artifact  `json:"artifact"`
	Scanner     Info      `json:"scanner"`
	// Severity is the highest of the vulnerabilities'.
	Severity        Severity        `json:"severity"`
	Vulnerabilities []Vulnerability `json:"vulnerabilities"`
}

// Vulnerability is one vulnerability of one package.
type Vulnerability struct {
	ID               string         `json:"id"`
	Package          string         `json:"package"`
	Version          string         `json:"version"`
	FixVersion       string         `json:"fix_version,omitempty"`
	Severity         Severity       `json:"severity"`
	Description      string         `json:"description,omitempty"`
	Links            []string       `json:"links,omitempty"`
	PreferredCVSS    *CVSS          `json:"preferred_cvss,omitempty"`
	CWEIDs           []string       `json:"cwe_ids,omitempty"`
	VendorAttributes map[string]any `json:"vendor_attributes,omitempty"`
}

// CVSS holds a vulnerability's CVSS scores and vectors.
type CVSS struct {
	ScoreV3  float64 `json:"score_v3,omitempty"`
	ScoreV2  float64 `json:"score_v2,omitempty"`
	VectorV3 string  `json:"vector_v3,omitempty"`
	VectorV2 string  `json:"vector_v2,omitempty"`
}

// SBOMReport wraps an SBOM (MimeSBOMReport).
type SBOMReport struct {
	GeneratedAt time.Time `json:"generated_at"`
	Artifact    Artifact  `json:"artifact"`
	Scanner     Info      `json:"scanner"`
	// MediaType is MimeSPDX or MimeCycloneDX.
	MediaType        string         `json:"media_type"`
	SBOM             map[string]any `json:"sbom"`
	VendorAttributes map[string]any `json:"vendor_attributes,omitempty"`
}

// Highest is the highest severity of vs (Unknown when there are none).
func Highest(vs []Vulnerability) Severity {
	top := SeverityUnknown
	for _, v := range vs {
		if v.Severity.Rank() > top.Rank() {
			top = v.Severity
		}
	}
	return top
}

// Overview is Harbor's scan overview of one artifact for one report type:
// what the artifact API's scan_overview and the scanning webhooks carry.
type Overview struct {
	ReportID        string          `json:"report_id,omitempty"`
	ScanStatus      string          `json:"scan_status"`
	Severity        Severity        `json:"severity,omitempty"`
	Duration        int64           `json:"duration"`
	Summary         *OverviewCounts `json:"summary,omitempty"`
	StartTime       time.Time       `json:"start_time,omitzero"`
	EndTime         time.Time       `json:"end_time,omitzero"`
	Scanner         *Info           `json:"scanner,omitempty"`
	CompletePercent int             `json:"complete_percent"`
}

// OverviewCounts counts an artifact's vulnerabilities.
type OverviewCounts struct {
	Total   int              `json:"total"`
	Fixable int              `json:"fixable"`
	Summary map[Severity]int `json:"summary"`
}
