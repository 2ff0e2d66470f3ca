package scan

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Gate is a project's pull gate: which artifacts may be pulled, given
// their vulnerability reports.
type Gate struct {
	// DenyAt, when set, refuses artifacts with a vulnerability of this
	// severity or higher that the allowlist does not cover.
	DenyAt Severity `json:"denyAt,omitempty"`
	// Allowlist names vulnerabilities that do not count, each until its
	// expiry (zero: for ever).
	Allowlist []Allowed `json:"allowlist,omitempty"`
	// DenyUnscanned refuses artifacts without a finished scan.
	DenyUnscanned bool `json:"denyUnscanned,omitempty"`
}

// Allowed is an allowlist entry.
type Allowed struct {
	// ID is the vulnerability's id ("CVE-2024-1234"), compared without
	// regard to case.
	ID string `json:"id"`
	// ExpiresAt ends the entry (zero: never).
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
}

// Check reports what is wrong with a gate, naming the field.
func (g Gate) Check() error {
	if g.DenyAt != "" && !g.DenyAt.Valid() {
		return fmt.Errorf("denyAt: %q is not a severity (Unknown, Negligible, Low, Medium, High, Critical)", g.DenyAt)
	}
	for i, a := range g.Allowlist {
		if strings.TrimSpace(a.ID) == "" {
			return fmt.Errorf("allowlist[%d].id: required", i)
		}
	}
	return nil
}

// allows reports whether the allowlist covers id at now.
func (g Gate) allows(id string, now time.Time) bool {
	return slices.ContainsFunc(g.Allowlist, func(a Allowed) bool {
		return strings.EqualFold(a.ID, id) && (a.ExpiresAt.IsZero() || now.Before(a.ExpiresAt))
	})
}

// Decide says whether an artifact whose report is r (nil: not scanned)
// may be pulled at now, and if not, why (naming the vulnerabilities).
func (g Gate) Decide(r *VulnerabilityReport, now time.Time) (bool, string) {
	if r == nil {
		if g.DenyUnscanned {
			return false, "the artifact has not been scanned"
		}
		return true, ""
	}
	if g.DenyAt == "" {
		return true, ""
	}
	var blocking []string
	for _, v := range r.Vulnerabilities {
		if v.Severity.Rank() >= g.DenyAt.Rank() && !g.allows(v.ID, now) {
			blocking = append(blocking, v.ID+" ("+string(v.Severity)+")")
		}
	}
	if len(blocking) == 0 {
		return true, ""
	}
	slices.Sort(blocking)
	blocking = slices.Compact(blocking)
	const shown = 5
	more := ""
	if len(blocking) > shown {
		more = fmt.Sprintf(" and %d more", len(blocking)-shown)
		blocking = blocking[:shown]
	}
	return false, fmt.Sprintf("vulnerabilities of severity %s or higher: %s%s", g.DenyAt, strings.Join(blocking, ", "), more)
}
