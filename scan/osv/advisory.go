package osv

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/berthreg/berth/scan"
)

// Advisory is the part of an OSV record the matcher uses.
type Advisory struct {
	ID      string   `json:"id"`
	Aliases []string `json:"aliases,omitempty"`
	Summary string   `json:"summary,omitempty"`
	Details string   `json:"details,omitempty"`
	// Upstream names the records this one is derived from (the CVE a
	// distribution's per-CVE record describes).
	Upstream []string   `json:"upstream,omitempty"`
	Affected []Affected `json:"affected"`
	// Severity lists CVSS vectors (or a distribution's rating word).
	Severity   []Severity `json:"severity,omitempty"`
	References []struct {
		URL string `json:"url"`
	} `json:"references,omitempty"`
	DatabaseSpecific map[string]any `json:"database_specific,omitempty"`
	// Withdrawn, when set, is when the record was withdrawn: it matches
	// nothing.
	Withdrawn string `json:"withdrawn,omitempty"`
}

// Affected is one package an advisory affects, with the versions.
type Affected struct {
	Package struct {
		Ecosystem string `json:"ecosystem"`
		Name      string `json:"name"`
	} `json:"package"`
	Ranges []Range `json:"ranges,omitempty"`
	// Versions lists affected versions one by one.
	Versions []string `json:"versions,omitempty"`
	// Severity, when set, rates this package apart from the record.
	Severity          []Severity     `json:"severity,omitempty"`
	EcosystemSpecific map[string]any `json:"ecosystem_specific,omitempty"`
	DatabaseSpecific  map[string]any `json:"database_specific,omitempty"`
}

// Range is a version range: ECOSYSTEM or SEMVER events.
type Range struct {
	Type   string  `json:"type"`
	Events []Event `json:"events"`
}

// Event opens or closes a range.
type Event struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
}

// Parse decodes one OSV record and checks the fields the matcher needs.
func Parse(b []byte) (Advisory, error) {
	var a Advisory
	if err := json.Unmarshal(b, &a); err != nil {
		return a, fmt.Errorf("osv: %w", err)
	}
	if strings.TrimSpace(a.ID) == "" {
		return a, fmt.Errorf("osv: record without an id")
	}
	for i, af := range a.Affected {
		if af.Package.Ecosystem == "" || af.Package.Name == "" {
			return a, fmt.Errorf("osv: %s: affected[%d]: package ecosystem and name are required", a.ID, i)
		}
	}
	return a, nil
}

// severity is the advisory's severity word where the record states one
// (database_specific.severity, as GitHub's and several distributions'
// records do), else "".
func (a Advisory) severity(af Affected) string {
	for _, m := range []map[string]any{af.EcosystemSpecific, af.DatabaseSpecific, a.DatabaseSpecific} {
		if s, ok := m["severity"].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// vulnerability is what a match of a against p reports.
func vulnerability(a Advisory, af Affected, p Package, fix string) scan.Vulnerability {
	r := a.assess(af)
	v := scan.Vulnerability{ID: reportID(a), Package: p.Name, Version: p.Version, FixVersion: fix,
		Severity: r.severity, Description: cmp.Or(a.Summary, a.Details), PreferredCVSS: r.cvss}
	for _, ref := range a.References {
		v.Links = append(v.Links, ref.URL)
	}
	attrs := map[string]any{}
	if v.ID != a.ID {
		attrs["osv_id"] = a.ID
	}
	if r.source != "" {
		attrs["severity_source"] = r.source
	}
	if r.v4Vector != "" {
		attrs["cvss_v4"] = map[string]any{"score": r.v4Score, "vector": r.v4Vector}
	}
	if len(attrs) > 0 {
		v.VendorAttributes = attrs
	}
	return v
}

// reportID is the id a match is reported under: the CVE of a
// distribution's per-CVE record ("DEBIAN-CVE-2023-4911" →
// "CVE-2023-4911"), else the record's id.
func reportID(a Advisory) string {
	i := strings.Index(a.ID, "-CVE-")
	if i <= 0 {
		return a.ID
	}
	cve := a.ID[i+1:]
	if !isCVE(cve) {
		return a.ID
	}
	return cve
}

// isCVE reports an id of the form CVE-YYYY-NNNN….
func isCVE(s string) bool {
	year, num, ok := strings.Cut(strings.TrimPrefix(s, "CVE-"), "-")
	if !ok || !strings.HasPrefix(s, "CVE-") || len(year) != 4 || len(num) < 4 {
		return false
	}
	for _, c := range year + num {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
