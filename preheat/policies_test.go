package preheat_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/preheat"
)

// TestPolicyValidation: every refused policy names its field in Harbor's
// JSON terms, through CreatePolicy and UpdatePolicy alike, and nothing is
// stored.
func TestPolicyValidation(t *testing.T) {
	r := newRig(t, false)
	ctx := t.Context()
	in := r.instance("df")
	off := r.instance("off")
	off.Enabled, off.AuthInfo = false, map[string]string{"username": "harbor"}
	_, err := r.svc.UpdateInstance(ctx, admin, "off", off)
	must(t, err)
	good := preheat.Policy{Name: "warm", Project: "team", ProviderID: in.ID, Trigger: preheat.Trigger{Type: preheat.TriggerManual}, Enabled: true}
	cases := []struct {
		field string
		edit  func(p *preheat.Policy)
	}{
		{"name", func(p *preheat.Policy) { p.Name = "no spaces" }},
		{"name", func(p *preheat.Policy) { p.Name = strings.Repeat("n", preheat.MaxNameLength+1) }},
		{"name", func(p *preheat.Policy) { p.Name = ".." }},
		{"description", func(p *preheat.Policy) { p.Description = strings.Repeat("d", preheat.MaxDescriptionLength+1) }},
		{"provider_id", func(p *preheat.Policy) { p.ProviderID = 0 }},
		{"provider_id", func(p *preheat.Policy) { p.ProviderID = 999 }},
		{"provider_id", func(p *preheat.Policy) { p.ProviderID = off.ID }},
		{"filters.repository", func(p *preheat.Policy) { p.Filters.Repository = "app/[" }},
		{"filters.repository", func(p *preheat.Policy) { p.Filters.Repository = strings.Repeat("a", preheat.MaxPatternLength+1) }},
		{"filters.tag", func(p *preheat.Policy) { p.Filters.Tag = "v{1" }},
		{"filters.label", func(p *preheat.Policy) { p.Filters.Labels = []string{"prod", " "} }},
		{"filters.label", func(p *preheat.Policy) { p.Filters.Labels = make([]string, preheat.MaxLabels+1) }},
		{"filters.label", func(p *preheat.Policy) { p.Filters.Labels = []string{strings.Repeat("l", preheat.MaxLabelLength+1)} }},
		{"filters.vulnerability", func(p *preheat.Policy) { p.Filters.Vulnerability = "Severe" }},
		{"trigger.type", func(p *preheat.Policy) { p.Trigger.Type = "weekly" }},
		{"trigger.type", func(p *preheat.Policy) { p.Trigger.Type = "" }},
		{"trigger.trigger_setting.cron", func(p *preheat.Policy) { p.Trigger.Type = preheat.TriggerScheduled }},
		{"trigger.trigger_setting.cron", func(p *preheat.Policy) {
			p.Trigger = preheat.Trigger{Type: preheat.TriggerScheduled, Settings: preheat.TriggerSettings{Cron: "0 0 * * *"}}
		}},
		{"scope", func(p *preheat.Policy) { p.Scope = "some_peers" }},
	}
	for _, c := range cases {
		p := good
		c.edit(&p)
		_, err := r.svc.CreatePolicy(ctx, alice, p)
		wantField(t, "create: "+c.field, err, c.field)
	}
	stored := r.policy(good)
	for _, c := range cases {
		if c.field == "name" {
			continue // the name names the policy an update replaces
		}
		p := good
		c.edit(&p)
		_, err := r.svc.UpdatePolicy(ctx, alice, p)
		wantField(t, "update: "+c.field, err, c.field)
	}
	got, err := r.svc.Policy(ctx, alice, "team", "warm")
	if err != nil || !got.UpdatedAt.Equal(stored.UpdatedAt) {
		t.Fatalf("after refused updates: %+v, %v; want it unchanged", got, err)
	}
	// The project's own field, which CreatePolicy resolves before it
	// checks (an unknown project is not found), as CheckPolicy reports it.
	p := good
	p.Project = "Team/x"
	wantField(t, "CheckPolicy project", preheat.CheckPolicy(p), "project")
	if err := preheat.CheckPolicy(good); err != nil {
		t.Fatalf("CheckPolicy(good) = %v", err)
	}
}

