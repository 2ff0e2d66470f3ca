package scan

import (
	"strings"
	"testing"
	"time"
)

func TestGate(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	report := &VulnerabilityReport{Vulnerabilities: []Vulnerability{
		{ID: "CVE-2024-0001", Package: "openssl", Severity: SeverityHigh},
		{ID: "CVE-2024-0002", Package: "zlib", Severity: SeverityMedium},
		{ID: "CVE-2024-0003", Package: "libc", Severity: SeverityCritical},
	}}
	for _, c := range []struct {
		name   string
		gate   Gate
		report *VulnerabilityReport
		allow  bool
		says   string
	}{
		{"no gate", Gate{}, report, true, ""},
		{"high blocks", Gate{DenyAt: SeverityHigh}, report, false, "CVE-2024-0001 (High), CVE-2024-0003 (Critical)"},
		{"critical only", Gate{DenyAt: SeverityCritical}, report, false, "CVE-2024-0003 (Critical)"},
		{"allowlisted", Gate{DenyAt: SeverityHigh, Allowlist: []Allowed{{ID: "cve-2024-0001"}, {ID: "CVE-2024-0003", ExpiresAt: now.Add(time.Hour)}}}, report, true, ""},
		{"expired entry", Gate{DenyAt: SeverityHigh, Allowlist: []Allowed{{ID: "CVE-2024-0001"}, {ID: "CVE-2024-0003", ExpiresAt: now.Add(-time.Second)}}}, report, false, "CVE-2024-0003"},
		{"unscanned allowed", Gate{DenyAt: SeverityHigh}, nil, true, ""},
		{"unscanned denied", Gate{DenyUnscanned: true}, nil, false, "not been scanned"},
		{"clean report", Gate{DenyAt: SeverityLow, DenyUnscanned: true}, &VulnerabilityReport{}, true, ""},
	} {
		allow, why := c.gate.Decide(c.report, now)
		if allow != c.allow || !strings.Contains(why, c.says) || (allow && why != "") {
			t.Errorf("%s: %v %q, want %v mentioning %q", c.name, allow, why, c.allow, c.says)
		}
	}
	if err := (Gate{DenyAt: "Severe"}).Check(); err == nil || !strings.HasPrefix(err.Error(), "denyAt:") {
		t.Errorf("a bad severity: %v", err)
	}
	if err := (Gate{Allowlist: []Allowed{{ID: " "}}}).Check(); err == nil || !strings.HasPrefix(err.Error(), "allowlist[0].id:") {
		t.Errorf("an empty allowlist id: %v", err)
	}
}
