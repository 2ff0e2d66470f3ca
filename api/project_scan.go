package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/scan/engine"
)

// WithProjectScanSettings makes the Handler serve projects' scanning
// settings through s (default: engine.NewProjectSettings over the
// store, which keeps nothing in memory to refresh).
func WithProjectScanSettings(s *engine.ProjectSettings) Option {
	return func(h *Handler) { h.projectScans = s }
}

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
// (nil: nothing), or a 400 naming the field at fault: the flags are read
// here (Harbor's "true"/"false" strings), the rest is checked by the scan
// service.
func (r projectReq) scanChange() (*engine.SettingsChange, error) {
	var c engine.SettingsChange
	flag := func(field, v string) (*bool, error) {
		if v == "" {
			return nil, nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, badRequest("metadata.%s: %q is not \"true\" or \"false\"", field, v)
		}
		return &b, nil
	}
	if md := r.Metadata; md != nil {
		var err error
		if c.AutoScan, err = flag("auto_scan", md.AutoScan); err != nil {
			return nil, err
		}
		if c.PreventVulnerable, err = flag("prevent_vul", md.PreventVul); err != nil {
			return nil, err
		}
		if c.DenyUnscanned, err = flag("prevent_unscanned", md.PreventUnscanned); err != nil {
			return nil, err
		}
		if _, err = flag("reuse_sys_cve_allowlist", md.ReuseSysCVEAllowlist); err != nil {
			return nil, err
		}
		if md.Severity != "" {
			c.Severity = &md.Severity
		}
	}
	if al := r.CVEAllowlist; al != nil {
		var all time.Time
		if al.ExpiresAt != nil && *al.ExpiresAt > 0 {
			all = time.Unix(*al.ExpiresAt, 0).UTC()
		}
		list := []accounts.AllowedVulnerability{}
		for _, it := range al.Items {
			a := accounts.AllowedVulnerability{ID: it.CVEID, ExpiresAt: all}
			if it.ExpiresAt != 0 {
				a.ExpiresAt = time.Unix(it.ExpiresAt, 0).UTC()
			}
			list = append(list, a)
		}
		c.Allowlist = &list
	}
	if c == (engine.SettingsChange{}) {
		return nil, nil
	}
	if err := c.Check(); err != nil {
		return nil, err
	}
	return &c, nil
}

// updateProjectScan makes a change to a project's scanning settings,
// through the scan service (the engine's rules, with or without
// scanners).
func (h *Handler) updateProjectScan(ctx context.Context, project string, c *engine.SettingsChange) error {
	if h.projectScans == nil {
		return &apiError{status: http.StatusNotImplemented, code: "NOT_IMPLEMENTED", msg: "this server keeps no scan settings"}
	}
	return projectError(h.projectScans.Update(ctx, project, *c), project)
}

// projectError names the project in the 404 of a scan service's
// operation on it (a missing scanner names itself).
func projectError(err error, project string) error {
	if errors.Is(err, meta.ErrNotFound) && !errors.Is(err, engine.ErrUnknownScanner) {
		return notFound("project %s not found", project)
	}
	return err
}
