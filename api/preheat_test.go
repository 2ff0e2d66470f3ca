package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/testjobs"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/preheat"
	"github.com/berthreg/berth/scan"
)

// p2pFake is the test's P2P provider (vendor "fake"). The real providers
// (preheat/kraken, and Dragonfly's) are tested against their vendors'
// APIs in their own packages, and the Service's use of the Provider seam
// in package preheat; what matters here is the HTTP translation, so the
// provider's answers are set by the test: its health, and whether its
// preheat jobs end at their first status read or run on.
type p2pFake struct {
	mu        sync.Mutex
	healthErr error
	// runForever keeps every job RUNNING.
	runForever bool
	asked      []preheat.Image
}

func (f *p2pFake) factory(e preheat.Endpoint) (preheat.Provider, error) {
	if !strings.HasPrefix(e.URL, "http://") && !strings.HasPrefix(e.URL, "https://") {
		return nil, fmt.Errorf("%w: %q", preheat.ErrBadEndpoint, e.URL)
	}
	return f, nil
}

func (f *p2pFake) set(fn func(*p2pFake)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *p2pFake) Health(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.healthErr
}

func (f *p2pFake) Preheat(_ context.Context, img preheat.Image) (preheat.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, img)
	return preheat.Job{ID: fmt.Sprintf("job-%d", len(f.asked)), Status: preheat.StatusPending}, nil
}

func (f *p2pFake) Job(_ context.Context, id string) (preheat.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.runForever {
		return preheat.Job{ID: id, Status: preheat.StatusRunning}, nil
	}
	return preheat.Job{ID: id, Status: preheat.StatusSuccess}, nil
}

// unsigned is the test's signature check: nothing is signed here (how
// the filters select is package preheat's to test; the API only carries
// them).
func unsigned(context.Context, string, digest.Digest) (bool, error) { return false, nil }

// preheatEnv is the API over a real bbolt store with a real preheat
// Service, job queue and runner (running until the test ends), project
// team (private, alice's: its project administrator) with mia its
// maintainer and gus its guest, bob in no project, and a robot of team.
type preheatEnv struct {
	store                   meta.Store
	svc                     *preheat.Service
	fake                    *p2pFake
	admin, alice, mia, gus  client
	bob, anon, robot        client
	url                     string
	accounts                *accounts.Manager
	instanceID, instanceID2 int64
}

