package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/retention"
)

func TestRetentionPolicies(t *testing.T) {
	store := openStore(t)
	q, err := jobs.NewQueue(store)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := retention.New(store, q)
	if err != nil {
		t.Fatal(err)
	}
	url, m := newAPIOn(t, store, WithRetention(svc))
	alice := client{t, url, "alice", "alice-password"}
	bob := client{t, url, "bob", "bob-password"}
	alice.want("POST", "/projects", `{"project_name":"team"}`, http.StatusCreated, "")
	proj, err := m.GetProject(t.Context(), auth.Principal{Name: "admin", Kind: auth.User, Admin: true}, "team")
	if err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatUint(proj.ID, 10)
	// The Rainbond seed's policy.
	policy := `{"algorithm":"or","rules":[{"action":"retain","template":"latestPushedK","params":{"latestPushedK":3},
		"tag_selectors":[{"kind":"doublestar","decoration":"matches","pattern":"**","extras":"{\"untagged\":true}"}],
		"scope_selectors":{"repository":[{"kind":"doublestar","decoration":"repoMatches","pattern":"**"}]}}],
		"trigger":{"kind":"Schedule","settings":{"cron":"0 0 0 1 */1 *"}},"scope":{"level":"project","ref":` + id + `}}`
	bob.want("POST", "/retentions", policy, http.StatusNotFound, "NOT_FOUND") // a private project he cannot see
	resp, _ := alice.want("POST", "/retentions", policy, http.StatusCreated, "")
	if loc := resp.Header.Get("Location"); loc != Prefix+"/retentions/"+id {
		t.Errorf("Location %q", loc)
	}
	_, out := alice.want("GET", "/retentions/"+id, "", http.StatusOK, "")
	var got retentionPolicyJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.Rules) != 1 || got.Trigger == nil ||
		got.Trigger.Settings.Cron != "0 0 0 1 */1 *" || got.Rules[0].Params["latestPushedK"] != float64(3) ||
		got.Rules[0].TagSelectors[0].Extras != `{"untagged":true}` || got.Scope.Ref != proj.ID {
		t.Fatalf("policy %s", out)
	}
	// Bad policies name the field.
	for field, body := range map[string]string{
		"rules[0].tag_selectors[0].decoration": strings.Replace(policy, `"decoration":"matches"`, `"decoration":"like"`, 1),
		"count":                                strings.Replace(policy, `{"latestPushedK":3}`, `{"latestPushedK":0}`, 1),
		"rules[0].params.latestPushedK":        strings.Replace(policy, `{"latestPushedK":3}`, `{"latestPushedK":2.5}`, 1),
		"schedule":                             strings.Replace(policy, `0 0 0 1 */1 *`, `sometimes`, 1),
		"template":                             strings.Replace(policy, `"template":"latestPushedK"`, `"template":"keepAll"`, 1),
		"scope.level":                          strings.Replace(policy, `"level":"project"`, `"level":"system"`, 1),
	} {
		_, out := alice.want("PUT", "/retentions/"+id, body, http.StatusBadRequest, "BAD_REQUEST")
		if !strings.Contains(out, field) {
			t.Errorf("bad %s not named: %s", field, out)
		}
	}
	alice.want("POST", "/retentions", strings.Replace(policy, `"level":"project"`, `"level":"system"`, 1), http.StatusBadRequest, "BAD_REQUEST")
	// A dry run, listed with its task.
	resp, _ = alice.want("POST", "/retentions/"+id+"/executions", `{"dry_run":true}`, http.StatusCreated, "")
	if !strings.HasPrefix(resp.Header.Get("Location"), Prefix+"/retentions/"+id+"/executions/") {
		t.Errorf("Location %q", resp.Header.Get("Location"))
	}
	_, out = alice.want("GET", "/retentions/"+id+"/executions", "", http.StatusOK, "")
	var exs []retentionExecutionJSON
	if err := json.Unmarshal([]byte(out), &exs); err != nil || len(exs) != 1 || !exs[0].DryRun || exs[0].Status != retention.StatusPending || exs[0].Trigger != "Manual" {
		t.Fatalf("executions %s", out)
	}
	alice.want("GET", "/retentions/"+id+"/executions/"+strconv.FormatUint(exs[0].ID, 10)+"/tasks", "", http.StatusOK, "")
	alice.want("GET", "/retentions/"+id+"/executions/x/tasks", "", http.StatusBadRequest, "BAD_REQUEST")
	alice.want("GET", "/retentions/metadatas", "", http.StatusOK, "")
	alice.want("GET", "/retentions/99999", "", http.StatusNotFound, "NOT_FOUND")
	alice.want("DELETE", "/retentions/"+id, "", http.StatusOK, "")
	alice.want("GET", "/retentions/"+id, "", http.StatusNotFound, "NOT_FOUND")
	alice.want("POST", "/retentions/"+id+"/executions", `{}`, http.StatusNotFound, "NOT_FOUND")
}
