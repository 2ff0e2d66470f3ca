package osv

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Advisory is the part of an OSV record the matcher uses.
type Advisory struct {
	ID       string     `json:"id"`
	Aliases  []string   `json:"aliases,omitempty"`
	Summary  string     `json:"summary,omitempty"`
	Details  string     `json:"details,omitempty"`
	Affected []Affected `json:"affected"`
	Severity []struct {
		Type  string `json:"type"`
		Score string `json:"score"`
	} `json:"severity,omitempty"`
	References []struct {
		URL string `json:"url"`
	} `json:"references,omitempty"`
	DatabaseSpecific map[string]any `json:"database_specific,omitempty"`
}

// Affected is one package an advisory affects, with the versions.
type Affected struct {
	Package struct {
		Ecosystem string `json:"ecosystem"`
		Name      string `json:"name"`
	} `json:"package"`
	Ranges []Range `json:"ranges,omitempty"`
	// Versions lists affected versions one by one.
	Versions          []string       `json:"versions,omitempty"`
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
