package api

import (
	"strconv"
	"strings"
	"time"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/scan"
)

// cveAllowlist is Harbor's CVEAllowlist: items and one expiry for all of
// them (seconds since the epoch; absent or 0: never), with Berth's
// per-item expires_at.
type cveAllowlist struct {
	ExpiresAt *int64             `json:"expires_at,omitempty"`
	Items     []cveAllowlistItem `json:"items"`
}

type cveAllowlistItem struct {
	CVEID     string `json:"cve_id"`
	ExpiresAt int64  `json:"expires_at,omitempty"`
}

func toCVEAllowlist(list []accounts.AllowedVulnerability) *cveAllowlist {
	if len(list) == 0 {
		return nil
	}
	out := &cveAllowlist{Items: []cveAllowlistItem{}}
	for _, a := range list {
		it := cveAllowlistItem{CVEID: a.ID}
		if !a.ExpiresAt.IsZero() {
			it.ExpiresAt = a.ExpiresAt.Unix()
		}
		out.Items = append(out.Items, it)
	}
	return out
}

// scanMetadata adds a project's scanning settings to its metadata.
func scanMetadata(md projectMetadata, ps accounts.ProjectScan) projectMetadata {
	md.AutoScan = strconv.FormatBool(ps.AutoScan)
	md.PreventVul = strconv.FormatBool(ps.PreventVulnerable)
	md.PreventUnscanned = strconv.FormatBool(ps.DenyUnscanned)
	if ps.Severity != "" {
		md.Severity = strings.ToLower(ps.Severity)
	}
	return md
}

// scanChange is what a project request changes in the scanning settings
// (nil: nothing), or a 400 naming the field at fault.
func (r projectReq) scanChange() (func(*accounts.ProjectScan), error) {
	var changes []func(*accounts.ProjectScan)
	flag := func(field, v string, set func(*accounts.ProjectScan, bool)) error {
		if v == "" {
			return nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return badRequest("metadata.%s: %q is not \"true\" or \"false\"", field, v)
		}
		changes = append(changes, func(ps *accounts.ProjectScan) { set(ps, b) })
		return nil
	}
	if md := r.Metadata; md != nil {
		if err := flag("auto_scan", md.AutoScan, func(ps *accounts.ProjectScan, b bool) { ps.AutoScan = b }); err != nil {
			return nil, err
		}
		if err := flag("prevent_vul", md.PreventVul, func(ps *accounts.ProjectScan, b bool) { ps.PreventVulnerable = b }); err != nil {
			return nil, err
		}
		if err := flag("prevent_unscanned", md.PreventUnscanned, func(ps *accounts.ProjectScan, b bool) { ps.DenyUnscanned = b }); err != nil {
			return nil, err
		}
		if err := flag("reuse_sys_cve_allowlist", md.ReuseSysCVEAllowlist, func(*accounts.ProjectScan, bool) {}); err != nil {
			return nil, err
		}
		if md.Severity != "" {
			sev, ok := severityNamed(md.Severity)
			if !ok {
				return nil, badRequest("metadata.severity: %q is not one of none, low, medium, high, critical", md.Severity)
			}
			changes = append(changes, func(ps *accounts.ProjectScan) { ps.Severity = sev })
		}
	}
	if al := r.CVEAllowlist; al != nil {
		var all time.Time
		if al.ExpiresAt != nil && *al.ExpiresAt > 0 {
			all = time.Unix(*al.ExpiresAt, 0).UTC()
		}
		list := []accounts.AllowedVulnerability{}
		for i, it := range al.Items {
			id := strings.TrimSpace(it.CVEID)
			if id == "" {
				return nil, badRequest("cve_allowlist.items[%d].cve_id: required", i)
			}
			if it.ExpiresAt < 0 {
				return nil, badRequest("cve_allowlist.items[%d].expires_at: %d is negative", i, it.ExpiresAt)
			}
			a := accounts.AllowedVulnerability{ID: id, ExpiresAt: all}
			if it.ExpiresAt > 0 {
				a.ExpiresAt = time.Unix(it.ExpiresAt, 0).UTC()
			}
			list = append(list, a)
		}
		changes = append(changes, func(ps *accounts.ProjectScan) { ps.Allowlist = list })
	}
	if len(changes) == 0 {
		return nil, nil
	}
	return func(ps *accounts.ProjectScan) {
		for _, c := range changes {
			c(ps)
		}
	}, nil
}

// severityNamed reads Harbor's severity words ("high", "Critical"; "none"
// blocks every vulnerability, of any severity, as Harbor's does).
func severityNamed(s string) (string, bool) {
	if strings.EqualFold(s, "none") {
		return string(scan.SeverityUnknown), true
	}
	for _, sev := range []scan.Severity{scan.SeverityNegligible, scan.SeverityLow, scan.SeverityMedium, scan.SeverityHigh, scan.SeverityCritical, scan.SeverityUnknown} {
		if strings.EqualFold(s, string(sev)) {
			return string(sev), true
		}
	}
	return "", false
}