// TestPolicyCRUD: policies get ids and times, read back with their
// instance's name, are unique per project, are replaced by updates that
// keep what is theirs, and are deleted with their executions; a policy
// with an execution in progress is not deleted.
func TestPolicyCRUD(t *testing.T) {
	r := newRig(t, false)
	ctx := t.Context()
	in := r.instance("df")
	p := r.policy(preheat.Policy{Name: "warm", Description: "prod images", ProviderID: in.ID,
		Filters: preheat.Filters{Repository: "app*", Tag: "v*", Labels: []string{"prod"}, Signature: true, Vulnerability: "High"}})
	if p.ID != 1 || p.ProjectID == 0 || p.CreatedBy != "alice" || p.Scope != preheat.ScopeSinglePeer || p.ProviderName != "df" ||
		p.CreatedAt.IsZero() || !p.CreatedAt.Equal(p.UpdatedAt) {
		t.Fatalf("created %+v", p)
	}
	got, err := r.svc.Policy(ctx, alice, "team", "warm")
	if err != nil || got.ID != p.ID || got.ProviderName != "df" || got.Filters.Vulnerability != "High" || !got.CreatedAt.Equal(p.CreatedAt) {
		t.Fatalf("Policy = %+v, %v", got, err)
	}
	_, err = r.svc.CreatePolicy(ctx, alice, preheat.Policy{Name: "warm", Project: "team", ProviderID: in.ID, Trigger: preheat.Trigger{Type: preheat.TriggerManual}})
	wantIs(t, "same name", err, preheat.ErrExists)
	other := r.policy(preheat.Policy{Name: "warm", Project: "pub", ProviderID: in.ID})
	if other.ID != 2 {
		t.Fatalf("the same name in another project: id %d, want 2", other.ID)
	}
	r.policy(preheat.Policy{Name: "all", ProviderID: in.ID, Trigger: preheat.Trigger{Type: preheat.TriggerScheduled,
		Settings: preheat.TriggerSettings{Cron: "0 0 3 * * *"}}})
	list, n, err := r.svc.Policies(ctx, alice, "team", preheat.Page{})
	if err != nil || n != 2 || list[0].Name != "all" || list[1].Name != "warm" || list[0].Trigger.Settings.Cron != "0 0 3 * * *" {
		t.Fatalf("Policies = %+v, %d, %v", list, n, err)
	}
	page, n, err := r.svc.Policies(ctx, alice, "team", preheat.Page{Offset: 1, Limit: 1})
	if err != nil || n != 2 || len(page) != 1 || page[0].Name != "warm" {
		t.Fatalf("page = %+v, %d, %v", page, n, err)
	}
	_, _, err = r.svc.Policies(ctx, alice, "team", preheat.Page{Offset: -1})
	wantField(t, "negative offset", err, "page")

	// An update replaces the settings, keeping the id, creator and
	// creation time; a cron on a manual trigger is dropped.
	upd := preheat.Policy{Name: "warm", Project: "team", ProviderID: in.ID, Scope: preheat.ScopeAllPeers, Enabled: false,
		Trigger: preheat.Trigger{Type: preheat.TriggerManual, Settings: preheat.TriggerSettings{Cron: "0 0 3 * * *"}}}
	got, err = r.svc.UpdatePolicy(ctx, admin, upd)
	if err != nil || got.ID != p.ID || got.CreatedBy != "alice" || !got.CreatedAt.Equal(p.CreatedAt) || got.Scope != preheat.ScopeAllPeers ||
		got.Filters.Tag != "" || got.Trigger.Settings.Cron != "" || got.Enabled {
		t.Fatalf("UpdatePolicy = %+v, %v", got, err)
	}
	upd.Name = "nope"
	_, err = r.svc.UpdatePolicy(ctx, alice, upd)
	wantIs(t, "update missing", err, preheat.ErrNotFound)

	// A run in progress keeps its policy; once stopped, the policy goes
	// with its executions.
	got.Enabled = true
	_, err = r.svc.UpdatePolicy(ctx, alice, got)
	must(t, err)
	exec, err := r.svc.Start(ctx, alice, "team", "warm")
	must(t, err)
	wantIs(t, "delete with a run in progress", r.svc.DeletePolicy(ctx, alice, "team", "warm"), preheat.ErrInUse)
	_, err = r.svc.Stop(ctx, alice, "team", "warm", exec.ID)
	must(t, err)
	must(t, r.svc.DeletePolicy(ctx, alice, "team", "warm"))
	_, err = r.svc.Policy(ctx, alice, "team", "warm")
	wantIs(t, "deleted", err, preheat.ErrNotFound)
	wantIs(t, "deleted twice", r.svc.DeletePolicy(ctx, alice, "team", "warm"), preheat.ErrNotFound)
	must(t, r.store.View(ctx, func(tx meta.Tx) error {
		left, err := preheat.Executions.In(tx).List("", 0)
		if len(left) != 0 {
			t.Errorf("executions left after the policy's deletion: %+v", left)
		}
		return err
	}))
	if again := r.policy(preheat.Policy{Name: "warm", ProviderID: in.ID}); again.ID != 4 {
		t.Fatalf("re-created policy id %d, want 4 (ids are not reused)", again.ID)
	}
}

