package main

import (
	"context"
	"fmt"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/immutable"
	"github.com/berthreg/berth/retention"
	"github.com/berthreg/berth/scan/engine"
)

// ImageHub is what the platform hands a tenant's build system, in the
// shape of Rainbond's imageHub setting: a domain that carries the
// namespace ("registry.example.com/acme"), and a robot's credentials.
// Images are pushed to "<Domain>/<name>:<tag>".
type ImageHub struct {
	Domain    string `json:"domain"`
	Namespace string `json:"namespace"`
	Username  string `json:"username"`
	Password  string `json:"password"`
}

// Tenant is what creating a tenant made: its image hub (push and pull)
// and the pull-only credentials its nodes run images with.
type Tenant struct {
	Name     string   `json:"name"`
	Hub      ImageHub `json:"imageHub"`
	Pull     ImageHub `json:"pull"`
	Registry string   `json:"registry"`
}

// The tenant's retention: the keepPushes newest pushes of each
// repository are kept, the rest deleted at 03:00 every night.
const (
	keepPushes        = 10
	retentionSchedule = "0 0 3 * * *"
)

// CreateTenant makes a tenant's home in the registry, from Go: a private
// project named after it, its people's group as developers, scanning on
// push with a pull gate refusing images with a high or critical
// vulnerability or no scan, a nightly retention keeping the newest
// pushes, a "builder" robot that pushes and pulls its repositories, and a
// "runtime" robot that only pulls them.
func (p *Platform) CreateTenant(ctx context.Context, name string) (Tenant, error) {
	m := p.srv.Accounts()
	if err := m.CreateProject(ctx, operator, name, false); err != nil {
		return Tenant{}, fmt.Errorf("tenant %s: %w", name, err)
	}
	if _, err := m.AddMember(ctx, operator, name, "group", tenantGroup(name), rbac.Developer); err != nil {
		return Tenant{}, fmt.Errorf("tenant %s: %w", name, err)
	}
	yes, severity := true, "high"
	if err := p.srv.ProjectScans().Update(ctx, name, engine.SettingsChange{AutoScan: &yes, PreventVulnerable: &yes,
		DenyUnscanned: &yes, Severity: &severity}); err != nil {
		return Tenant{}, fmt.Errorf("tenant %s: %w", name, err)
	}
	// What Rainbond's guide recommends beside the pull gate: keep the
	// ten newest pushes of each repository, every night.
	if _, err := p.srv.Retention().SetPolicy(ctx, retention.Policy{Project: name, Schedule: retentionSchedule,
		Rules: []retention.Rule{{Template: retention.LatestPushed, Count: keepPushes, Untagged: true,
			Repositories: immutable.Selector{Decoration: immutable.Matches, Pattern: "**"},
			Tags:         immutable.Selector{Decoration: immutable.Matches, Pattern: "**"}}}}); err != nil {
		return Tenant{}, fmt.Errorf("tenant %s: retention: %w", name, err)
	}
	t := Tenant{Name: name, Registry: p.host}
	robots := []struct {
		name    string
		actions []string
		hub     *ImageHub
	}{
		{"builder", []string{auth.ActionPull, auth.ActionPush}, &t.Hub},
		{"runtime", []string{auth.ActionPull}, &t.Pull},
	}
	for _, r := range robots {
		account, secret, err := m.CreateRobot(ctx, operator, accounts.RobotSpec{Project: name, Name: r.name,
			Description: "issued by the platform for tenant " + name,
			Grants:      []accounts.Grant{{Project: name, Pattern: name + "/**", Actions: r.actions}}})
		if err != nil {
			return Tenant{}, fmt.Errorf("tenant %s: robot %s: %w", name, r.name, err)
		}
		*r.hub = ImageHub{Domain: p.host + "/" + name, Namespace: name, Username: account, Password: secret}
	}
	return t, nil
}
