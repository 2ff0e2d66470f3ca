package label_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/label"
	"github.com/berthreg/berth/meta"
)

// names lists the names of ls.
func names(ls []label.Label) string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Name)
	}
	return fmt.Sprint(out)
}

func TestCreateReadUpdateDelete(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	prod := e.create(admin, label.Label{Name: "prod", Description: "in production", Color: "#00FF00", Scope: label.Global})
	if prod.ID != 1 || prod.CreatedAt.IsZero() || !prod.UpdatedAt.Equal(prod.CreatedAt) || prod.Project != "" {
		t.Errorf("created %+v", prod)
	}
	qa := e.create(alice, label.Label{Name: "qa", Scope: label.ProjectScope, Project: "team"})
	team, err := e.m.GetProject(ctx, admin, "team")
	must(t, err)
	if qa.ID != 2 || qa.Project != "team" || qa.ProjectID != team.ID {
		t.Errorf("project label %+v (team's id %d)", qa, team.ID)
	}
	// Harbor's project_id names the project too.
	byID := e.create(mia, label.Label{Name: "by-id", Scope: label.ProjectScope, ProjectID: team.ID})
	if byID.Project != "team" {
		t.Errorf("a label made by project id: %+v", byID)
	}
	if got, err := e.svc.Get(ctx, gus, qa.ID); err != nil || got != qa {
		t.Errorf("Get = %+v, %v; want %+v", got, err, qa)
	}

	// Lists: the global scope by default, a project's when named.
	if ls, err := e.svc.List(ctx, anon, label.Filter{}); err != nil || names(ls) != "[prod]" {
		t.Errorf("global labels: %v, %v", names(ls), err)
	}
	if ls, err := e.svc.List(ctx, gus, label.Filter{Project: "team"}); err != nil || names(ls) != "[qa by-id]" {
		t.Errorf("team's labels: %v, %v", names(ls), err)
	}
	if ls, err := e.svc.List(ctx, gus, label.Filter{Scope: label.ProjectScope, ProjectID: team.ID, Name: "y-"}); err != nil || names(ls) != "[by-id]" {
		t.Errorf("team's labels named *y-*: %v, %v", names(ls), err)
	}
	_, err = e.svc.List(ctx, gus, label.Filter{Scope: label.ProjectScope})
	wantField(t, "a project listing without a project", err, "project_id")
	_, err = e.svc.List(ctx, gus, label.Filter{Scope: "x"})
	wantField(t, "an unknown scope", err, "scope")

	// Names are unique within a scope, not across scopes.
	_, err = e.svc.Create(ctx, admin, label.Label{Name: "prod", Scope: label.Global})
	wantErr(t, "a second global prod", err, label.ErrExists)
	teamProd := e.create(alice, label.Label{Name: "prod", Scope: label.ProjectScope, Project: "team"})
	_, err = e.svc.Update(ctx, alice, label.Label{ID: qa.ID, Name: "prod"})
	wantErr(t, "renaming onto a taken name", err, label.ErrExists)

	// Update changes the name, description and color only.
	up, err := e.svc.Update(ctx, mia, label.Label{ID: qa.ID, Name: "qa-passed", Color: "#123abc", Scope: label.ProjectScope})
	if err != nil || up.Name != "qa-passed" || up.Color != "#123abc" || up.Project != "team" || up.CreatedAt != qa.CreatedAt {
		t.Errorf("Update = %+v, %v", up, err)
	}
	_, err = e.svc.Create(ctx, alice, label.Label{Name: "qa", Scope: label.ProjectScope, Project: "team"})
	must(t, err) // the old name is free again
	_, err = e.svc.Update(ctx, alice, label.Label{ID: qa.ID, Name: "x", Scope: label.Global})
	wantField(t, "a scope change", err, "scope")
	_, err = e.svc.Update(ctx, alice, label.Label{ID: qa.ID, Name: "x", Color: "red"})
	wantField(t, "a bad color", err, "color")
	_, err = e.svc.Update(ctx, alice, label.Label{ID: 99, Name: "x"})
	wantErr(t, "updating a missing label", err, meta.ErrNotFound)

	// Deleting frees the name, never the id.
	must(t, e.svc.Delete(ctx, alice, teamProd.ID))
	_, err = e.svc.Get(ctx, admin, teamProd.ID)
	wantErr(t, "a deleted label", err, meta.ErrNotFound)
	wantErr(t, "deleting it again", e.svc.Delete(ctx, alice, teamProd.ID), meta.ErrNotFound)
	again := e.create(alice, label.Label{Name: "prod", Scope: label.ProjectScope, Project: "team"})
	if again.ID <= teamProd.ID+1 {
		t.Errorf("the id %d of a label made after %d was deleted (and another made)", again.ID, teamProd.ID)
	}
}

// wantField checks that err is an *label.InputError naming field.
func wantField(t *testing.T, what string, err error, field string) {
	t.Helper()
	var in *label.InputError
	if !errors.As(err, &in) || in.Field != field || !errors.Is(err, label.ErrInvalid) {
		t.Errorf("%s: err = %v, want an input error naming %s", what, err, field)
	}
}

