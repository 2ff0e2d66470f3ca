package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestRetention pushes 10 tags with crane and runs the Rainbond seed's
// policy (the 3 most recently pushed artifacts of every repository,
// untagged included, monthly) through Harbor's API: the dry run reports
// 7 to delete and deletes nothing, the real run leaves the 3 newest.
func TestRetention(t *testing.T) {
	t.Parallel()
	e, api := newAdminEnv(t)
	project := "ret-" + randHex(4)
	api.call("POST", "/projects", map[string]any{"project_name": project}, http.StatusCreated)
	var quotas []struct {
		Ref struct {
			ID uint64 `json:"id"`
		} `json:"ref"`
	}
	if err := json.Unmarshal(api.call("GET", "/quotas?reference=project&reference_id="+project, nil, http.StatusOK), &quotas); err != nil || len(quotas) != 1 {
		t.Fatalf("finding the project's id: %v", err)
	}
	id := strconv.FormatUint(quotas[0].Ref.ID, 10)
	repo := project + "/app"
	for i := 1; i <= 10; i++ {
		layout := filepath.Join(t.TempDir(), "layout")
		writeImageLayout(t, layout, "v", newImage(t, "amd64", 4<<10))
		e.run("crane", "push", "--insecure", layout, e.ref(repo, fmt.Sprint(":v", i)))
	}
	api.call("POST", "/retentions", map[string]any{
		"algorithm": "or",
		"rules": []map[string]any{{
			"action": "retain", "template": "latestPushedK", "params": map[string]int{"latestPushedK": 3},
			"tag_selectors":   []map[string]string{{"kind": "doublestar", "decoration": "matches", "pattern": "**", "extras": `{"untagged":true}`}},
			"scope_selectors": map[string][]map[string]string{"repository": {{"kind": "doublestar", "decoration": "repoMatches", "pattern": "**"}}},
		}},
		"trigger": map[string]any{"kind": "Schedule", "settings": map[string]string{"cron": "0 0 0 1 */1 *"}},
		"scope":   map[string]any{"level": "project", "ref": quotas[0].Ref.ID},
	}, http.StatusCreated)

	run := func(dry bool) (deleted int) {
		t.Helper()
		api.call("POST", "/retentions/"+id+"/executions", map[string]bool{"dry_run": dry}, http.StatusCreated)
		var ended struct {
			Status  string `json:"status"`
			Deleted int    `json:"deleted"`
		}
		waitFor(t, "the retention run to end", func() bool {
			var exs []struct {
				Status  string `json:"status"`
				DryRun  bool   `json:"dry_run"`
				Deleted int    `json:"deleted"`
			}
			if err := json.Unmarshal(api.call("GET", "/retentions/"+id+"/executions", nil, http.StatusOK), &exs); err != nil {
				t.Fatal(err)
			}
			if len(exs) == 0 || exs[0].DryRun != dry || exs[0].Status == "Pending" || exs[0].Status == "Running" {
				return false
			}
			ended.Status, ended.Deleted = exs[0].Status, exs[0].Deleted
			return true
		})
		if ended.Status != "Succeed" {
			t.Fatalf("retention run ended %s", ended.Status)
		}
		return ended.Deleted
	}
	tags := func() []string {
		out := lines(e.run("crane", "ls", "--insecure", e.ref(repo, "")))
		slices.Sort(out)
		return out
	}
	if n := run(true); n != 7 {
		t.Fatalf("the dry run would delete %d, want 7", n)
	}
	if got := tags(); len(got) != 10 {
		t.Fatalf("after the dry run: tags %v, want all 10", got)
	}
	if n := run(false); n != 7 {
		t.Fatalf("the real run deleted %d, want 7", n)
	}
	if got := tags(); strings.Join(got, " ") != "v10 v8 v9" {
		t.Fatalf("after the real run: tags %v, want v8, v9, v10", got)
	}
}
