package engine

import (
	"context"
	"strconv"
	"strings"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/generation"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/scan"
)

// SettingsChange is a change to a project's scanning settings
// (accounts.ProjectScan, which the pull gate and scan-on-push read); nil
// fields stay as they are.
type SettingsChange struct {
	// AutoScan scans images pushed to the project.
	AutoScan *bool
	// PreventVulnerable refuses pulls of images with a vulnerability of
	// Severity or higher.
	PreventVulnerable *bool
	// DenyUnscanned refuses pulls of images without a finished scan.
	DenyUnscanned *bool
	// Severity is a severity of scan's scale or Harbor's word for one,
	// in any case ("high", "Critical"); "none" gates every
	// vulnerability, as Harbor's does.
	Severity *string
	// Allowlist replaces the vulnerabilities the gate lets through: ids
	// are trimmed and required; a zero ExpiresAt never expires, others
	// must not be before 1970.
	Allowlist *[]accounts.AllowedVulnerability
}

// empty reports a change that changes nothing.
func (c SettingsChange) empty() bool {
	return c.AutoScan == nil && c.PreventVulnerable == nil && c.DenyUnscanned == nil && c.Severity == nil && c.Allowlist == nil
}

// Check reports what is wrong with a change: a *FieldError naming the
// field as the admin API spells it ("metadata.severity",
// "cve_allowlist.items[0].cve_id").
func (c SettingsChange) Check() error {
	_, err := c.normalized()
	return err
}

// normalized is the change with its severity on scan's scale and its
// allowlist ids trimmed, or what is wrong with it.
func (c SettingsChange) normalized() (SettingsChange, error) {
	if c.Severity != nil {
		sev, ok := SeverityNamed(*c.Severity)
		if !ok {
			return c, invalid("metadata.severity", "%q is not one of none, low, medium, high, critical", *c.Severity)
		}
		c.Severity = &sev
	}
	if c.Allowlist != nil {
		list := make([]accounts.AllowedVulnerability, 0, len(*c.Allowlist))
		for i, a := range *c.Allowlist {
			a.ID = strings.TrimSpace(a.ID)
			if a.ID == "" {
				return c, invalid(itemField(i, "cve_id"), "required")
			}
			if !a.ExpiresAt.IsZero() && a.ExpiresAt.Unix() < 0 {
				return c, invalid(itemField(i, "expires_at"), "%d is negative", a.ExpiresAt.Unix())
			}
			list = append(list, a)
		}
		c.Allowlist = &list
	}
	return c, nil
}

func itemField(i int, name string) string {
	return "cve_allowlist.items[" + strconv.Itoa(i) + "]." + name
}

// Apply checks the change and makes it to ps.
func (c SettingsChange) Apply(ps *accounts.ProjectScan) error {
	c, err := c.normalized()
	if err != nil {
		return err
	}
	if c.AutoScan != nil {
		ps.AutoScan = *c.AutoScan
	}
	if c.PreventVulnerable != nil {
		ps.PreventVulnerable = *c.PreventVulnerable
	}
	if c.DenyUnscanned != nil {
		ps.DenyUnscanned = *c.DenyUnscanned
	}
	if c.Severity != nil {
		ps.Severity = *c.Severity
	}
	if c.Allowlist != nil {
		ps.Allowlist = *c.Allowlist
	}
	return nil
}

// SeverityNamed reads a severity of scan's scale, or Harbor's word for
// one, in any case ("high", "Critical"; "none" is SeverityUnknown, the
// lowest, so that the gate blocks every vulnerability as Harbor's does).
func SeverityNamed(s string) (string, bool) {
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

// ProjectSettings is the service of projects' scanning settings: their
// rules for every caller, Go or HTTP, each change in a transaction of
// its own. It needs only the store: a host without scanners keeps the
// settings too. (The project's scanner is Registrations.SetForProject's.)
type ProjectSettings struct {
	store   meta.Store
	watcher *generation.Watcher
}

// ProjectScanGeneration is the generation counter (package generation)
// every change of a project's scanning settings bumps in its
// transaction; a Gate made WithGateWatcher watches it.
const ProjectScanGeneration = "scan.projectSettings"

// SettingsOption configures the ProjectSettings made by
// NewProjectSettings.
type SettingsOption func(*ProjectSettings)

// WithSettingsWatcher makes Update poll w once its change has committed,
// so that what this process keeps of the settings (a Gate made
// WithGateWatcher with w) has it before Update returns. A poll that fails
// is left to w's next one.
func WithSettingsWatcher(w *generation.Watcher) SettingsOption {
	return func(s *ProjectSettings) { s.watcher = w }
}

// NewProjectSettings returns the service of the scanning settings of
// the projects in store.
func NewProjectSettings(store meta.Store, opts ...SettingsOption) *ProjectSettings {
	s := &ProjectSettings{store: store}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Get returns project's scanning settings (meta.ErrNotFound without
// the project).
func (s *ProjectSettings) Get(ctx context.Context, project string) (accounts.ProjectScan, error) {
	var ps accounts.ProjectScan
	err := s.store.View(ctx, func(tx meta.Tx) error {
		p, err := accounts.Projects.In(tx).Get(project)
		if err != nil {
			return projectNotFound(project, err)
		}
		ps = p.Scan
		return nil
	})
	return ps, err
}

// Update checks c and makes it to project's settings (nothing at all
// when c changes nothing).
func (s *ProjectSettings) Update(ctx context.Context, project string, c SettingsChange) error {
	c, err := c.normalized()
	if err != nil || c.empty() {
		return err
	}
	err = s.store.Update(ctx, func(tx meta.Tx) error {
		return updateProject(tx, project, func(ps *accounts.ProjectScan) { _ = c.Apply(ps) }) // checked above
	})
	if err == nil && s.watcher != nil {
		_ = s.watcher.Poll(ctx)
	}
	return err
}
