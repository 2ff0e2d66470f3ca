package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/label"
	"github.com/berthreg/berth/meta"
)

// labelEnv serves the API over a store holding projects team (private:
// alice projectAdmin, mia maintainer, dev developer, gus guest), pub
// (public, alice's) and priv (private, admin's), each with an artifact
// tagged v1 in its repository "app" (and team in "a/b"), and a robot
// of team that may read it, pull and push there.
type labelEnv struct {
	store                                   meta.Store
	m                                       *accounts.Manager
	admin, alice, mia, dev, gus, bob, robot client
	anon                                    client
	teamID                                  uint64
	teamApp                                 digest.Digest
	url                                     string
}

func newLabelEnv(t *testing.T) *labelEnv {
	t.Helper()
	store := openStore(t)
	url, m := newAPIOn(t, store)
	ctx := context.Background()
	admin := auth.Principal{Name: "admin", Kind: auth.User, Admin: true}
	alice := auth.Principal{Name: "alice", Kind: auth.User}
	for _, u := range []string{"mia", "dev", "gus"} {
		if err := m.SetUser(ctx, u, u+"-password", false); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []struct {
		who    auth.Principal
		name   string
		public bool
	}{{alice, "team", false}, {alice, "pub", true}, {admin, "priv", false}} {
		if err := m.CreateProject(ctx, p.who, p.name, p.public); err != nil {
			t.Fatal(err)
		}
	}
	for user, role := range map[string]rbac.Role{"mia": rbac.Maintainer, "dev": rbac.Developer, "gus": rbac.Guest} {
		if _, err := m.AddMember(ctx, alice, "team", "user", user, role); err != nil {
			t.Fatal(err)
		}
	}
	robot, secret, err := m.CreateRobot(ctx, admin, accounts.RobotSpec{Project: "team", Name: "ci",
		Grants: []accounts.Grant{{Project: "team", Pattern: "team/**", Actions: []string{auth.ActionPull, auth.ActionPush}},
			{Project: "team", Resource: rbac.ResourceProject, Actions: []string{rbac.ActionRead}}}})
	if err != nil {
		t.Fatal(err)
	}
	team, err := m.GetProject(ctx, admin, "team")
	if err != nil {
		t.Fatal(err)
	}
	e := &labelEnv{store: store, m: m, url: url, teamID: team.ID}
	for _, repo := range []string{"team/app", "team/a/b", "pub/app", "priv/app"} {
		d := digest.FromString(repo)
		if repo == "team/app" {
			e.teamApp = d
		}
		err := store.Update(ctx, func(tx meta.Tx) error {
			if _, _, err := tx.Repositories().Ensure(repo); err != nil {
				return err
			}
			if err := tx.Manifests().Put(repo, meta.Manifest{Digest: d, MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 10}); err != nil {
				return err
			}
			return tx.Tags().Put(repo, "v1", d)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	as := func(u string) client { return client{t, url, u, u + "-password"} }
	e.admin, e.alice, e.mia, e.dev, e.gus, e.bob = as("admin"), as("alice"), as("mia"), as("dev"), as("gus"), as("bob")
	e.robot, e.anon = client{t, url, robot, secret}, client{t: t, url: url}
	return e
}

// labelNames reads a JSON array of labels' names.
func labelNames(t *testing.T, body string) string {
	t.Helper()
	var ls []labelJSON
	if err := json.Unmarshal([]byte(body), &ls); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	var out []string
	for _, l := range ls {
		out = append(out, l.Name)
	}
	return fmt.Sprint(out)
}

// wantNamed checks a 400 whose message names field.
func wantNamed(c client, method, path, body, field string) {
	c.t.Helper()
	_, out := c.want(method, path, body, http.StatusBadRequest, codeBadRequest)
	if !strings.Contains(out, field) {
		c.t.Errorf("%s %s %s: the error names no %s: %s", method, path, body, field, out)
	}
}

func TestLabelsCRUD(t *testing.T) {
	e := newLabelEnv(t)
	resp, _ := e.admin.want("POST", "/labels", `{"name":"prod","description":"in production","color":"#00ff00","scope":"g"}`, http.StatusCreated, "")
	if loc := resp.Header.Get("Location"); loc != Prefix+"/labels/1" {
		t.Errorf("Location %q", loc)
	}
	_, out := e.anon.want("GET", "/labels/1", "", http.StatusOK, "")
	var got labelJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.ID != 1 || got.Name != "prod" || got.Color != "#00ff00" ||
		got.Scope != "g" || got.ProjectID != 0 || got.CreationTime.IsZero() || !strings.Contains(out, `"deleted":false`) {
		t.Errorf("GET /labels/1: %s", out)
	}

	// Bad input names its field; never a 500.
	for field, body := range map[string]string{
		"name":         `{"name":"","scope":"g"}`,
		"color":        `{"name":"x","color":"green","scope":"g"}`,
		"scope":        `{"name":"x","scope":"global"}`,
		"project_id":   `{"name":"x","scope":"p"}`,
		"colour":       `{"name":"x","colour":"#000000","scope":"g"}`,
		"description":  `{"name":"x","scope":"g","description":"` + strings.Repeat("d", label.MaxDescription+1) + `"}`,
		"project_id ":  `{"name":"x","scope":"p","project_id":-1}`,
		"project_id  ": `{"name":"x","scope":"g","project_name":"team"}`,
	} {
		wantNamed(e.admin, "POST", "/labels", body, strings.TrimSpace(field))
	}
	wantNamed(e.admin, "GET", "/labels/x", "", "label_id")
	wantNamed(e.admin, "GET", "/labels/0", "", "label_id")
	wantNamed(e.admin, "GET", "/labels?scope=q", "", "scope")
	wantNamed(e.admin, "GET", "/labels?project_id=abc", "", "project_id")
	wantNamed(e.admin, "GET", "/labels?q=color=red", "", "q")
	wantNamed(e.admin, "GET", "/labels?page_size=1000", "", "page_size")
	e.admin.want("GET", "/labels/99", "", http.StatusNotFound, codeNotFound)

	// Names are unique in a scope.
	e.admin.want("POST", "/labels", `{"name":"prod","scope":"g"}`, http.StatusConflict, codeConflict)
	e.alice.want("POST", "/labels", `{"name":"prod","scope":"p","project_name":"team"}`, http.StatusCreated, "")
	e.mia.want("POST", "/labels", fmt.Sprintf(`{"name":"qa","scope":"p","project_id":%d}`, e.teamID), http.StatusCreated, "")
	e.mia.want("POST", "/labels", `{"name":"qa","scope":"p","project_name":"team"}`, http.StatusConflict, codeConflict)
	_, out = e.gus.want("GET", "/labels?scope=p&project_name=team", "", http.StatusOK, "")
	if labelNames(t, out) != "[prod qa]" || !strings.Contains(out, fmt.Sprintf(`"project_id":%d`, e.teamID)) || !strings.Contains(out, `"project_name":"team"`) {
		t.Errorf("team's labels: %s", out)
	}
	_, out = e.gus.want("GET", fmt.Sprintf("/labels?q=scope=p,project_id=%d,name=~q", e.teamID), "", http.StatusOK, "")
	if labelNames(t, out) != "[qa]" {
		t.Errorf("team's labels by q: %s", out)
	}

	// Update: name, description and color.
	e.mia.want("PUT", "/labels/3", `{"name":"qa-passed","color":"#abcdef","scope":"p"}`, http.StatusOK, "")
	_, out = e.gus.want("GET", "/labels/3", "", http.StatusOK, "")
	if !strings.Contains(out, `"name":"qa-passed"`) || !strings.Contains(out, `"color":"#abcdef"`) {
		t.Errorf("after the update: %s", out)
	}
	e.mia.want("PUT", "/labels/3", `{"name":"prod"}`, http.StatusConflict, codeConflict)
	wantNamed(e.mia, "PUT", "/labels/3", `{"name":"x","scope":"g"}`, "scope")
	wantNamed(e.mia, "PUT", "/labels/3", `{"id":2,"name":"x"}`, "id")
	wantNamed(e.mia, "PUT", "/labels/3", `{"name":"x","color":"#12"}`, "color")

	// Delete.
	e.mia.want("DELETE", "/labels/3", "", http.StatusOK, "")
	e.mia.want("DELETE", "/labels/3", "", http.StatusNotFound, codeNotFound)
	e.gus.want("GET", "/labels/3", "", http.StatusNotFound, codeNotFound)
	resp, _ = e.mia.want("POST", "/labels", `{"name":"qa","scope":"p","project_name":"team"}`, http.StatusCreated, "")
	if loc := resp.Header.Get("Location"); loc != Prefix+"/labels/4" {
		t.Errorf("a label made after a deletion: Location %q", loc)
	}
}

func TestLabelsPaging(t *testing.T) {
	e := newLabelEnv(t)
	for i := range 5 {
		e.admin.want("POST", "/labels", fmt.Sprintf(`{"name":"l%d","scope":"g"}`, i), http.StatusCreated, "")
	}
	resp, out := e.anon.want("GET", "/labels?page=2&page_size=2", "", http.StatusOK, "")
	if labelNames(t, out) != "[l2 l3]" || resp.Header.Get("X-Total-Count") != "5" {
		t.Errorf("page 2: %s, total %q", out, resp.Header.Get("X-Total-Count"))
	}
	if link := resp.Header.Get("Link"); !strings.Contains(link, `rel="prev"`) || !strings.Contains(link, `rel="next"`) {
		t.Errorf("Link %q", link)
	}
	_, out = e.anon.want("GET", "/labels?name=3", "", http.StatusOK, "")
	if labelNames(t, out) != "[l3]" {
		t.Errorf("name=3: %s", out)
	}
}

// TestLabelsRights: who sees and who manages which labels.
func TestLabelsRights(t *testing.T) {
	e := newLabelEnv(t)
	e.alice.want("POST", "/labels", `{"name":"g","scope":"g"}`, http.StatusForbidden, codeForbidden)
	e.anon.want("POST", "/labels", `{"name":"g","scope":"g"}`, http.StatusUnauthorized, codeUnauthorized)
	e.admin.want("POST", "/labels", `{"name":"g","scope":"g"}`, http.StatusCreated, "") // 1
	team := `{"name":"t","scope":"p","project_name":"team"}`
	e.dev.want("POST", "/labels", team, http.StatusForbidden, codeForbidden)
	e.gus.want("POST", "/labels", team, http.StatusForbidden, codeForbidden)
	e.robot.want("POST", "/labels", team, http.StatusForbidden, codeForbidden)
	e.bob.want("POST", "/labels", team, http.StatusNotFound, codeNotFound)
	e.anon.want("POST", "/labels", team, http.StatusNotFound, codeNotFound)
	e.mia.want("POST", "/labels", team, http.StatusCreated, "")                                               // 2
	e.alice.want("POST", "/labels", `{"name":"p","scope":"p","project_name":"pub"}`, http.StatusCreated, "")  // 3
	e.admin.want("POST", "/labels", `{"name":"v","scope":"p","project_name":"priv"}`, http.StatusCreated, "") // 4
	e.bob.want("POST", "/labels", `{"name":"b","scope":"p","project_name":"pub"}`, http.StatusForbidden, codeForbidden)

	for _, c := range []struct {
		who              client
		global, teamList int
		visible, hidden  []int
	}{
		{e.anon, 200, 404, []int{1, 3}, []int{2, 4}},
		{e.bob, 200, 404, []int{1, 3}, []int{2, 4}},
		{e.gus, 200, 200, []int{1, 2, 3}, []int{4}},
		{e.robot, 200, 200, []int{1, 2, 3}, []int{4}},
		{e.admin, 200, 200, []int{1, 2, 3, 4}, nil},
	} {
		c.who.want("GET", "/labels", "", c.global, "")
		c.who.want("GET", "/labels?scope=p&project_name=team", "", c.teamList, "")
		for _, id := range c.visible {
			c.who.want("GET", fmt.Sprintf("/labels/%d", id), "", http.StatusOK, "")
		}
		for _, id := range c.hidden {
			c.who.want("GET", fmt.Sprintf("/labels/%d", id), "", http.StatusNotFound, codeNotFound)
		}
	}
	e.robot.want("GET", "/labels?scope=p&project_name=priv", "", http.StatusNotFound, codeNotFound)
	_, out := e.anon.want("GET", "/labels?scope=p&project_name=pub", "", http.StatusOK, "")
	if labelNames(t, out) != "[p]" {
		t.Errorf("anonymous listing pub's labels: %s", out)
	}

	e.dev.want("PUT", "/labels/2", `{"name":"x"}`, http.StatusForbidden, codeForbidden)
	e.gus.want("DELETE", "/labels/2", "", http.StatusForbidden, codeForbidden)
	e.bob.want("DELETE", "/labels/2", "", http.StatusNotFound, codeNotFound)
	e.alice.want("DELETE", "/labels/1", "", http.StatusForbidden, codeForbidden)
	e.alice.want("DELETE", "/labels/2", "", http.StatusOK, "")
}

// TestArtifactLabels: attaching and detaching, by who may push, a
// project's label only in its project.
func TestArtifactLabels(t *testing.T) {
	e := newLabelEnv(t)
	e.admin.want("POST", "/labels", `{"name":"prod","scope":"g"}`, http.StatusCreated, "")                     // 1
	e.alice.want("POST", "/labels", `{"name":"qa","scope":"p","project_name":"team"}`, http.StatusCreated, "") // 2
	e.admin.want("POST", "/labels", `{"name":"v","scope":"p","project_name":"priv"}`, http.StatusCreated, "")  // 3
	const app = "/projects/team/repositories/app/artifacts/v1/labels"
	e.dev.want("POST", app, `{"id":1}`, http.StatusCreated, "")
	e.dev.want("POST", app, `{"id":1}`, http.StatusConflict, codeConflict)
	e.robot.want("POST", app, `{"id":2,"name":"qa","scope":"p"}`, http.StatusCreated, "") // Harbor's whole label
	e.gus.want("POST", app, `{"id":1}`, http.StatusForbidden, codeForbidden)
	e.bob.want("POST", app, `{"id":1}`, http.StatusNotFound, codeNotFound)
	e.anon.want("POST", app, `{"id":1}`, http.StatusNotFound, codeNotFound)
	e.anon.want("POST", "/projects/pub/repositories/app/artifacts/v1/labels", `{"id":1}`, http.StatusUnauthorized, codeUnauthorized)
	wantNamed(e.alice, "POST", "/projects/pub/repositories/app/artifacts/v1/labels", `{"id":2}`, "id")
	e.alice.want("POST", "/projects/pub/repositories/app/artifacts/v1/labels", `{"id":3}`, http.StatusNotFound, codeNotFound)
	wantNamed(e.dev, "POST", app, `{}`, "id")
	wantNamed(e.dev, "POST", app, `{"id":"one"}`, "id")
	wantNamed(e.dev, "POST", "/projects/team/repositories/app/artifacts/sha256:zz/labels", `{"id":1}`, "reference")
	wantNamed(e.dev, "POST", "/projects/team/repositories/App/artifacts/v1/labels", `{"id":1}`, "repository_name")
	e.dev.want("POST", "/projects/team/repositories/app/artifacts/v9/labels", `{"id":1}`, http.StatusNotFound, codeNotFound)
	e.dev.want("POST", app, `{"id":99}`, http.StatusNotFound, codeNotFound)
	e.dev.want("POST", "/projects/team/repositories/a%252Fb/artifacts/v1/labels", `{"id":1}`, http.StatusCreated, "")

	var names []string
	if err := e.store.View(context.Background(), func(tx meta.Tx) error {
		var err error
		names, err = label.Names(tx, "team/app", e.teamApp)
		return err
	}); err != nil || fmt.Sprint(names) != "[prod qa]" {
		t.Fatalf("labels of team/app:v1: %v, %v", names, err)
	}

	e.gus.want("DELETE", app+"/1", "", http.StatusForbidden, codeForbidden)
	e.dev.want("DELETE", app+"/1", "", http.StatusOK, "")
	e.dev.want("DELETE", app+"/1", "", http.StatusNotFound, codeNotFound)
	wantNamed(e.dev, "DELETE", app+"/one", "", "label_id")

	// Deleting a label detaches it.
	e.alice.want("DELETE", "/labels/2", "", http.StatusOK, "")
	if err := e.store.View(context.Background(), func(tx meta.Tx) error {
		var err error
		names, err = label.Names(tx, "team/app", e.teamApp)
		return err
	}); err != nil || len(names) != 0 {
		t.Errorf("after deleting qa: %v, %v", names, err)
	}
}

// TestLabelsWithoutStore: without a store the endpoints are 501.
func TestLabelsWithoutStore(t *testing.T) {
	h := New(nil, nil, nil, nil)
	for _, path := range []string{"/labels", "/labels/1"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", Prefix+path, nil))
		if rec.Code != http.StatusNotImplemented {
			t.Errorf("GET %s without a store: %d %s", path, rec.Code, rec.Body)
		}
	}
}