// TestPolicyLimit: a project holds at most MaxPoliciesPerProject
// policies; another project is not counted.
func TestPolicyLimit(t *testing.T) {
	r := newRig(t, false)
	in := r.instance("df")
	for i := range preheat.MaxPoliciesPerProject {
		r.policy(preheat.Policy{Name: fmt.Sprintf("p%03d", i), ProviderID: in.ID})
	}
	_, err := r.svc.CreatePolicy(t.Context(), alice, preheat.Policy{Name: "one-more", Project: "team", ProviderID: in.ID,
		Trigger: preheat.Trigger{Type: preheat.TriggerManual}})
	wantIs(t, "past the limit", err, preheat.ErrLimit)
	r.policy(preheat.Policy{Name: "one-more", Project: "pub", ProviderID: in.ID})
}

// TestProjectCleanup: deleting a project deletes its policies with their
// executions and takes their schedules off at the next ScheduleAll; a
// project re-created under the name starts with none.
func TestProjectCleanup(t *testing.T) {
	r := newRig(t, false)
	ctx := t.Context()
	in := r.instance("df")
	p := r.policy(preheat.Policy{Name: "nightly", ProviderID: in.ID, Trigger: preheat.Trigger{Type: preheat.TriggerScheduled,
		Settings: preheat.TriggerSettings{Cron: "0 0 3 * * *"}}})
	_, err := r.svc.Start(ctx, alice, "team", "nightly")
	must(t, err)
	if _, _, ok := r.runner.ScheduleOf(preheat.ScheduleName(p.ID)); !ok {
		t.Fatal("the scheduled policy is not on the runner")
	}
	must(t, r.m.DeleteProject(ctx, "team"))
	must(t, preheat.ScheduleAll(ctx, r.store, r.runner))
	if _, _, ok := r.runner.ScheduleOf(preheat.ScheduleName(p.ID)); ok {
		t.Fatal("the deleted project's schedule is still on the runner")
	}
	must(t, r.store.View(ctx, func(tx meta.Tx) error {
		ps, err := preheat.Policies.In(tx).List("", 0)
		es, err2 := preheat.Executions.In(tx).List("", 0)
		if len(ps) != 0 || len(es) != 0 {
			t.Errorf("left after the project's deletion: policies %+v, executions %+v", ps, es)
		}
		jobsLeft, err3 := tx.Jobs().List(meta.JobFilter{Kind: preheat.RunKind, State: meta.JobPending}, 0, 0)
		if len(jobsLeft) != 0 {
			t.Errorf("run jobs still pending: %+v", jobsLeft)
		}
		return firstErr(err, err2, err3)
	}))
	must(t, r.m.CreateProject(ctx, alice, "team", false))
	list, n, err := r.svc.Policies(ctx, alice, "team", preheat.Page{})
	if err != nil || n != 0 || len(list) != 0 {
		t.Fatalf("re-created project's policies %+v, %v", list, err)
	}
	r.policy(preheat.Policy{Name: "nightly", ProviderID: in.ID})
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
