package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func TestQuotas(t *testing.T) {
	url, _ := newAPI(t)
	admin := client{t, url, "admin", "admin-password"}
	alice := client{t, url, "alice", "alice-password"}
	quotaOf := func(ref string) quotaJSON {
		t.Helper()
		var q quotaJSON
		_, out := admin.want("GET", "/quotas/"+ref, "", http.StatusOK, "")
		if err := json.Unmarshal([]byte(out), &q); err != nil {
			t.Fatal(err)
		}
		return q
	}

	// An administrator's storage_limit applies; a user's is ignored.
	admin.want("POST", "/projects", `{"project_name":"big","storage_limit":1048576}`, http.StatusCreated, "")
	alice.want("POST", "/projects", `{"project_name":"mine","storage_limit":5}`, http.StatusCreated, "")
	if q := quotaOf("big"); q.Hard["storage"] != 1<<20 || q.Used["storage"] != 0 || q.Ref.Name != "big" || q.ID == 0 || q.ID != q.Ref.ID {
		t.Fatalf("quota of big: %+v", q)
	}
	if q := quotaOf("mine"); q.Hard["storage"] != -1 {
		t.Fatalf("a user's storage_limit applied: %+v", q)
	}
	// By id too.
	byID := quotaOf("big")
	if q := quotaOf(strconv.FormatUint(byID.ID, 10)); q.Ref.Name != "big" {
		t.Fatalf("quota by id %d: %+v", byID.ID, q)
	}
	_, out := admin.want("POST", "/projects", `{"project_name":"bad","storage_limit":-2}`, http.StatusBadRequest, "BAD_REQUEST")
	if !strings.Contains(out, "storage_limit") {
		t.Fatalf("bad storage_limit not named: %s", out)
	}
	admin.want("GET", "/projects/bad", "", http.StatusNotFound, "NOT_FOUND")

	// Listing, filtered by reference_id.
	_, out = admin.want("GET", "/quotas?reference=project&reference_id=mine", "", http.StatusOK, "")
	var list []quotaJSON
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 || list[0].Ref.Name != "mine" {
		t.Fatalf("filtered list: %s", out)
	}
	admin.want("GET", "/quotas?reference=user", "", http.StatusBadRequest, "BAD_REQUEST")

	// Updates: only storage, only by an administrator.
	admin.want("PUT", "/quotas/mine", `{"hard":{"storage":2048}}`, http.StatusOK, "")
	if q := quotaOf("mine"); q.Hard["storage"] != 2048 {
		t.Fatalf("after PUT: %+v", q)
	}
	_, out = admin.want("PUT", "/quotas/mine", `{"hard":{"count":3}}`, http.StatusBadRequest, "BAD_REQUEST")
	if !strings.Contains(out, "hard.count") {
		t.Fatalf("unknown resource not named: %s", out)
	}
	admin.want("PUT", "/quotas/mine", `{"hard":{"storage":-5}}`, http.StatusBadRequest, "BAD_REQUEST")
	admin.want("PUT", "/quotas/nope", `{"hard":{"storage":1}}`, http.StatusNotFound, "NOT_FOUND")
	alice.want("PUT", "/quotas/mine", `{"hard":{"storage":-1}}`, http.StatusForbidden, "FORBIDDEN")
	alice.want("GET", "/quotas", "", http.StatusForbidden, "FORBIDDEN")
	// A user's project update cannot change the limit either.
	alice.want("PUT", "/projects/mine", `{"storage_limit":-1}`, http.StatusOK, "")
	if q := quotaOf("mine"); q.Hard["storage"] != 2048 {
		t.Fatalf("a user's project update changed the limit: %+v", q)
	}
}

// A project's summary tells its members its repository count and quota
// (they may not read /quotas); others get nothing.
func TestProjectSummary(t *testing.T) {
	url, _ := newAPI(t)
	admin := client{t, url, "admin", "admin-password"}
	alice := client{t, url, "alice", "alice-password"}
	admin.want("POST", "/projects", `{"project_name":"team","storage_limit":4096}`, http.StatusCreated, "")
	admin.want("POST", "/projects", `{"project_name":"other"}`, http.StatusCreated, "")
	admin.want("POST", "/projects/team/members", `{"role_id":3,"member_user":{"username":"alice"}}`, http.StatusCreated, "")
	_, out := alice.want("GET", "/projects/team/summary", "", http.StatusOK, "")
	var s projectSummaryJSON
	if err := json.Unmarshal([]byte(out), &s); err != nil || s.Quota == nil || s.Quota.Hard["storage"] != 4096 || s.Quota.Ref.Name != "team" || s.RepoCount != 0 {
		t.Fatalf("the guest's summary: %s", out)
	}
	alice.want("GET", "/quotas?reference=project&reference_id=team", "", http.StatusForbidden, "FORBIDDEN")
	if resp, _ := alice.do("GET", "/projects/other/summary", ""); resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusForbidden {
		t.Errorf("a stranger's summary of a private project: %d", resp.StatusCode)
	}
	// /quotas by a name reads that project alone; an unknown name lists none.
	_, out = admin.want("GET", "/quotas?reference=project&reference_id=nope", "", http.StatusOK, "")
	if strings.TrimSpace(out) != "[]" {
		t.Errorf("quotas of an unknown project: %s", out)
	}
}
