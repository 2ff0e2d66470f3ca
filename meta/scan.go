package meta

import (
	"time"
)

// ProjectScan is a project's scanning settings.
type ProjectScan struct {
	// AutoScan scans every image pushed to the project.
	AutoScan bool `json:"autoScan,omitempty"`
	// Scanner names the registration the project uses ("": the default).
	Scanner string `json:"scanner,omitempty"`
	// PreventVulnerable refuses pulls of images with a vulnerability of
	// Severity or higher that the allowlist does not cover.
	PreventVulnerable bool   `json:"preventVulnerable,omitempty"`
	Severity          string `json:"severity,omitempty"`
	// DenyUnscanned refuses pulls of images without a finished scan.
	DenyUnscanned bool `json:"denyUnscanned,omitempty"`
	// Allowlist names vulnerabilities that do not count.
	Allowlist []AllowedVulnerability `json:"allowlist,omitempty"`
}

// AllowedVulnerability is an allowlist entry.
type AllowedVulnerability struct {
	// ID is the vulnerability's id ("CVE-2024-1234").
	ID string `json:"id"`
	// ExpiresAt ends the entry (zero: never).
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
}
