package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestImmutableRules(t *testing.T) {
	url, _ := newAPI(t)
	admin := client{t, url, "admin", "admin-password"}
	alice := client{t, url, "alice", "alice-password"}
	bob := client{t, url, "bob", "bob-password"}
	alice.want("POST", "/projects", `{"project_name":"team","metadata":{"public":"true"}}`, http.StatusCreated, "")
	base := "/projects/team/immutabletagrules"
	rule := `{"action":"immutable","template":"immutable_template",
		"tag_selectors":[{"kind":"doublestar","decoration":"matches","pattern":"v*"}],
		"scope_selectors":{"repository":[{"kind":"doublestar","decoration":"repoMatches","pattern":"**"}]}}`
	resp, _ := alice.want("POST", base, rule, http.StatusCreated, "")
	if loc := resp.Header.Get("Location"); loc != Prefix+base+"/1" {
		t.Errorf("Location %q", loc)
	}
	bob.want("GET", base, "", http.StatusForbidden, "FORBIDDEN") // not a member
	_, out := admin.want("GET", base, "", http.StatusOK, "")
	var rules []immutableRuleJSON
	if err := json.Unmarshal([]byte(out), &rules); err != nil || len(rules) != 1 {
		t.Fatalf("rules: %s", out)
	}
	got := rules[0]
	if got.ID != 1 || got.TagSelectors[0].Pattern != "v*" || got.ScopeSelectors["repository"][0].Decoration != "repoMatches" || got.Action != "immutable" {
		t.Fatalf("rule %+v", got)
	}
	// Only who may update the project changes rules.
	bob.want("POST", base, rule, http.StatusForbidden, "FORBIDDEN")
	bob.want("DELETE", base+"/1", "", http.StatusForbidden, "FORBIDDEN")
	// Bad rules name their field.
	for field, body := range map[string]string{
		"tag_selectors[0].decoration":              strings.Replace(rule, `"decoration":"matches"`, `"decoration":"equals"`, 1),
		"scope_selectors.repository[0].decoration": strings.Replace(rule, `"repoMatches"`, `"matches"`, 1),
		"tag_selectors[0].pattern":                 strings.Replace(rule, `"pattern":"v*"`, `"pattern":"{v"`, 1),
		"tag_selectors[0].kind":                    strings.Replace(rule, `"kind":"doublestar","decoration":"matches"`, `"kind":"regex","decoration":"matches"`, 1),
		"action":                                   strings.Replace(rule, `"action":"immutable"`, `"action":"retain"`, 1),
		"tag_selectors":                            strings.Replace(rule, `"tag_selectors":[{"kind":"doublestar","decoration":"matches","pattern":"v*"}]`, `"tag_selectors":[]`, 1),
	} {
		_, out := alice.want("POST", base, body, http.StatusBadRequest, "BAD_REQUEST")
		if !strings.Contains(out, field) {
			t.Errorf("bad %s not named: %s", field, out)
		}
	}
	// Disable it, then delete it.
	alice.want("PUT", base+"/1", strings.Replace(rule, `"action"`, `"disabled":true,"action"`, 1), http.StatusOK, "")
	_, out = admin.want("GET", base, "", http.StatusOK, "")
	if !strings.Contains(out, `"disabled":true`) {
		t.Fatalf("after disabling: %s", out)
	}
	alice.want("PUT", base+"/7", rule, http.StatusNotFound, "NOT_FOUND")
	alice.want("PUT", base+"/x", rule, http.StatusBadRequest, "BAD_REQUEST")
	alice.want("DELETE", base+"/1", "", http.StatusOK, "")
	alice.want("DELETE", base+"/1", "", http.StatusNotFound, "NOT_FOUND")
	admin.want("GET", "/projects/nope/immutabletagrules", "", http.StatusNotFound, "NOT_FOUND")
}
