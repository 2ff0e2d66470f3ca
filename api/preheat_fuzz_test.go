package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/internal/testjobs"
	"github.com/berthreg/berth/preheat"
)

// fuzzPreheatHandler is a Handler serving preheat over a real bbolt
// store and Service (the test's provider, vendor "fake": see p2pFake),
// with project team and its enabled instance p2p-a (id 1) and policy
// seed; requests go to it in process as the system administrator.
func fuzzPreheatHandler(f *testing.F) func(method, path, body string) *httptest.ResponseRecorder {
	f.Helper()
	ctx := f.Context()
	store := testbolt.Open(f)
	m, err := accounts.New(ctx, store, accounts.WithHashCost(bcrypt.MinCost))
	if err != nil {
		f.Fatal(err)
	}
	if err := m.SetUser(ctx, "admin", "admin-password", true); err != nil {
		f.Fatal(err)
	}
	admin := auth.Principal{Name: "admin", Kind: auth.User, Admin: true}
	if err := m.CreateProject(ctx, admin, "team", false); err != nil {
		f.Fatal(err)
	}
	svc, err := preheat.New(store, testjobs.Queue(f, store), preheat.StoreArtifacts(store, unsigned), preheat.WithProvider("fake", (&p2pFake{}).factory))
	if err != nil {
		f.Fatal(err)
	}
	in, err := svc.CreateInstance(ctx, admin, preheat.Instance{Name: "p2p-a", Vendor: "fake", Endpoint: "https://p2p-a.example", Enabled: true})
	if err != nil || in.ID != 1 {
		f.Fatalf("instance %+v: %v", in, err)
	}
	if _, err := svc.CreatePolicy(ctx, admin, preheat.Policy{Name: "seed", Project: "team", ProviderID: 1, Enabled: true,
		Trigger: preheat.Trigger{Type: preheat.TriggerManual}}); err != nil {
		f.Fatal(err)
	}
	h := New(m, store, m, nil, WithPreheat(svc))
	return func(method, path, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, Prefix+path, strings.NewReader(body))
		req.SetBasicAuth("admin", "admin-password")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
}

// checkRefusal fails t unless rec is one of the statuses ok or a 400
// whose Harbor-shaped message names a field ("field: reason").
func checkRefusal(t *testing.T, what string, rec *httptest.ResponseRecorder, ok ...int) {
	t.Helper()
	for _, s := range ok {
		if rec.Code == s {
			return
		}
	}
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("%s: %d %s", what, rec.Code, rec.Body)
	}
	var e struct {
		Errors []struct{ Code, Message string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || len(e.Errors) != 1 {
		t.Fatalf("%s: 400 not in Harbor's error shape: %s", what, rec.Body)
	}
	if field, _, found := strings.Cut(e.Errors[0].Message, ": "); !found || strings.TrimSpace(field) == "" {
		t.Fatalf("%s: 400 %q names no field", what, e.Errors[0].Message)
	}
}

// FuzzPreheatPolicyBody: whatever a policy body holds, creating or
// updating a policy with it never answers 500: it is a 400 naming the
// field, a 409, or a policy that reads back in Harbor's shape and, sent
// back as it was read, is stored unchanged. (preheat's FuzzPolicy
// fuzzes the check itself.)
func FuzzPreheatPolicyBody(f *testing.F) {
	for _, s := range []string{
		`{"name":"p","provider_id":1,"enabled":true}`,
		`{"name":"p","provider_id":1,"filters":"[{\"type\":\"repository\",\"value\":\"**\"},{\"type\":\"tag\",\"value\":\"**\"}]","trigger":"{\"type\":\"manual\",\"trigger_setting\":{\"cron\":\"\"}}","enabled":true}`,
		`{"name":"p","provider_id":1,"filters":"[{\"type\":\"label\",\"value\":\"{a,b}\"},{\"type\":\"signature\",\"value\":true},{\"type\":\"vulnerability\",\"value\":\"3\"}]","trigger":"{\"type\":\"scheduled\",\"trigger_setting\":{\"cron\":\"0 0 * * * *\"}}"}`,
		`{"name":"p","provider_id":1,"filters":"[{\"type\":\"vulnerability\",\"value\":5},{\"type\":\"label\",\"value\":[\"x\"]}]","trigger":"{\"type\":\"event_based\"}","scope":"all_peers"}`,
		`{"name":"p","provider_id":1,"extra_attrs":"{\"scope\":\"single_peer\",\"cluster_ids\":[]}","id":7,"project_id":"x","creation_time":5}`,
		`{"name":"p","provider_id":1,"filters":"[{\"type\":\"tag\",\"value\":\"[\"}]"}`,
		`{"name":"p","provider_id":1,"trigger":"{\"type\":\"scheduled\",\"trigger_setting\":{\"cron\":\"* *\"}}"}`,
		`{"name":"p","provider_id":"1"}`, `{"name":".","provider_id":1}`, `{"filters":[]}`, `[]`, `null`, ``, `{"name":"p"} {}`,
	} {
		f.Add(s)
	}
	do := fuzzPreheatHandler(f)
	f.Fuzz(func(t *testing.T, body string) {
		rec := do("PUT", "/projects/team/preheat/policies/seed", body)
		checkRefusal(t, "PUT seed", rec, http.StatusOK, http.StatusConflict)

		rec = do("POST", "/projects/team/preheat/policies", body)
		checkRefusal(t, "POST", rec, http.StatusCreated, http.StatusConflict)
		if rec.Code != http.StatusCreated {
			return
		}
		path := strings.TrimPrefix(rec.Header().Get("Location"), Prefix)
		defer func() {
			if rec := do("DELETE", path, ""); rec.Code != http.StatusOK {
				t.Fatalf("DELETE %s: %d %s", path, rec.Code, rec.Body)
			}
		}()
		read := func() preheatPolicyJSON {
			rec := do("GET", path, "")
			var p preheatPolicyJSON
			if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &p) != nil {
				t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
			}
			var filters []struct {
				Type  string `json:"type"`
				Value any    `json:"value"`
			}
			var trigger struct {
				Type     string         `json:"type"`
				Settings map[string]any `json:"trigger_setting"`
			}
			if json.Unmarshal([]byte(p.Filters), &filters) != nil || json.Unmarshal([]byte(p.Trigger), &trigger) != nil ||
				trigger.Type == "" || trigger.Settings == nil {
				t.Fatalf("GET %s: filters %q, trigger %q are not Harbor's", path, p.Filters, p.Trigger)
			}
			return p
		}
		first := read()
		back, _ := json.Marshal(first)
		if rec := do("PUT", path, string(back)); rec.Code != http.StatusOK {
			t.Fatalf("PUT back %s: %d %s", back, rec.Code, rec.Body)
		}
		again := read()
		if first.Filters != again.Filters || first.Trigger != again.Trigger || first.Scope != again.Scope ||
			first.ExtraAttrs != again.ExtraAttrs || first.Enabled != again.Enabled || first.Description != again.Description {
			t.Fatalf("round trip changed the policy:\n%+v\n%+v", first, again)
		}
	})
}

