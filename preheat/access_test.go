package preheat_test

import (
	"context"
	"errors"
	"testing"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/preheat"
)

// TestWhoMayDoWhat: the Go API keeps Harbor's matrix for preheat
// policies (project administrators and system administrators; no other
// role, no robot) and instances (system administrators): each principal
// gets exactly the expected refusal from every operation, and nothing
// it was refused changed anything.
func TestWhoMayDoWhat(t *testing.T) {
	r := newRig(t, false)
	ctx := t.Context()
	in := r.instance("df")
	r.policy(preheat.Policy{Name: "warm", ProviderID: in.ID})
	exec, err := r.svc.Start(ctx, alice, "team", "warm")
	must(t, err)

	// Operations on project team's preheat resources, by p; each leaves
	// the state as it was when it is refused.
	projectOps := map[string]func(p auth.Principal) error{
		"Policies": func(p auth.Principal) error { _, _, err := r.svc.Policies(ctx, p, "team", preheat.Page{}); return err },
		"Policy":   func(p auth.Principal) error { _, err := r.svc.Policy(ctx, p, "team", "warm"); return err },
		"CreatePolicy": func(p auth.Principal) error {
			_, err := r.svc.CreatePolicy(ctx, p, preheat.Policy{Name: "by-" + nameOf(p), Project: "team", ProviderID: in.ID,
				Trigger: preheat.Trigger{Type: preheat.TriggerManual}, Enabled: true})
			return err
		},
		"UpdatePolicy": func(p auth.Principal) error {
			_, err := r.svc.UpdatePolicy(ctx, p, preheat.Policy{Name: "warm", Project: "team", ProviderID: in.ID, Description: "by " + nameOf(p),
				Trigger: preheat.Trigger{Type: preheat.TriggerManual}, Enabled: true})
			return err
		},
		"DeletePolicy": func(p auth.Principal) error { return r.svc.DeletePolicy(ctx, p, "team", "no-such-policy") },
		"Start":        func(p auth.Principal) error { _, err := r.svc.Start(ctx, p, "team", "warm"); return err },
		"Executions": func(p auth.Principal) error {
			_, _, err := r.svc.Executions(ctx, p, "team", "warm", preheat.Page{})
			return err
		},
		"Execution": func(p auth.Principal) error { _, err := r.svc.Execution(ctx, p, "team", "warm", exec.ID); return err },
		"Stop":      func(p auth.Principal) error { _, err := r.svc.Stop(ctx, p, "team", "warm", 1<<40); return err },
		"Tasks": func(p auth.Principal) error {
			_, _, err := r.svc.Tasks(ctx, p, "team", "warm", exec.ID, preheat.Page{})
			return err
		},
		"TaskLog": func(p auth.Principal) error {
			_, err := r.svc.TaskLog(ctx, p, "team", "warm", exec.ID, 1<<40)
			return err
		},
		"ProvidersUnderProject": func(p auth.Principal) error { _, err := r.svc.ProvidersUnderProject(ctx, p, "team"); return err },
	}
	instanceOps := map[string]func(p auth.Principal) error{
		"Vendors":      func(p auth.Principal) error { _, err := r.svc.Vendors(p); return err },
		"Instances":    func(p auth.Principal) error { _, _, err := r.svc.Instances(ctx, p, preheat.Page{}); return err },
		"Instance":     func(p auth.Principal) error { _, err := r.svc.Instance(ctx, p, "df"); return err },
		"InstanceByID": func(p auth.Principal) error { _, err := r.svc.InstanceByID(ctx, p, in.ID); return err },
		"CreateInstance": func(p auth.Principal) error {
			_, err := r.svc.CreateInstance(ctx, p, preheat.Instance{Name: "by-" + nameOf(p), Vendor: "fake", Endpoint: "https://" + nameOf(p) + ".example"})
			return err
		},
		"UpdateInstance": func(p auth.Principal) error {
			_, err := r.svc.UpdateInstance(ctx, p, "df", preheat.Instance{Vendor: "fake", Endpoint: in.Endpoint, Description: "by " + nameOf(p),
				AuthMode: preheat.AuthBasic, AuthInfo: map[string]string{"username": "harbor"}, Enabled: true})
			return err
		},
		"DeleteInstance": func(p auth.Principal) error { return r.svc.DeleteInstance(ctx, p, "no-such-instance") },
		"PingInstance":   func(p auth.Principal) error { return r.svc.PingInstance(ctx, p, preheat.Instance{ID: in.ID}) },
	}
	// allowed is what an allowed caller may get from an operation (the
	// deletions and the stop name what does not exist).
	allowed := func(err error) bool { return err == nil || errors.Is(err, preheat.ErrNotFound) }

	for _, c := range []struct {
		who               string
		p                 auth.Principal
		project, instance error // nil: allowed
	}{
		{"system administrator", admin, nil, nil},
		{"project administrator", alice, nil, preheat.ErrForbidden},
		{"maintainer", mia, preheat.ErrForbidden, preheat.ErrForbidden},
		{"developer", dev, preheat.ErrForbidden, preheat.ErrForbidden},
		{"guest", gus, preheat.ErrForbidden, preheat.ErrForbidden},
		{"limited guest", lim, preheat.ErrForbidden, preheat.ErrForbidden},
		{"project robot", r.robot, preheat.ErrForbidden, preheat.ErrForbidden},
		{"user of no project", bob, preheat.ErrNotFound, preheat.ErrForbidden},
		{"anonymous", anon, preheat.ErrUnauthenticated, preheat.ErrUnauthenticated},
	} {
		for _, set := range []struct {
			ops  map[string]func(auth.Principal) error
			want error
		}{{projectOps, c.project}, {instanceOps, c.instance}} {
			for op, do := range set.ops {
				before := r.snapshot()
				err := do(c.p)
				switch {
				case set.want == nil && !allowed(err):
					t.Errorf("%s: %s: %v, want it allowed", c.who, op, err)
				case set.want != nil && !errors.Is(err, set.want):
					t.Errorf("%s: %s: %v, want %v", c.who, op, err, set.want)
				case set.want != nil && r.snapshot() != before:
					t.Errorf("%s: %s was refused (%v) but changed the state", c.who, op, err)
				}
			}
		}
	}

	// A public project is seen by every signed-in user: refused, not
	// hidden.
	_, _, err = r.svc.Policies(ctx, bob, "pub", preheat.Page{})
	wantIs(t, "bob on a public project", err, preheat.ErrForbidden)
	_, _, err = r.svc.Policies(ctx, alice, "nowhere", preheat.Page{})
	wantIs(t, "a project that does not exist", err, preheat.ErrNotFound)
}

// nameOf names p in names of what it creates.
func nameOf(p auth.Principal) string {
	if p.Name == "" {
		return "anon"
	}
	return map[bool]string{true: "robot", false: p.Name}[p.Kind == auth.Robot]
}

// snapshot describes the state the operations could change: policies,
// instances, executions.
func (r *rig) snapshot() string {
	r.t.Helper()
	ctx := context.Background()
	ps, _, err := r.svc.Policies(ctx, admin, "team", preheat.Page{})
	must(r.t, err)
	is, _, err := r.svc.Instances(ctx, admin, preheat.Page{})
	must(r.t, err)
	es, _, err := r.svc.Executions(ctx, admin, "team", "warm", preheat.Page{})
	must(r.t, err)
	s := ""
	for _, p := range ps {
		s += p.Name + "/" + p.Description + "/" + p.UpdatedAt.String() + ";"
	}
	for _, in := range is {
		s += in.Name + "/" + in.Description + "/" + in.Status + ";"
	}
	for _, e := range es {
		s += string(e.Status) + ";"
	}
	return s
}