func TestCheckNamesTheField(t *testing.T) {
	ok := label.Label{Name: "ok", Scope: label.Global}
	if err := ok.Check(); err != nil {
		t.Fatalf("a good label: %v", err)
	}
	for field, change := range map[string]func(*label.Label){
		"name":        func(l *label.Label) { l.Name = "" },
		"name ":       func(l *label.Label) { l.Name = " padded" },
		"name  ":      func(l *label.Label) { l.Name = strings.Repeat("x", label.MaxName+1) },
		"name   ":     func(l *label.Label) { l.Name = "tab\there" },
		"description": func(l *label.Label) { l.Description = strings.Repeat("d", label.MaxDescription+1) },
		"color":       func(l *label.Label) { l.Color = "#12345" },
		"color ":      func(l *label.Label) { l.Color = "00ff00" },
		"scope":       func(l *label.Label) { l.Scope = "global" },
		"project_id":  func(l *label.Label) { l.Project = "team" },
	} {
		l := ok
		change(&l)
		wantField(t, fmt.Sprintf("%+v", l), l.Check(), strings.TrimSpace(field))
	}
	// Names may hold spaces, '=' and any script.
	for _, name := range []string{"needs review", "tier=prod", "生产"} {
		if err := (label.Label{Name: name, Scope: label.Global}).Check(); err != nil {
			t.Errorf("name %q: %v", name, err)
		}
	}
}

// TestWhoManagesLabels: system administrators manage global labels;
// a project's administrators and maintainers its labels; others may
// read what they see, and a project they may not see is not found.
func TestWhoManagesLabels(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	global := label.Label{Name: "g", Scope: label.Global}
	_, err := e.svc.Create(ctx, alice, global)
	wantErr(t, "a project admin making a global label", err, label.ErrForbidden)
	_, err = e.svc.Create(ctx, anon, global)
	wantErr(t, "anonymous making a global label", err, label.ErrUnauthenticated)
	g := e.create(admin, global)

	inTeam := label.Label{Name: "t", Scope: label.ProjectScope, Project: "team"}
	for _, c := range []struct {
		who  auth.Principal
		want error
	}{{dev, label.ErrForbidden}, {gus, label.ErrForbidden}, {e.robot, label.ErrForbidden}, {bob, meta.ErrNotFound}, {anon, meta.ErrNotFound}} {
		_, err := e.svc.Create(ctx, c.who, inTeam)
		wantErr(t, c.who.Name+" making a team label", err, c.want)
	}
	_, err = e.svc.Create(ctx, anon, label.Label{Name: "p", Scope: label.ProjectScope, Project: "pub"})
	wantErr(t, "anonymous making a label of a public project", err, label.ErrUnauthenticated)
	_, err = e.svc.Create(ctx, bob, label.Label{Name: "p", Scope: label.ProjectScope, Project: "pub"})
	wantErr(t, "a non-member making a label of a public project", err, label.ErrForbidden)
	tl := e.create(mia, inTeam)
	pl := e.create(alice, label.Label{Name: "p", Scope: label.ProjectScope, Project: "pub"})
	vl := e.create(admin, label.Label{Name: "v", Scope: label.ProjectScope, Project: "priv"})

	// Reads: global labels to anybody; a project's to whoever sees it.
	for _, c := range []struct {
		who     auth.Principal
		visible []int64
		hidden  []int64
	}{
		{anon, []int64{g.ID, pl.ID}, []int64{tl.ID, vl.ID}},
		{bob, []int64{g.ID, pl.ID}, []int64{tl.ID, vl.ID}},
		{gus, []int64{g.ID, pl.ID, tl.ID}, []int64{vl.ID}},
		{e.robot, []int64{g.ID, pl.ID, tl.ID}, []int64{vl.ID}},
		{admin, []int64{g.ID, pl.ID, tl.ID, vl.ID}, nil},
	} {
		for _, id := range c.visible {
			if _, err := e.svc.Get(ctx, c.who, id); err != nil {
				t.Errorf("%q reading label %d: %v", c.who.Name, id, err)
			}
		}
		for _, id := range c.hidden {
			_, err := e.svc.Get(ctx, c.who, id)
			wantErr(t, fmt.Sprintf("%q reading label %d", c.who.Name, id), err, meta.ErrNotFound)
		}
	}
	_, err = e.svc.List(ctx, e.robot, label.Filter{Project: "priv"})
	wantErr(t, "a robot listing another project's labels", err, meta.ErrNotFound)
	if ls, err := e.svc.List(ctx, anon, label.Filter{Project: "pub"}); err != nil || names(ls) != "[p]" {
		t.Errorf("anonymous listing a public project's labels: %s, %v", names(ls), err)
	}

	// Changes: as creation.
	_, err = e.svc.Update(ctx, dev, label.Label{ID: tl.ID, Name: "x"})
	wantErr(t, "a developer renaming", err, label.ErrForbidden)
	wantErr(t, "a guest deleting", e.svc.Delete(ctx, gus, tl.ID), label.ErrForbidden)
	wantErr(t, "a stranger deleting", e.svc.Delete(ctx, bob, tl.ID), meta.ErrNotFound)
	wantErr(t, "a project admin deleting a global label", e.svc.Delete(ctx, alice, g.ID), label.ErrForbidden)
	must(t, e.svc.Delete(ctx, alice, tl.ID))
	must(t, e.svc.Delete(ctx, admin, g.ID))
}