// FuzzPreheatInstanceBody: whatever an instance body holds, creating,
// updating or pinging an instance with it never answers 500: it is a 400
// naming the field, a 404 or 409, or an instance that reads back without
// its secrets. (The fake provider's health check reaches no network.)
func FuzzPreheatInstanceBody(f *testing.F) {
	for _, s := range []string{
		`{"name":"x","vendor":"fake","endpoint":"https://x.example","enabled":true}`,
		`{"name":"x","vendor":"fake","endpoint":"https://x.example:8443/","auth_mode":"BASIC","auth_info":{"username":"u","password":"s3cret"},"default":true}`,
		`{"name":"x","vendor":"fake","endpoint":"http://x.example","auth_mode":"OAUTH","auth_info":{"token":"s3cret"},"insecure":true,"status":5,"setup_timestamp":"y"}`,
		`{"id":1}`, `{"id":1,"endpoint":"https://p2p-a.example","auth_mode":"NONE"}`, `{"id":-4}`,
		`{"name":"x","vendor":"fake","endpoint":"http://10.0.0.1"}`, `{"name":"x","vendor":"fake","endpoint":"http://u:p@x"}`,
		`{"name":"x","auth_info":{"password":7}}`, `{"name":"..","vendor":"fake","endpoint":"https://dots.example"}`, `{"name":"p2p-a","vendor":"fake","endpoint":"https://y.example"}`, `[]`, ``, `{`, `{" ":""}`,
	} {
		f.Add(s)
	}
	do := fuzzPreheatHandler(f)
	f.Fuzz(func(t *testing.T, body string) {
		checkRefusal(t, "ping", do("POST", "/p2p/preheat/instances/ping", body), http.StatusOK, http.StatusNotFound)
		checkRefusal(t, "PUT p2p-a", do("PUT", "/p2p/preheat/instances/p2p-a", body), http.StatusOK, http.StatusNotFound, http.StatusConflict)

		rec := do("POST", "/p2p/preheat/instances", body)
		checkRefusal(t, "POST", rec, http.StatusCreated, http.StatusConflict)
		if rec.Code != http.StatusCreated {
			return
		}
		path := strings.TrimPrefix(rec.Header().Get("Location"), Prefix)
		get := do("GET", path, "")
		var in preheatInstanceJSON
		if get.Code != http.StatusOK || json.Unmarshal(get.Body.Bytes(), &in) != nil {
			t.Fatalf("GET %s: %d %s", path, get.Code, get.Body)
		}
		if _, ok := in.AuthInfo["password"]; ok {
			t.Fatalf("GET %s shows the password: %s", path, get.Body)
		}
		if _, ok := in.AuthInfo["token"]; ok {
			t.Fatalf("GET %s shows the token: %s", path, get.Body)
		}
		if rec := do("DELETE", path, ""); rec.Code != http.StatusOK {
			t.Fatalf("DELETE %s: %d %s", path, rec.Code, rec.Body)
		}
	})
}