func newPreheatAPI(t *testing.T) *preheatEnv {
	t.Helper()
	ctx := t.Context()
	store := openStore(t)
	runner := testjobs.Runner(t, store, jobs.WithPoll(20*time.Millisecond), jobs.WithWorkers(2))
	queue := testjobs.Queue(t, store, jobs.WithNotify(runner.Wake))
	env := &preheatEnv{store: store, fake: &p2pFake{}}
	svc, err := preheat.New(store, queue, preheat.StoreArtifacts(store, unsigned), preheat.WithProvider("fake", env.fake.factory),
		preheat.WithRegistryURL("https://registry.example"), preheat.WithPolling(10*time.Millisecond, time.Minute),
		preheat.WithScheduler(runner))
	if err != nil {
		t.Fatal(err)
	}
	svc.Register(runner, jobs.KindOptions{Backoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = runner.Run(runCtx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	env.svc = svc
	url, m := newAPIOn(t, store, WithPreheat(svc))
	env.url, env.accounts = url, m
	alice := auth.Principal{Name: "alice", Kind: auth.User}
	for _, u := range []string{"mia", "gus"} {
		if err := m.SetUser(ctx, u, u+"-password", false); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.CreateProject(ctx, alice, "team", false); err != nil {
		t.Fatal(err)
	}
	for user, role := range map[string]rbac.Role{"mia": rbac.Maintainer, "gus": rbac.Guest} {
		if _, err := m.AddMember(ctx, alice, "team", "user", user, role); err != nil {
			t.Fatal(err)
		}
	}
	robotName, secret, err := m.CreateRobot(ctx, auth.Principal{Name: "admin", Kind: auth.User, Admin: true}, accounts.RobotSpec{
		Project: "team", Name: "ci", Grants: []accounts.Grant{{Project: "team", Pattern: "team/**", Actions: []string{auth.ActionPull, auth.ActionPush}}}})
	if err != nil {
		t.Fatal(err)
	}
	env.admin = client{t, url, "admin", "admin-password"}
	env.alice = client{t, url, "alice", "alice-password"}
	env.mia = client{t, url, "mia", "mia-password"}
	env.gus = client{t, url, "gus", "gus-password"}
	env.bob = client{t, url, "bob", "bob-password"}
	env.robot = client{t, url, robotName, secret}
	env.anon = client{t: t, url: url}
	return env
}

// push records an image manifest of repo tagged tags, as a push does.
func (env *preheatEnv) push(t *testing.T, repo string, tags ...string) digest.Digest {
	t.Helper()
	d := digest.FromString(repo + "|" + strings.Join(tags, ","))
	if err := env.store.Update(t.Context(), func(tx meta.Tx) error {
		if _, _, err := tx.Repositories().Ensure(repo); err != nil {
			return err
		}
		if err := tx.Manifests().Put(repo, meta.Manifest{Digest: d, MediaType: "application/vnd.oci.image.manifest.v1+json",
			ArtifactType: "application/vnd.oci.image.config.v1+json", Size: 100}); err != nil {
			return err
		}
		for _, tag := range tags {
			if err := tx.Tags().Put(repo, tag, d); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return d
}

// storedInstance reads instance id as the store keeps it, secrets and all.
func (env *preheatEnv) storedInstance(t *testing.T, id int64) preheat.Instance {
	t.Helper()
	var in preheat.Instance
	if err := env.store.View(t.Context(), func(tx meta.Tx) error {
		var err error
		in, err = preheat.Instances.In(tx).Get(preheat.IDKey(id))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return in
}

// getJSON GETs path as c, wanting 200, and decodes the answer into v.
func getJSON(t *testing.T, c client, path string, v any) *http.Response {
	t.Helper()
	resp, out := c.want("GET", path, "", 200, "")
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, out)
	}
	return resp
}

// createInstances creates instances p2p-a (default, BASIC) and p2p-b
// (OAUTH) through the API and records their ids.
func (env *preheatEnv) createInstances(t *testing.T) {
	t.Helper()
	resp, _ := env.admin.want("POST", "/p2p/preheat/instances", `{"name":"p2p-a","description":"the first","vendor":"fake",
		"endpoint":"https://p2p-a.example","auth_mode":"BASIC","auth_info":{"username":"harbor","password":"s3cret-a"},
		"enabled":true,"default":true}`, 201, "")
	if loc := resp.Header.Get("Location"); loc != Prefix+"/p2p/preheat/instances/p2p-a" {
		t.Errorf("Location %q", loc)
	}
	env.admin.want("POST", "/p2p/preheat/instances", `{"name":"p2p-b","vendor":"fake","endpoint":"https://p2p-b.example/",
		"auth_mode":"OAUTH","auth_info":{"token":"s3cret-b"},"enabled":true}`, 201, "")
	var a, b preheatInstanceJSON
	getJSON(t, env.admin, "/p2p/preheat/instances/p2p-a", &a)
	getJSON(t, env.admin, "/p2p/preheat/instances/p2p-b", &b)
	env.instanceID, env.instanceID2 = a.ID, b.ID
}

// policyBody is a policy request naming instance id.
func policyBody(name string, id int64, filters, trigger string) string {
	raw, _ := json.Marshal(map[string]any{"name": name, "provider_id": id, "filters": filters, "trigger": trigger, "enabled": true})
	return string(raw)
}

// TestPreheatInstances: instances through HTTP: created with their
// secret stored but never answered, listed with paging and q, read,
// updated (a secret left out kept, a changed endpoint needing it again),
// pinged (healthy, unhealthy: 400, unknown: 404), refused with the field
// named, and deleted only once no policy uses them (409 before).
func TestPreheatInstances(t *testing.T) {
	env := newPreheatAPI(t)
	admin := env.admin

	var vendors []preheatMetadataJSON
	getJSON(t, admin, "/p2p/preheat/providers", &vendors)
	if len(vendors) != 1 || vendors[0].ID != "fake" || vendors[0].Name != "fake" {
		t.Errorf("providers %+v", vendors)
	}

	env.createInstances(t)
	_, out := admin.want("GET", "/p2p/preheat/instances/p2p-a", "", 200, "")
	if strings.Contains(out, "s3cret") || strings.Contains(out, "password") {
		t.Errorf("the answer shows the secret: %s", out)
	}
	var a preheatInstanceJSON
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatal(err)
	}
	if a.ID == 0 || a.Name != "p2p-a" || a.Description != "the first" || a.Vendor != "fake" || a.Endpoint != "https://p2p-a.example" ||
		a.AuthMode != "BASIC" || a.AuthInfo["username"] != "harbor" || len(a.AuthInfo) != 1 || a.Status != preheat.HealthUnknown ||
		!a.Enabled || !a.Default || a.Insecure || a.SetupTimestamp == 0 {
		t.Errorf("GET p2p-a: %s", out)
	}
	if stored := env.storedInstance(t, a.ID); stored.AuthInfo["password"] != "s3cret-a" {
		t.Errorf("stored %+v", stored)
	}
	_, out = admin.want("GET", "/p2p/preheat/instances", "", 200, "")
	if strings.Contains(out, "s3cret") {
		t.Errorf("the list shows a secret: %s", out)
	}

	// Paging, q and sort.
	var list []preheatInstanceJSON
	resp := getJSON(t, admin, "/p2p/preheat/instances?page_size=1", &list)
	if len(list) != 1 || list[0].Name != "p2p-a" || resp.Header.Get("X-Total-Count") != "2" || !strings.Contains(resp.Header.Get("Link"), `rel="next"`) {
		t.Errorf("page 1: %+v, headers %v", list, resp.Header)
	}
	resp = getJSON(t, admin, "/p2p/preheat/instances?page=2&page_size=1", &list)
	if len(list) != 1 || list[0].Name != "p2p-b" || list[0].Endpoint != "https://p2p-b.example" || !strings.Contains(resp.Header.Get("Link"), `rel="prev"`) {
		t.Errorf("page 2: %+v, headers %v", list, resp.Header)
	}
	resp = getJSON(t, admin, "/p2p/preheat/instances?q=name%3D~b", &list)
	if len(list) != 1 || list[0].Name != "p2p-b" || resp.Header.Get("X-Total-Count") != "1" {
		t.Errorf("q=name=~b: %+v", list)
	}
	getJSON(t, admin, "/p2p/preheat/instances?q=name%253D~b", &list) // Harbor's portal encodes q twice
	if len(list) != 1 || list[0].Name != "p2p-b" {
		t.Errorf("q encoded twice: %+v", list)
	}
	getJSON(t, admin, "/p2p/preheat/instances?sort=-name", &list)
	if len(list) != 2 || list[0].Name != "p2p-b" {
		t.Errorf("sort=-name: %+v", list)
	}
	wantMention(t, admin, "GET", "/p2p/preheat/instances?q=colour=red", "", 400, "q")
	wantMention(t, admin, "GET", "/p2p/preheat/instances?sort=colour", "", 400, "sort")
	wantMention(t, admin, "GET", "/p2p/preheat/instances?page_size=1000", "", 400, "page_size")

	// Refusals name the field; none is a 500.
	admin.want("POST", "/p2p/preheat/instances", `{"name":"p2p-a","vendor":"fake","endpoint":"https://other.example"}`, 409, "CONFLICT")
	admin.want("POST", "/p2p/preheat/instances", `{"name":"other","vendor":"fake","endpoint":"https://p2p-a.example"}`, 409, "CONFLICT")
	for body, field := range map[string]string{
		`{"name":"x","vendor":"fake","endpoint":"ftp://x.example"}`:                                                      "endpoint",
		`{"name":"x","vendor":"fake","endpoint":"http://127.0.0.1:9"}`:                                                   "endpoint",
		`{"name":"x","vendor":"nope","endpoint":"https://x.example"}`:                                                    "vendor",
		`{"name":"bad name","vendor":"fake","endpoint":"https://x.example"}`:                                             "name",
		`{"name":"..","vendor":"fake","endpoint":"https://x.example"}`:                                                   "name",
		`{"name":"x","vendor":"fake","endpoint":"https://x.example","auth_mode":"BASIC"}`:                                "auth_info.",
		`{"name":"x","vendor":"fake","endpoint":"https://x.example","auth_mode":"KERBEROS"}`:                             "auth_mode",
		`{"name":"x","vendor":"fake","endpoint":"https://x.example","auth_info":{"token":"t"}}`:                          "auth_info.token",
		`{"name":"x","vendor":"fake","endpoint":"https://x.example","enabled":"yes"}`:                                    "enabled",
		`{"name":"x","vendor":"fake","endpoint":"https://x.example","auth_info":{"username":5}}`:                         "auth_info",
		`{"name":"x","vendor":"fake","endpoint":"https://x.example","colour":"red"}`:                                     "colour",
		`{"name":"x","vendor":"fake"`:                                                                                    "body",
		`[1,2]`:                                                                                                          "body",
		``:                                                                                                               "body",
		`{"name":"x","vendor":"fake","endpoint":"https://x.example"} {}`:                                                 "body",
		`{"name":"x","vendor":"fake","endpoint":"https://x.example","description":"` + strings.Repeat("d", 2<<20) + `"}`: "body",
	} {
		wantMention(t, admin, "POST", "/p2p/preheat/instances", body, 400, field)
	}

	// An update keeps the secret it leaves out while the endpoint stays,
	// and asks for it again when the endpoint changes.
	admin.want("PUT", "/p2p/preheat/instances/p2p-a", `{"description":"changed","vendor":"fake","endpoint":"https://p2p-a.example",
		"auth_mode":"BASIC","auth_info":{"username":"harbor"},"enabled":true,"default":true,"status":"Healthy","setup_timestamp":"whatever"}`, 200, "")
	if stored := env.storedInstance(t, a.ID); stored.Description != "changed" || stored.AuthInfo["password"] != "s3cret-a" || stored.SetupTimestamp != a.SetupTimestamp {
		t.Errorf("after the update: %+v", stored)
	}
	wantMention(t, admin, "PUT", "/p2p/preheat/instances/p2p-a", `{"vendor":"fake","endpoint":"https://moved.example","auth_mode":"BASIC",
		"auth_info":{"username":"harbor"},"enabled":true}`, 400, "auth_info.password")
	wantMention(t, admin, "PUT", "/p2p/preheat/instances/p2p-a", `{"vendor":"other","endpoint":"https://p2p-a.example"}`, 400, "vendor")
	admin.want("PUT", "/p2p/preheat/instances/nothere", `{"vendor":"fake","endpoint":"https://n.example"}`, 404, "NOT_FOUND")

	// Ping: by id (the status records the answer), and unstored.
	admin.want("POST", "/p2p/preheat/instances/ping", fmt.Sprintf(`{"id":%d}`, a.ID), 200, "")
	if got := env.storedInstance(t, a.ID).Status; got != preheat.Healthy {
		t.Errorf("status after a good ping %q", got)
	}
	env.fake.set(func(f *p2pFake) { f.healthErr = errors.New("seed peers down") })
	wantMention(t, admin, "POST", "/p2p/preheat/instances/ping", fmt.Sprintf(`{"id":%d}`, a.ID), 400, "seed peers down")
	if got := env.storedInstance(t, a.ID).Status; got != preheat.Unhealthy {
		t.Errorf("status after a failed ping %q", got)
	}
	var again preheatInstanceJSON
	if getJSON(t, admin, "/p2p/preheat/instances/p2p-a", &again); again.Status != preheat.Unhealthy {
		t.Errorf("GET after a failed ping: %+v", again)
	}
	env.fake.set(func(f *p2pFake) { f.healthErr = nil })
	admin.want("POST", "/p2p/preheat/instances/ping", `{"vendor":"fake","endpoint":"https://new.example"}`, 200, "")
	admin.want("POST", "/p2p/preheat/instances/ping", `{"id":999}`, 404, "NOT_FOUND")
	wantMention(t, admin, "POST", "/p2p/preheat/instances/ping", `{"vendor":"fake","endpoint":"gopher://x"}`, 400, "endpoint")

	// Providers under a project: what a policy may name.
	var providers []providerUnderProjectJSON
	getJSON(t, env.alice, "/projects/team/preheat/providers", &providers)
	if len(providers) != 2 || providers[0].ID != a.ID || providers[0].Provider != "p2p-a:fake" || !providers[0].Enabled || !providers[0].Default ||
		providers[1].Provider != "p2p-b:fake" || providers[1].Default {
		t.Errorf("providers under team: %+v", providers)
	}

	// An instance a policy uses is neither disabled nor deleted.
	env.alice.want("POST", "/projects/team/preheat/policies", policyBody("warm", a.ID, "", ""), 201, "")
	wantMention(t, admin, "DELETE", "/p2p/preheat/instances/p2p-a", "", 409, "warm")
	wantMention(t, admin, "PUT", "/p2p/preheat/instances/p2p-a", `{"vendor":"fake","endpoint":"https://p2p-a.example","auth_mode":"BASIC",
		"auth_info":{"username":"harbor"},"enabled":false}`, 409, "warm")
	env.alice.want("DELETE", "/projects/team/preheat/policies/warm", "", 200, "")
	admin.want("DELETE", "/p2p/preheat/instances/p2p-a", "", 200, "")
	admin.want("GET", "/p2p/preheat/instances/p2p-a", "", 404, "NOT_FOUND")
	admin.want("DELETE", "/p2p/preheat/instances/p2p-a", "", 404, "NOT_FOUND")
}

// filterList decodes a filters string.
func filterList(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		t.Fatalf("filters %q: %v", s, err)
	}
	return out
}

// TestPreheatPolicies: policies through HTTP with Harbor's filters and
// trigger strings: created (as Harbor's portal sends them, label braces
// and a severity code as a string too), read back in Harbor's shapes,
// listed, updated (with what was read, as the portal does), refused with
// the field named, and deleted.
func TestPreheatPolicies(t *testing.T) {
	env := newPreheatAPI(t)
	env.createInstances(t)
	alice := env.alice

	filters := `[{"type":"repository","value":"app/**"},{"type":"tag","value":"{v*,latest}"},{"type":"label","value":"{prod,approved}"},
		{"type":"signature","value":true},{"type":"vulnerability","value":"4"}]`
	trigger := `{"type":"scheduled","trigger_setting":{"cron":"0 0 * * * *"}}`
	resp, _ := alice.want("POST", "/projects/team/preheat/policies", `{"name":"nightly","description":"warm the apps","project_id":1,
		"provider_id":`+fmt.Sprint(env.instanceID)+`,"filters":`+jsonString(filters)+`,"trigger":`+jsonString(trigger)+`,"enabled":true,
		"extra_attrs":"{\"scope\":\"all_peers\"}"}`, 201, "")
	if loc := resp.Header.Get("Location"); loc != Prefix+"/projects/team/preheat/policies/nightly" {
		t.Errorf("Location %q", loc)
	}
	stored, err := env.svc.Policy(t.Context(), auth.Principal{Name: "alice", Kind: auth.User}, "team", "nightly")
	if err != nil {
		t.Fatal(err)
	}
	want := preheat.Filters{Repository: "app/**", Tag: "{v*,latest}", Labels: []string{"prod", "approved"}, Signature: true, Vulnerability: scan.SeverityHigh}
	if fmt.Sprint(stored.Filters) != fmt.Sprint(want) || stored.Trigger.Type != preheat.TriggerScheduled || stored.Trigger.Settings.Cron != "0 0 * * * *" ||
		stored.Scope != preheat.ScopeAllPeers || stored.ProviderID != env.instanceID || stored.CreatedBy != "alice" {
		t.Errorf("stored %+v", stored)
	}

	var got preheatPolicyJSON
	_, out := alice.want("GET", "/projects/team/preheat/policies/nightly", "", 200, "")
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	fl := filterList(t, got.Filters)
	wantFilters := `[map[type:repository value:app/**] map[type:tag value:{v*,latest}] map[type:label value:prod,approved] map[type:signature value:true] map[type:vulnerability value:4]]`
	if fmt.Sprint(fl) != wantFilters {
		t.Errorf("filters %s, want %s", got.Filters, wantFilters)
	}
	var trig map[string]any
	if err := json.Unmarshal([]byte(got.Trigger), &trig); err != nil || fmt.Sprint(trig) != "map[trigger_setting:map[cron:0 0 * * * *] type:scheduled]" {
		t.Errorf("trigger %s (%v)", got.Trigger, err)
	}
	if got.Name != "nightly" || got.Description != "warm the apps" || got.ProviderID != env.instanceID || got.ProviderName != "p2p-a" ||
		got.ProjectID == 0 || !got.Enabled || got.Scope != "all_peers" || got.ExtraAttrs != `{"scope":"all_peers"}` ||
		got.CreationTime.IsZero() || got.UpdateTime.IsZero() || got.Creator != "alice" {
		t.Errorf("GET: %s", out)
	}

	// What was read goes back as an update (the portal's enable switch).
	got.Enabled = false
	back, _ := json.Marshal(got)
	alice.want("PUT", "/projects/team/preheat/policies/nightly", string(back), 200, "")
	var after preheatPolicyJSON
	getJSON(t, alice, "/projects/team/preheat/policies/nightly", &after)
	if after.Enabled || after.Filters != got.Filters || after.Trigger != got.Trigger || after.ID != got.ID || !after.CreationTime.Equal(got.CreationTime) {
		t.Errorf("after the round trip: %+v, before %+v", after, got)
	}
	// A manual trigger keeps no cron, and reads back with trigger_setting.
	alice.want("PUT", "/projects/team/preheat/policies/nightly", policyBody("", env.instanceID, `[{"type":"vulnerability","value":0},{"type":"label","value":["a"," b"]}]`,
		`{"type":"manual","trigger_setting":{"cron":""}}`), 200, "")
	getJSON(t, alice, "/projects/team/preheat/policies/nightly", &after)
	if after.Trigger != `{"type":"manual","trigger_setting":{}}` || after.Filters != `[{"type":"label","value":"a,b"},{"type":"vulnerability","value":0}]` ||
		after.Scope != "single_peer" {
		t.Errorf("after the manual update: %+v", after)
	}

	// Listing, paged, queried and sorted.
	alice.want("POST", "/projects/team/preheat/policies", policyBody("adhoc", env.instanceID2, "", ""), 201, "")
	alice.want("POST", "/projects/team/preheat/policies", policyBody("onpush", env.instanceID, `[{"type":"tag","value":"v*"}]`, `{"type":"event_based"}`), 201, "")
	var list []preheatPolicyJSON
	resp = getJSON(t, alice, "/projects/team/preheat/policies?page_size=2", &list)
	if len(list) != 2 || list[0].Name != "adhoc" || list[1].Name != "nightly" || resp.Header.Get("X-Total-Count") != "3" ||
		!strings.Contains(resp.Header.Get("Link"), `rel="next"`) || list[0].ProviderName != "p2p-b" {
		t.Errorf("page 1: %+v, headers %v", list, resp.Header)
	}
	getJSON(t, alice, "/projects/team/preheat/policies?q=name%3Donpush", &list)
	if len(list) != 1 || list[0].Name != "onpush" {
		t.Errorf("q=name=onpush: %+v", list)
	}
	getJSON(t, alice, "/projects/team/preheat/policies?sort=-creation_time&page_size=1", &list)
	if len(list) != 1 || list[0].Name != "onpush" {
		t.Errorf("sort=-creation_time: %+v", list)
	}

	// Refusals name the field: the filters, the trigger, its cron, the
	// severity, the instance; a taken name is a 409.
	id := env.instanceID
	for _, c := range []struct{ body, field string }{
		{policyBody("bad", id, `not json`, ""), "filters"},
		{policyBody("bad", id, `{"type":"tag","value":"v*"}`, ""), "filters"},
		{policyBody("bad", id, `[{"type":"colour","value":"red"}]`, ""), "filters[0].type"},
		{policyBody("bad", id, `[{"type":"tag","value":"v*"},{"type":"tag","value":"x"}]`, ""), "filters[1].type"},
		{policyBody("bad", id, `[{"type":"tag","value":7}]`, ""), "filters[0].value"},
		{policyBody("bad", id, `[{"type":"tag"}]`, ""), "filters[0].value"},
		{policyBody("bad", id, `[{"type":"signature","value":"true"}]`, ""), "filters[0].value"},
		{policyBody("bad", id, `[{"type":"vulnerability","value":9}]`, ""), "filters[0].value"},
		{policyBody("bad", id, `[{"type":"vulnerability","value":2.5}]`, ""), "filters[0].value"},
		{policyBody("bad", id, `[{"type":"vulnerability","value":"severe"}]`, ""), "filters[0].value"},
		{policyBody("bad", id, `[{"type":"label","value":{"a":1}}]`, ""), "filters[0].value"},
		{policyBody("bad", id, `[{"type":"label","value":["a,b"]}]`, ""), "filters[0].value"},
		{policyBody("bad", id, `[{"type":"label","value":"a,,b"}]`, ""), "filters.label"},
		{policyBody("bad", id, `[{"type":"repository","value":"["}]`, ""), "filters.repository"},
		{policyBody("bad", id, `[{"type":"tag","value":"v*","kind":"x"}]`, ""), "filters.kind"},
		{policyBody("bad", id, "", `{"type":"weekly"}`), "trigger.type"},
		{policyBody("bad", id, "", `{"type":"scheduled"}`), "trigger.trigger_setting.cron"},
		{policyBody("bad", id, "", `{"type":"scheduled","trigger_setting":{"cron":"every day"}}`), "trigger.trigger_setting.cron"},
		{policyBody("bad", id, "", `{"type":"scheduled","trigger_setting":{"cron":5}}`), "trigger.trigger_setting.cron"},
		{policyBody("bad", id, "", `["manual"]`), "trigger"},
		{policyBody("bad", 999, "", ""), "provider_id"},
		{policyBody("bad", 0, "", ""), "provider_id"},
		{policyBody("bad name", id, "", ""), "name"},
		{policyBody(".", id, "", ""), "name"}, // naming.CheckName lets it through; no URL reaches it
		{`{"name":"bad","provider_id":"one"}`, "provider_id"},
		{`{"name":"bad","provider_id":1,"filters":[{"type":"tag","value":"v*"}]}`, "filters"},
		{`{"name":"bad","provider_id":1,"scope":"everywhere"}`, "scope"},
		{`{"name":"bad","provider_id":1,"extra_attrs":"{\"cluster_ids\":[1]}"}`, "extra_attrs.cluster_ids"},
		{`{"name":"bad","provider_id":1,"extra_attrs":"{\"scope\":\"single_peer\"}","scope":"all_peers"}`, "scope"},
		{`{"name":"bad","provider_id":1,"extra_attrs":"nope"}`, "extra_attrs"},
		{`{"name":"bad","provider_id":1,"colour":"red"}`, "colour"},
		{`{"name":"bad"`, "body"},
	} {
		wantMention(t, alice, "POST", "/projects/team/preheat/policies", c.body, 400, c.field)
	}
	alice.want("POST", "/projects/team/preheat/policies", policyBody("adhoc", id, "", ""), 409, "CONFLICT")
	wantMention(t, alice, "PUT", "/projects/team/preheat/policies/adhoc", policyBody("renamed", id, "", ""), 400, "name")
	alice.want("PUT", "/projects/team/preheat/policies/nothere", policyBody("", id, "", ""), 404, "NOT_FOUND")
	alice.want("GET", "/projects/nothere/preheat/policies", "", 404, "NOT_FOUND")

	// Deleted, a policy is gone.
	alice.want("DELETE", "/projects/team/preheat/policies/adhoc", "", 200, "")
	alice.want("GET", "/projects/team/preheat/policies/adhoc", "", 404, "NOT_FOUND")
	alice.want("DELETE", "/projects/team/preheat/policies/adhoc", "", 404, "NOT_FOUND")
}

// jsonString quotes s as a JSON string.
func jsonString(s string) string {
	raw, _ := json.Marshal(s)
	return string(raw)
}

// TestPreheatExecutions: a manual run through HTTP (with the policy as
// the body, as Harbor's portal sends it) makes an execution whose tasks
// preheat each selected image into the instance, read as Harbor's
// Execution and Task with a text log; a run that does not end is stopped
// with PATCH {"status":"Stopped"}, and a policy is not deleted while its
// execution runs.
func TestPreheatExecutions(t *testing.T) {
	env := newPreheatAPI(t)
	env.createInstances(t)
	alice := env.alice
	env.push(t, "team/app", "v1", "v2")
	env.push(t, "team/app", "v3")
	env.push(t, "team/other", "v1")
	env.push(t, "team/app", "dev")

	alice.want("POST", "/projects/team/preheat/policies", policyBody("apps", env.instanceID,
		`[{"type":"repository","value":"app"},{"type":"tag","value":"v*"}]`, `{"type":"manual"}`), 201, "")
	var pol preheatPolicyJSON
	getJSON(t, alice, "/projects/team/preheat/policies/apps", &pol)
	body, _ := json.Marshal(pol)
	resp, _ := alice.want("POST", "/projects/team/preheat/policies/apps", string(body), 201, "")
	loc := resp.Header.Get("Location")
	base := Prefix + "/projects/team/preheat/policies/apps/executions/"
	if !strings.HasPrefix(loc, base) {
		t.Fatalf("Location %q", loc)
	}
	execPath := strings.TrimPrefix(loc, Prefix)

	var e preheatExecutionJSON
	eventually.True(t, "the execution ends", func() bool {
		getJSON(t, alice, execPath, &e)
		return preheat.RunStatus(e.Status).Final()
	})
	if e.Status != "Success" || e.VendorType != "P2P_PREHEAT" || e.VendorID != pol.ID || e.Trigger != "MANUAL" ||
		e.Metrics.TaskCount != 2 || e.Metrics.SuccessTaskCount != 2 || e.ExtraAttrs["operator"] != "alice" ||
		e.StartTime.IsZero() || e.EndTime.IsZero() || base+fmt.Sprint(e.ID) != loc {
		t.Errorf("execution %+v", e)
	}
	var execs []preheatExecutionJSON
	resp = getJSON(t, alice, "/projects/team/preheat/policies/apps/executions", &execs)
	if len(execs) != 1 || execs[0].ID != e.ID || resp.Header.Get("X-Total-Count") != "1" {
		t.Errorf("executions %+v", execs)
	}
	getJSON(t, alice, fmt.Sprintf("/projects/team/preheat/policies/apps/executions?q=id%%3D~%d", e.ID), &execs)
	if len(execs) != 1 {
		t.Errorf("executions q=id: %+v", execs)
	}

	var tasks []preheatTaskJSON
	resp = getJSON(t, alice, execPath+"/tasks", &tasks)
	if len(tasks) != 2 || resp.Header.Get("X-Total-Count") != "2" {
		t.Fatalf("tasks %+v", tasks)
	}
	// One task per digest: v1 and v2 are one image, preheated by its first tag.
	if tasks[0].ExtraAttrs["artifact"] != "team/app:v1" || tasks[1].ExtraAttrs["artifact"] != "team/app:v3" ||
		tasks[0].Status != "Success" || tasks[0].ExecutionID != e.ID || tasks[0].ExtraAttrs["kind"] != "image" ||
		!strings.HasPrefix(tasks[0].ExtraAttrs["digest"], "sha256:") || tasks[0].ExtraAttrs["media_type"] != "application/vnd.oci.image.manifest.v1+json" || tasks[0].ExtraAttrs["provider_job_id"] == "" || tasks[0].RunCount < 1 {
		t.Errorf("tasks %+v", tasks)
	}
	getJSON(t, alice, execPath+"/tasks?q=status%3DSuccess&sort=-id&page_size=1", &tasks)
	if len(tasks) != 1 || tasks[0].ExtraAttrs["artifact"] != "team/app:v3" {
		t.Errorf("tasks sorted by -id: %+v", tasks)
	}
	resp, log := alice.want("GET", fmt.Sprintf("%s/tasks/%d/logs", execPath, tasks[0].ID), "", 200, "")
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || !strings.Contains(log, "job-") {
		t.Errorf("log (%s): %q", ct, log)
	}
	alice.want("GET", execPath+"/tasks/999999/logs", "", 404, "NOT_FOUND")
	alice.want("GET", "/projects/team/preheat/policies/apps/executions/999999", "", 404, "NOT_FOUND")
	wantMention(t, alice, "GET", "/projects/team/preheat/policies/apps/executions/seven", "", 400, "execution_id")

	// A run that does not end is stopped.
	env.fake.set(func(f *p2pFake) { f.runForever = true })
	resp, _ = alice.want("POST", "/projects/team/preheat/policies/apps", "", 201, "")
	running := strings.TrimPrefix(resp.Header.Get("Location"), Prefix)
	eventually.True(t, "the second run's tasks are running", func() bool {
		getJSON(t, alice, running, &e)
		return e.Metrics.RunningTaskCount == 2
	})
	wantMention(t, alice, "DELETE", "/projects/team/preheat/policies/apps", "", 409, "stop it first")
	wantMention(t, alice, "PATCH", running, `{"status":"Running"}`, 400, "status")
	wantMention(t, alice, "PATCH", running, `{"status":"Stopped","metrics":"odd","colour":1}`, 400, "colour")
	getJSON(t, alice, running, &e)
	stop, _ := json.Marshal(map[string]any{"id": e.ID, "vendor_type": e.VendorType, "vendor_id": e.VendorID, "status": "Stopped",
		"metrics": e.Metrics, "trigger": e.Trigger, "start_time": e.StartTime, "extra_attrs": e.ExtraAttrs})
	alice.want("PATCH", running, string(stop), 200, "")
	getJSON(t, alice, running, &e)
	if e.Status != "Stopped" || e.Metrics.StoppedTaskCount != 2 || e.EndTime.IsZero() || !strings.Contains(e.StatusMessage, "alice") {
		t.Errorf("stopped execution %+v", e)
	}
	getJSON(t, alice, running+"/tasks", &tasks)
	if len(tasks) != 2 || tasks[0].Status != "Stopped" || tasks[1].Status != "Stopped" {
		t.Errorf("stopped tasks %+v", tasks)
	}
	alice.want("PATCH", running, `{"status":"Stopped"}`, 200, "") // an ended execution is left as it is

	// A disabled policy does not run.
	var apps preheatPolicyJSON
	getJSON(t, alice, "/projects/team/preheat/policies/apps", &apps)
	apps.Enabled = false
	body, _ = json.Marshal(apps)
	alice.want("PUT", "/projects/team/preheat/policies/apps", string(body), 200, "")
	wantMention(t, alice, "POST", "/projects/team/preheat/policies/apps", "", 400, "enabled")
	alice.want("DELETE", "/projects/team/preheat/policies/apps", "", 200, "")
	alice.want("GET", running, "", 404, "NOT_FOUND")
}

// TestPreheatRights: who may do what, through HTTP. Instances and
// providers are the system administrators' (others 403, anonymous 401);
// a project's policies, executions, tasks and logs are its project
// administrators' and the system administrators': maintainers, guests
// and robots are 403, a signed-in user who cannot see the project 404,
// anonymous 401, whatever the body.
func TestPreheatRights(t *testing.T) {
	env := newPreheatAPI(t)
	env.createInstances(t)
	env.push(t, "team/app", "v1")
	env.alice.want("POST", "/projects/team/preheat/policies", policyBody("apps", env.instanceID, "", ""), 201, "")
	resp, _ := env.alice.want("POST", "/projects/team/preheat/policies/apps", "", 201, "")
	execPath := strings.TrimPrefix(resp.Header.Get("Location"), Prefix)
	var tasks []preheatTaskJSON
	eventually.True(t, "the execution has its task", func() bool {
		getJSON(t, env.alice, execPath+"/tasks", &tasks)
		return len(tasks) == 1
	})
	logPath := fmt.Sprintf("%s/tasks/%d/logs", execPath, tasks[0].ID)

	newInstance := `{"name":"p2p-c","vendor":"fake","endpoint":"https://p2p-c.example","enabled":true}`
	system := []struct{ method, path, body string }{
		{"GET", "/p2p/preheat/providers", ""},
		{"GET", "/p2p/preheat/instances", ""},
		{"GET", "/p2p/preheat/instances/p2p-a", ""},
		{"POST", "/p2p/preheat/instances", newInstance},
		{"POST", "/p2p/preheat/instances", `{"name":`}, // a bad body is refused for the caller's rights first
		{"PUT", "/p2p/preheat/instances/p2p-b", `{"vendor":"fake","endpoint":"https://p2p-b.example","enabled":true}`},
		{"POST", "/p2p/preheat/instances/ping", `{"vendor":"fake","endpoint":"https://p2p-c.example"}`},
		{"DELETE", "/p2p/preheat/instances/p2p-b", ""},
	}
	for _, c := range []struct {
		who    client
		status int
		code   string
	}{{env.alice, 403, "FORBIDDEN"}, {env.mia, 403, "FORBIDDEN"}, {env.gus, 403, "FORBIDDEN"}, {env.bob, 403, "FORBIDDEN"},
		{env.robot, 403, "FORBIDDEN"}, {env.anon, 401, "UNAUTHORIZED"}} {
		for _, r := range system {
			c.who.want(r.method, r.path, r.body, c.status, c.code)
		}
	}
	for _, r := range system {
		status := 200
		switch {
		case r.method == "POST" && r.body == newInstance:
			status = 201
		case r.body == `{"name":`:
			status = 400
		}
		env.admin.want(r.method, r.path, r.body, status, "")
	}

	project := []struct{ method, path, body string }{
		{"GET", "/projects/team/preheat/providers", ""},
		{"GET", "/projects/team/preheat/policies", ""},
		{"GET", "/projects/team/preheat/policies/apps", ""},
		{"POST", "/projects/team/preheat/policies", policyBody("more", env.instanceID, "", "")},
		{"POST", "/projects/team/preheat/policies", policyBody("more", env.instanceID, `[{"type":"colour"}]`, "")}, // bad filters: rights first
		{"PUT", "/projects/team/preheat/policies/apps", policyBody("", env.instanceID, "", "")},
		{"POST", "/projects/team/preheat/policies/apps", ""},
		{"GET", "/projects/team/preheat/policies/apps/executions", ""},
		{"GET", execPath, ""},
		{"PATCH", execPath, `{"status":"Stopped"}`},
		{"PATCH", execPath, `{"status":"Running"}`},
		{"GET", execPath + "/tasks", ""},
		{"GET", logPath, ""},
		{"DELETE", "/projects/team/preheat/policies/more", ""},
	}
	for _, c := range []struct {
		who    client
		status int
		code   string
	}{{env.mia, 403, "FORBIDDEN"}, {env.gus, 403, "FORBIDDEN"}, {env.robot, 403, "FORBIDDEN"}, {env.bob, 404, "NOT_FOUND"},
		{env.anon, 401, "UNAUTHORIZED"}} {
		for _, r := range project {
			c.who.want(r.method, r.path, r.body, c.status, c.code)
		}
	}
	for _, who := range []client{env.alice, env.admin} {
		for _, r := range project {
			status := 200
			switch {
			case r.method == "POST" && r.path == "/projects/team/preheat/policies" && strings.Contains(r.body, "colour"):
				status = 400
			case r.method == "POST":
				status = 201
			case r.body == `{"status":"Running"}`:
				status = 400
			}
			who.want(r.method, r.path, r.body, status, "")
		}
	}
}

// TestPreheatWithoutService: a Handler without WithPreheat answers 501.
func TestPreheatWithoutService(t *testing.T) {
	url, _ := newAPI(t)
	admin := client{t, url, "admin", "admin-password"}
	admin.want("GET", "/p2p/preheat/instances", "", 501, "NOT_IMPLEMENTED")
	admin.want("GET", "/projects/team/preheat/policies", "", 501, "NOT_IMPLEMENTED")
}
