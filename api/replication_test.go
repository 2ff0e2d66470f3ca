package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthreg/berth/internal/testjobs"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registrytest"
	"github.com/berthreg/berth/replication"
)

// pingRecorder is the real replication engine, remembering the endpoints
// the service asked it to ping.
type pingRecorder struct {
	*replication.Engine
	mu     sync.Mutex
	pinged []replication.Registry
}

func (p *pingRecorder) Ping(ctx context.Context, rec replication.Registry) error {
	p.mu.Lock()
	p.pinged = append(p.pinged, rec)
	p.mu.Unlock()
	return p.Engine.Ping(ctx, rec)
}

func (p *pingRecorder) last(t *testing.T) replication.Registry {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.pinged) == 0 {
		t.Fatal("nothing was pinged")
	}
	return p.pinged[len(p.pinged)-1]
}

// replEnv is an API served with the real replication engine (no job
// runner runs: executions stay as the engine and the test leave them).
type replEnv struct {
	store  meta.Store
	svc    *replication.Service
	engine *pingRecorder
	runner *jobs.Runner
	admin  client
	alice  client
	anon   client
}

func newReplicationAPI(t *testing.T, engOpts ...replication.EngineOption) *replEnv {
	t.Helper()
	store := openStore(t)
	env := &replEnv{store: store}
	env.runner = testjobs.Runner(t, store)
	env.engine = &pingRecorder{Engine: newReplicationEngine(t, store, append([]replication.EngineOption{
		replication.WithScheduler(env.runner), replication.WithOutboundGuard(loopbackAllowed)}, engOpts...)...)}
	svc, err := replication.NewService(store, env.engine.Engine, replication.WithPing(env.engine.Ping))
	if err != nil {
		t.Fatal(err)
	}
	env.svc = svc
	url, _ := newAPIOn(t, store, WithReplication(svc))
	env.admin = client{t, url, "admin", "admin-password"}
	env.alice = client{t, url, "alice", "alice-password"}
	env.anon = client{t: t, url: url}
	return env
}

func (env *replEnv) update(t *testing.T, fn func(meta.Tx) error) {
	t.Helper()
	if err := env.store.Update(t.Context(), fn); err != nil {
		t.Fatal(err)
	}
}

func (env *replEnv) endpoint(t *testing.T, name string) replication.Registry {
	t.Helper()
	var rec replication.Registry
	if err := env.store.View(t.Context(), func(tx meta.Tx) error { var err error; rec, err = replication.Registries.In(tx).Get(name); return err }); err != nil {
		t.Fatal(err)
	}
	return rec
}

func (env *replEnv) policy(t *testing.T, name string) replication.PolicyRecord {
	t.Helper()
	var rec replication.PolicyRecord
	if err := env.store.View(t.Context(), func(tx meta.Tx) error { var err error; rec, err = replication.Policies.In(tx).Get(name); return err }); err != nil {
		t.Fatal(err)
	}
	return rec
}

// wantMention checks a 400's message names what is wrong.
func wantMention(t *testing.T, c client, method, path, body string, status int, mention string) {
	t.Helper()
	_, out := c.want(method, path, body, status, "")
	var e struct {
		Errors []struct{ Code, Message string }
	}
	if err := json.Unmarshal([]byte(out), &e); err != nil || len(e.Errors) != 1 || !strings.Contains(e.Errors[0].Message, mention) {
		t.Errorf("%s %s %s: %s, want a message mentioning %q", method, path, body, out, mention)
	}
}

func TestRegistryEndpoints(t *testing.T) {
	env := newReplicationAPI(t)
	admin := env.admin
	body := `{"name":"remote","type":"distribution","description":"the mirror","url":"https://registry.example:5000",
		"credential":{"type":"basic","access_key":"robot","access_secret":"s3cret-value"},"insecure":true}`
	resp, _ := admin.want("POST", "/registries", body, 201, "")
	if loc := resp.Header.Get("Location"); loc != Prefix+"/registries/remote" {
		t.Errorf("Location %q", loc)
	}
	admin.want("POST", "/registries", body, 409, "CONFLICT")

	_, out := admin.want("GET", "/registries/remote", "", 200, "")
	if strings.Contains(out, "s3cret") || strings.Contains(out, "access_secret") {
		t.Errorf("the answer shows the secret: %s", out)
	}
	var got registryJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.Name != "remote" || got.Type != "distribution" || got.Description != "the mirror" || got.URL != "https://registry.example:5000" ||
		!got.Insecure || got.Credential == nil || got.Credential.Type != "basic" || got.Credential.AccessKey != "robot" ||
		got.CreationTime.IsZero() || got.UpdateTime.IsZero() {
		t.Errorf("GET: %s", out)
	}
	rec := env.endpoint(t, "remote")
	if rec.Username != "robot" || rec.Password != "s3cret-value" || rec.CreatedAt.IsZero() {
		t.Errorf("stored: %+v", rec)
	}

	// A partial update keeps what it omits, the secret too; Harbor's flat
	// RegistryUpdate fields work as well.
	admin.want("PUT", "/registries/remote", `{"description":"changed","credential":{"type":"basic","access_key":"robot2"}}`, 200, "")
	after := env.endpoint(t, "remote")
	if after.Description != "changed" || after.Username != "robot2" || after.Password != "s3cret-value" || after.URL != rec.URL ||
		!after.Insecure || after.Type != "distribution" || !after.CreatedAt.Equal(rec.CreatedAt) || after.UpdatedAt.Before(rec.UpdatedAt) {
		t.Errorf("after the partial update: %+v", after)
	}
	admin.want("PUT", "/registries/remote", `{"access_secret":"new-secret","insecure":false}`, 200, "")
	if after := env.endpoint(t, "remote"); after.Password != "new-secret" || after.Username != "robot2" || after.Insecure {
		t.Errorf("after the flat update: %+v", after)
	}
	admin.want("PUT", "/registries/remote", `{"credential":null}`, 200, "")
	if after := env.endpoint(t, "remote"); after.Password != "" || after.Username != "" {
		t.Errorf("after removing the credential: %+v", after)
	}
	if _, out := admin.want("GET", "/registries/remote", "", 200, ""); strings.Contains(out, "credential") {
		t.Errorf("an anonymous endpoint shows a credential: %s", out)
	}

	// Refusals name the field.
	wantMention(t, admin, "PUT", "/registries/remote", `{"name":"other"}`, 400, "name")
	wantMention(t, admin, "PUT", "/registries/remote", `{"url":"ftp://x"}`, 400, "url")
	wantMention(t, admin, "POST", "/registries", `{"name":"bad","url":"ftp://registry.example"}`, 400, "url")
	wantMention(t, admin, "POST", "/registries", `{"name":"bad","url":"http://registry.example/path"}`, 400, "url")
	wantMention(t, admin, "POST", "/registries", `{"name":"bad","url":"https://registry.example","ca_cert":"not PEM"}`, 400, "ca_cert")
	wantMention(t, admin, "POST", "/registries", `{"name":"bad name","url":"https://registry.example"}`, 400, "name")
	wantMention(t, admin, "POST", "/registries", `{"name":"bad","url":"https://registry.example","credential":{"type":"oauth"}}`, 400, "credential.type")
	wantMention(t, admin, "POST", "/registries", `{"name":"bad","url":"https://registry.example","colour":"red"}`, 400, "colour")
	admin.want("GET", "/registries/bad", "", 404, "NOT_FOUND")
	admin.want("PUT", "/registries/nothere", `{}`, 404, "NOT_FOUND")

	// Listing, paged and queried.
	admin.want("POST", "/registries", `{"name":"hub","type":"docker-hub","url":"https://hub.example"}`, 201, "")
	admin.want("POST", "/registries", `{"name":"archive","url":"https://archive.example"}`, 201, "")
	resp, out = admin.want("GET", "/registries?page_size=2", "", 200, "")
	var list []registryJSON
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 2 || list[0].Name != "archive" || list[1].Name != "hub" ||
		resp.Header.Get("X-Total-Count") != "3" || !strings.Contains(resp.Header.Get("Link"), `rel="next"`) {
		t.Errorf("page 1: %s, headers %v", out, resp.Header)
	}
	_, out = admin.want("GET", "/registries?q=name=~rem", "", 200, "")
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 || list[0].Name != "remote" {
		t.Errorf("q=name=~rem: %s", out)
	}
	_, out = admin.want("GET", "/registries?q=type=docker-hub", "", 200, "")
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 || list[0].Name != "hub" {
		t.Errorf("q=type=docker-hub: %s", out)
	}
	wantMention(t, admin, "GET", "/registries?q=colour=red", "", 400, "q")

	// A registry a policy uses is not deleted.
	admin.want("POST", "/replication/policies", `{"name":"push","dest_registry":{"name":"remote"},"trigger":{"type":"manual"}}`, 201, "")
	wantMention(t, admin, "DELETE", "/registries/remote", "", 409, "push")
	admin.want("GET", "/registries/remote", "", 200, "")
	admin.want("DELETE", "/replication/policies/push", "", 200, "")
	admin.want("DELETE", "/registries/remote", "", 200, "")
	admin.want("GET", "/registries/remote", "", 404, "NOT_FOUND")
	admin.want("DELETE", "/registries/remote", "", 404, "NOT_FOUND")
}

func TestRegistryPing(t *testing.T) {
	env := newReplicationAPI(t)
	admin := env.admin
	srv := registrytest.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()

	admin.want("POST", "/registries/ping", `{"url":"http://`+srv.Host+`"}`, 200, "")
	wantMention(t, admin, "POST", "/registries/ping", `{"url":"`+closed+`"}`, 400, "ping")
	wantMention(t, admin, "POST", "/registries/ping", `{"url":"ftp://x"}`, 400, "url")

	// A stored endpoint by name, with its stored secret; the body's
	// fields override the stored ones.
	admin.want("POST", "/registries", `{"name":"up","url":"http://`+srv.Host+`","credential":{"access_key":"u","access_secret":"stored-secret"}}`, 201, "")
	admin.want("POST", "/registries/ping", `{"name":"up"}`, 200, "")
	if rec := env.engine.last(t); rec.URL != "http://"+srv.Host || rec.Username != "u" || rec.Password != "stored-secret" {
		t.Errorf("pinged %+v, want the stored endpoint", rec)
	}
	wantMention(t, admin, "POST", "/registries/ping", `{"name":"up","url":"`+closed+`"}`, 400, "ping")
	if rec := env.engine.last(t); rec.URL != closed || rec.Password != "stored-secret" {
		t.Errorf("pinged %+v, want the stored endpoint at the body's url", rec)
	}
	admin.want("POST", "/registries/ping", `{"name":"nothere"}`, 404, "NOT_FOUND")
	// A new endpoint with a name is pinged as given.
	admin.want("POST", "/registries/ping", `{"name":"new","url":"http://`+srv.Host+`","credential":{"access_key":"a","access_secret":"b"}}`, 200, "")
	if rec := env.engine.last(t); rec.Name != "new" || rec.Username != "a" || rec.Password != "b" {
		t.Errorf("pinged %+v", rec)
	}
	wantMention(t, admin, "POST", "/registries/ping", `{"url":`, 400, "invalid request body")
}

const fullPolicy = `{"name":"push-all","description":"everything released","src_registry":null,"dest_registry":{"name":"remote"},
	"dest_namespace":"mirror","dest_namespace_replace_count":1,
	"filters":[{"type":"name","value":"library/**","decoration":"matches"},{"type":"name","value":"library/tmp-*","decoration":"excludes"},
		{"type":"tag","value":"v*","decoration":"matches"},{"type":"tag","value":"*-rc","decoration":"excludes"},
		{"type":"label","value":["tier","env=prod"],"decoration":"matches"},
		{"type":"artifact_type","value":"application/vnd.oci.image.*","decoration":"matches"}],
	"trigger":{"type":"scheduled","trigger_settings":{"cron":"0 0 3 * * *"}},
	"override":true,"replicate_deletion":true,"speed":512,"enabled":true,"task_attempts":4,"blob_retries":2}`

// canonicalPolicy is a policy's JSON without the server's fields.
func canonicalPolicy(t *testing.T, s string) string {
	t.Helper()
	var p replicationPolicyJSON
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
	p.Creator, p.CreationTime, p.UpdateTime = "", time.Time{}, time.Time{}
	out, _ := json.Marshal(p)
	return string(out)
}

func TestReplicationPolicies(t *testing.T) {
	env := newReplicationAPI(t)
	admin := env.admin
	admin.want("POST", "/registries", `{"name":"remote","url":"http://127.0.0.1:1"}`, 201, "")

	resp, _ := admin.want("POST", "/replication/policies", fullPolicy, 201, "")
	if loc := resp.Header.Get("Location"); loc != Prefix+"/replication/policies/push-all" {
		t.Errorf("Location %q", loc)
	}
	admin.want("POST", "/replication/policies", fullPolicy, 409, "CONFLICT")
	_, out := admin.want("GET", "/replication/policies/push-all", "", 200, "")
	if got, want := canonicalPolicy(t, out), canonicalPolicy(t, fullPolicy); got != want {
		t.Errorf("read back:\n got  %s\n want %s", got, want)
	}
	var read replicationPolicyJSON
	if err := json.Unmarshal([]byte(out), &read); err != nil || read.Creator != "admin" || read.CreationTime.IsZero() || read.UpdateTime.IsZero() {
		t.Errorf("server fields: %s", out)
	}
	rec := env.policy(t, "push-all")
	want := replication.PolicyRecord{Name: "push-all", Description: "everything released", Destination: "remote",
		Repositories: []string{"library/**"}, ExcludeRepositories: []string{"library/tmp-*"}, Tags: []string{"v*"}, ExcludeTags: []string{"*-rc"},
		Labels: []string{"tier", "env=prod"}, ArtifactTypes: []string{"application/vnd.oci.image.*"}, Namespace: "mirror", Flatten: 1,
		Override: true, ReplicateDeletion: true, Trigger: replication.TriggerScheduled, Cron: "0 0 3 * * *", Speed: 512, TaskAttempts: 4,
		BlobRetries: 2, Enabled: true, CreatedBy: "admin", CreatedAt: rec.CreatedAt, UpdatedAt: rec.UpdatedAt}
	if a, b := fmt.Sprintf("%+v", rec), fmt.Sprintf("%+v", want); a != b {
		t.Errorf("stored:\n got  %s\n want %s", a, b)
	}
	if spec, _, ok := env.runner.ScheduleOf(replication.ScheduleName("push-all")); !ok || spec != "0 0 3 * * *" {
		t.Errorf("schedule after create: %q %v", spec, ok)
	}

	// Harbor's "resource" filter is an artifact type pattern; Harbor's
	// speed -1 is no limit; a pull policy names its source.
	admin.want("POST", "/replication/policies", `{"name":"pull","src_registry":{"name":"remote"},"dest_registry":null,"speed":-1,
		"filters":[{"type":"resource","value":"application/vnd.cncf.helm.*"},{"type":"tag","value":"latest"}]}`, 201, "")
	if rec := env.policy(t, "pull"); rec.Source != "remote" || rec.Destination != "" || rec.Speed != 0 || rec.Trigger != replication.TriggerManual ||
		!slices.Equal(rec.ArtifactTypes, []string{"application/vnd.cncf.helm.*"}) || !slices.Equal(rec.Tags, []string{"latest"}) {
		t.Errorf("pull policy: %+v", rec)
	}
	_, out = admin.want("GET", "/replication/policies/pull", "", 200, "")
	if !strings.Contains(out, `{"type":"artifact_type","value":"application/vnd.cncf.helm.*","decoration":"matches"}`) ||
		!strings.Contains(out, `"dest_registry":null`) || !strings.Contains(out, `"src_registry":{"name":"remote"}`) {
		t.Errorf("pull policy: %s", out)
	}

	// Refusals name the field as the request spells it.
	for _, c := range []struct{ body, mention string }{
		{`{"name":"x","dest_registry":{"name":"remote"},"filters":[{"type":"name","value":"library/**"},{"type":"tag","value":"[v"}]}`, "filters[1].value"},
		{`{"name":"x","dest_registry":{"name":"remote"},"filters":[{"type":"label","value":["=v"]}]}`, "filters[0].value"},
		{`{"name":"x","dest_registry":{"name":"remote"},"filters":[{"type":"label","value":["a"],"decoration":"excludes"}]}`, "filters[0].decoration"},
		{`{"name":"x","dest_registry":{"name":"remote"},"filters":[{"type":"size","value":"1"}]}`, "filters[0].type"},
		{`{"name":"x","dest_registry":{"name":"remote"},"filters":[{"type":"name","value":["a"]}]}`, "filters[0].value"},
		{`{"name":"x","dest_registry":{"name":"remote"},"filters":[{"type":"tag","value":"a","decoration":"sometimes"}]}`, "filters[0].decoration"},
		{`{"name":"x","src_registry":{"name":"remote"},"trigger":{"type":"event_based"}}`, "trigger.type"},
		{`{"name":"x","dest_registry":{"name":"remote"},"trigger":{"type":"hourly"}}`, "trigger.type"},
		{`{"name":"x","dest_registry":{"name":"remote"},"trigger":{"type":"scheduled"}}`, "trigger.trigger_settings.cron"},
		{`{"name":"x","dest_registry":{"name":"remote"},"trigger":{"type":"scheduled","trigger_settings":{"cron":"every day"}}}`, "trigger.trigger_settings.cron"},
		{`{"name":"x"}`, "src_registry"},
		{`{"name":"x","src_registry":{"name":"remote"},"dest_registry":{"name":"remote"}}`, "dest_registry"},
		{`{"name":"x","dest_registry":{"name":"nothere"}}`, "dest_registry"},
		{`{"name":"x","dest_registry":{"name":"remote"},"dest_namespace_replace_count":-2}`, "dest_namespace_replace_count"},
		{`{"name":"x","dest_registry":{"name":"remote"},"task_attempts":-1}`, "task_attempts"},
		{`{"name":"x","dest_registry":{"name":"remote"},"dest_namespace":"Bad Space"}`, "dest_namespace"},
		{`{"name":"bad name","dest_registry":{"name":"remote"}}`, "name"},
		{`{"name":"x","dest_registry":{"name":"remote"},"copy_by_chunk":true}`, "copy_by_chunk"},
		{`{"name":"x",`, "invalid request body"},
	} {
		wantMention(t, admin, "POST", "/replication/policies", c.body, 400, c.mention)
	}
	admin.want("GET", "/replication/policies/x", "", 404, "NOT_FOUND")

	// Listing.
	resp, out = admin.want("GET", "/replication/policies?page_size=1", "", 200, "")
	var list []replicationPolicyJSON
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 || list[0].Name != "pull" || resp.Header.Get("X-Total-Count") != "2" {
		t.Errorf("list: %s (total %s)", out, resp.Header.Get("X-Total-Count"))
	}
	_, out = admin.want("GET", "/replication/policies?q=name=~all", "", 200, "")
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 || list[0].Name != "push-all" {
		t.Errorf("q=name=~all: %s", out)
	}

	// PUT replaces the policy and keeps its creation fields; the schedule
	// follows.
	admin.want("PUT", "/replication/policies/push-all", `{"dest_registry":{"name":"remote"},"trigger":{"type":"manual"}}`, 200, "")
	after := env.policy(t, "push-all")
	if after.Trigger != replication.TriggerManual || after.Enabled || len(after.Repositories) != 0 || after.Speed != 0 || after.CreatedBy != "admin" ||
		!after.CreatedAt.Equal(rec.CreatedAt) || after.UpdatedAt.Before(rec.UpdatedAt) {
		t.Errorf("after PUT: %+v", after)
	}
	if _, _, ok := env.runner.ScheduleOf(replication.ScheduleName("push-all")); ok {
		t.Error("a manual policy is still scheduled")
	}
	wantMention(t, admin, "PUT", "/replication/policies/push-all", `{"name":"renamed","dest_registry":{"name":"remote"}}`, 400, "name")
	wantMention(t, admin, "PUT", "/replication/policies/push-all", `{"dest_registry":{"name":"remote"},"trigger":{"type":"scheduled"}}`, 400, "cron")
	admin.want("PUT", "/replication/policies/nothere", `{"dest_registry":{"name":"remote"}}`, 404, "NOT_FOUND")
	if env.policy(t, "push-all").Trigger != replication.TriggerManual {
		t.Error("a refused PUT changed the policy")
	}

	// DELETE waits for executions in progress; it unschedules.
	admin.want("PUT", "/replication/policies/push-all", fullPolicy, 200, "")
	if _, _, ok := env.runner.ScheduleOf(replication.ScheduleName("push-all")); !ok {
		t.Error("not scheduled again")
	}
	exec := replication.Execution{ID: 99, Policy: "push-all", Trigger: replication.TriggerManual, Status: replication.StatusInProgress, StartTime: time.Now()}
	env.update(t, func(tx meta.Tx) error { return replication.Executions.In(tx).Put(exec) })
	wantMention(t, admin, "DELETE", "/replication/policies/push-all", "", 409, "99")
	exec.Status = replication.StatusSucceeded
	env.update(t, func(tx meta.Tx) error { return replication.Executions.In(tx).Put(exec) })
	admin.want("DELETE", "/replication/policies/push-all", "", 200, "")
	admin.want("GET", "/replication/policies/push-all", "", 404, "NOT_FOUND")
	admin.want("DELETE", "/replication/policies/push-all", "", 404, "NOT_FOUND")
	if _, _, ok := env.runner.ScheduleOf(replication.ScheduleName("push-all")); ok {
		t.Error("a deleted policy is still scheduled")
	}
}

// TestReplicationAccess: every replication endpoint is the system
// administrators'; without a Replicator they answer 501.
func TestReplicationAccess(t *testing.T) {
	env := newReplicationAPI(t)
	routes := [][2]string{
		{"GET", "/registries"}, {"POST", "/registries"}, {"POST", "/registries/ping"}, {"GET", "/registries/r"},
		{"PUT", "/registries/r"}, {"DELETE", "/registries/r"}, {"GET", "/replication/policies"}, {"POST", "/replication/policies"},
		{"GET", "/replication/policies/p"}, {"PUT", "/replication/policies/p"}, {"DELETE", "/replication/policies/p"},
		{"GET", "/replication/executions"}, {"POST", "/replication/executions"}, {"GET", "/replication/executions/1"},
		{"PUT", "/replication/executions/1"}, {"POST", "/replication/executions/1/retry"}, {"GET", "/replication/executions/1/tasks"},
		{"GET", "/replication/executions/1/tasks/2/log"},
	}
	env.admin.want("POST", "/registries", `{"name":"r","url":"http://127.0.0.1:1"}`, 201, "")
	env.admin.want("POST", "/replication/policies", `{"name":"p","dest_registry":{"name":"r"}}`, 201, "")
	for _, rt := range routes {
		env.alice.want(rt[0], rt[1], `{"name":"r","url":"http://127.0.0.1:1","policy_name":"p"}`, 403, "FORBIDDEN")
		env.anon.want(rt[0], rt[1], `{"name":"r","url":"http://127.0.0.1:1","policy_name":"p"}`, 401, "UNAUTHORIZED")
	}
	// Nothing was changed or started by the refused requests.
	env.admin.want("GET", "/registries/r", "", 200, "")
	env.admin.want("GET", "/replication/policies/p", "", 200, "")
	if resp, _ := env.admin.want("GET", "/replication/executions", "", 200, ""); resp.Header.Get("X-Total-Count") != "0" {
		t.Errorf("executions after refused requests: %s", resp.Header.Get("X-Total-Count"))
	}

	url, _ := newAPI(t)
	admin := client{t, url, "admin", "admin-password"}
	for _, rt := range routes {
		admin.want(rt[0], rt[1], `{}`, http.StatusNotImplemented, "NOT_IMPLEMENTED")
	}
}

func executionJSON(t *testing.T, s string) replicationExecutionJSON {
	t.Helper()
	var e replicationExecutionJSON
	if err := json.Unmarshal([]byte(s), &e); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
	return e
}

func TestReplicationExecutions(t *testing.T) {
	env := newReplicationAPI(t)
	admin := env.admin
	admin.want("POST", "/registries", `{"name":"remote","url":"http://127.0.0.1:1"}`, 201, "")
	admin.want("POST", "/replication/policies", `{"name":"push","dest_registry":{"name":"remote"},"dest_namespace":"mirror","dest_namespace_replace_count":1}`, 201, "")
	admin.want("POST", "/replication/policies", `{"name":"other","dest_registry":{"name":"remote"}}`, 201, "")

	// Manual starts through the engine.
	resp, _ := admin.want("POST", "/replication/executions", `{"policy_name":"push"}`, 201, "")
	loc := resp.Header.Get("Location")
	first, err := strconv.ParseUint(strings.TrimPrefix(loc, Prefix+"/replication/executions/"), 10, 64)
	if err != nil {
		t.Fatalf("Location %q", loc)
	}
	_, out := admin.want("GET", fmt.Sprintf("/replication/executions/%d", first), "", 200, "")
	if e := executionJSON(t, out); e.ID != first || e.PolicyName != "push" || e.Status != "InProgress" || e.Trigger != "manual" ||
		e.StartTime.IsZero() || e.Progress != 0 || e.ETASeconds != nil {
		t.Errorf("started: %s", out)
	}
	resp, _ = admin.want("POST", "/replication/executions", `{"policy_id":"push"}`, 201, "")
	second, _ := strconv.ParseUint(strings.TrimPrefix(resp.Header.Get("Location"), Prefix+"/replication/executions/"), 10, 64)
	if second <= first {
		t.Fatalf("second execution %d after %d", second, first)
	}
	admin.want("POST", "/replication/executions", `{"policy_name":"other"}`, 201, "")
	admin.want("POST", "/replication/executions", `{"policy_name":"nothere"}`, 404, "NOT_FOUND")
	wantMention(t, admin, "POST", "/replication/executions", `{"policy_id":3}`, 400, "policy_id")
	wantMention(t, admin, "POST", "/replication/executions", `{}`, 400, "policy_name")
	wantMention(t, admin, "POST", "/replication/executions", `{"policy_name":"push","policy_id":"other"}`, 400, "policy_id")

	// Listing: newest first, by policy.
	resp, out = admin.want("GET", "/replication/executions?policy_name=push", "", 200, "")
	var list []replicationExecutionJSON
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 2 || list[0].ID != second || list[1].ID != first ||
		resp.Header.Get("X-Total-Count") != "2" {
		t.Errorf("push's executions: %s", out)
	}
	if resp, _ := admin.want("GET", "/replication/executions", "", 200, ""); resp.Header.Get("X-Total-Count") != "3" {
		t.Errorf("all executions: %s", resp.Header.Get("X-Total-Count"))
	}

	// Stop, then stop again: the execution has ended.
	admin.want("PUT", fmt.Sprintf("/replication/executions/%d", first), `{}`, 200, "")
	_, out = admin.want("GET", fmt.Sprintf("/replication/executions/%d", first), "", 200, "")
	if e := executionJSON(t, out); e.Status != "Stopped" || e.EndTime.IsZero() || e.Progress != 100 {
		t.Errorf("stopped: %s", out)
	}
	wantMention(t, admin, "PUT", fmt.Sprintf("/replication/executions/%d", first), ``, 409, "ended")
	admin.want("PUT", "/replication/executions/123456", ``, 404, "NOT_FOUND")
	wantMention(t, admin, "PUT", "/replication/executions/abc", ``, 400, "id")
	_, out = admin.want("GET", "/replication/executions?status=Stopped", "", 200, "")
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 || list[0].ID != first {
		t.Errorf("stopped executions: %s", out)
	}
	_, out = admin.want("GET", "/replication/executions?trigger=scheduled", "", 200, "")
	if out != "[]\n" {
		t.Errorf("scheduled executions: %s", out)
	}
	wantMention(t, admin, "GET", "/replication/executions?status=Done", "", 400, "status")
	wantMention(t, admin, "GET", "/replication/executions?trigger=hourly", "", 400, "trigger")

	// Records as the engine leaves them mid-run: progress, ETA, tasks.
	start := time.Now().Add(-100 * time.Second)
	const id = 1000
	exec := replication.Execution{ID: id, Policy: "push", Trigger: replication.TriggerManual, Status: replication.StatusInProgress, Planned: true,
		Total: 10, Succeeded: 3, Failed: 2, InProgress: 5, Bytes: 12345, Artifacts: 3, StartTime: start}
	env.update(t, func(tx meta.Tx) error {
		for _, e := range []replication.Execution{exec, {ID: id - 1, Policy: "push", Status: replication.StatusSucceeded, StartTime: start},
			{ID: id + 1, Policy: "push", Status: replication.StatusSucceeded, StartTime: start}} {
			if err := replication.Executions.In(tx).Put(e); err != nil {
				return err
			}
		}
		for i := range 10 {
			task := replication.Task{ID: uint64(id + 1 + i), Execution: id, JobID: uint64(id + 1 + i), Operation: "copy",
				Repository: "library/app", Tag: fmt.Sprintf("v%d", i), Destination: "mirror/app", Status: replication.StatusPending}
			switch {
			case i < 3:
				task.Status, task.Bytes, task.Attempts = replication.StatusSucceeded, 100, 1
			case i < 5:
				task.Status, task.Error, task.Attempts = replication.StatusFailed, "connection refused", 3
			}
			if i == 4 {
				task.Tag, task.Digest = "", "sha256:"+strings.Repeat("a", 64)
			}
			if i == 0 {
				task.Log = []string{"line one", "line two"}
			}
			if err := replication.Tasks.In(tx).Put(task); err != nil {
				return err
			}
		}
		// Tasks of the executions on either side, which are not listed.
		for _, e := range []uint64{id - 1, id + 1} {
			if err := replication.Tasks.In(tx).Put(replication.Task{ID: e*10 + 1, Execution: e, Repository: "x", Tag: "y", Status: replication.StatusSucceeded}); err != nil {
				return err
			}
		}
		return nil
	})
	_, out = admin.want("GET", "/replication/executions/1000", "", 200, "")
	e := executionJSON(t, out)
	if e.Progress != 50 || e.Bytes != 12345 || e.Artifacts != 3 || e.Succeed != 3 || e.Failed != 2 || e.InProgress != 5 || e.Total != 10 {
		t.Errorf("execution 1000: %s", out)
	}
	// 100 s for 5 tasks done, 5 left: about 100 s more.
	if e.ETASeconds == nil || *e.ETASeconds < 100 || *e.ETASeconds > 105 {
		t.Errorf("eta_seconds: %s", out)
	}
	_, out = admin.want("GET", "/replication/executions/999", "", 200, "")
	if e := executionJSON(t, out); e.ETASeconds != nil || e.Progress != 100 {
		t.Errorf("an ended execution: %s", out)
	}

	resp, out = admin.want("GET", "/replication/executions/1000/tasks?page=2&page_size=4", "", 200, "")
	var tasks []replicationTaskJSON
	if err := json.Unmarshal([]byte(out), &tasks); err != nil || len(tasks) != 4 || tasks[0].ID != 1005 || tasks[3].ID != 1008 {
		t.Errorf("tasks page 2: %s", out)
	}
	if resp.Header.Get("X-Total-Count") != "10" || !strings.Contains(resp.Header.Get("Link"), `page=3&page_size=4>; rel="next"`) {
		t.Errorf("tasks headers: %v", resp.Header)
	}
	_, out = admin.want("GET", "/replication/executions/1000/tasks?status=Failed", "", 200, "")
	if err := json.Unmarshal([]byte(out), &tasks); err != nil || len(tasks) != 2 {
		t.Fatalf("failed tasks: %s", out)
	}
	wantTask := replicationTaskJSON{ID: 1004, ExecutionID: id, ResourceType: "artifact", SrcResource: "library/app:v3", DstResource: "mirror/app:v3",
		Operation: "copy", Status: "Failed", JobID: 1004, Attempts: 3, Error: "connection refused"}
	if tasks[0] != wantTask {
		t.Errorf("task 1004:\n got  %+v\n want %+v", tasks[0], wantTask)
	}
	if d := "@sha256:" + strings.Repeat("a", 64); tasks[1].SrcResource != "library/app"+d || tasks[1].DstResource != "mirror/app"+d {
		t.Errorf("task by digest: %+v", tasks[1])
	}
	if _, out := admin.want("GET", "/replication/executions/1001/tasks", "", 200, ""); !strings.Contains(out, `"id":10011`) || strings.Count(out, `"id"`) != 1 {
		t.Errorf("execution 1001's tasks: %s", out)
	}
	wantMention(t, admin, "GET", "/replication/executions/1000/tasks?status=Done", "", 400, "status")
	admin.want("GET", "/replication/executions/5000/tasks", "", 404, "NOT_FOUND")
	wantMention(t, admin, "GET", "/replication/executions/x/tasks", "", 400, "id")

	// The task log.
	resp, out = admin.want("GET", "/replication/executions/1000/tasks/1001/log", "", 200, "")
	if out != "line one\nline two\n" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("log: %q (%s)", out, resp.Header.Get("Content-Type"))
	}
	admin.want("GET", "/replication/executions/1000/tasks/10011/log", "", 404, "NOT_FOUND")
	admin.want("GET", "/replication/executions/1001/tasks/1001/log", "", 404, "NOT_FOUND")
	wantMention(t, admin, "GET", "/replication/executions/1000/tasks/x/log", "", 400, "task_id")

	// Retry runs the failed tasks again, and says how many.
	_, out = admin.want("POST", "/replication/executions/1000/retry", "", 200, "")
	if out != `{"retried":2}`+"\n" {
		t.Errorf("retry: %s", out)
	}
	_, out = admin.want("GET", "/replication/executions/1000/tasks?status=Failed", "", 200, "")
	if out != "[]\n" {
		t.Errorf("failed tasks after the retry: %s", out)
	}
	if _, out := admin.want("POST", "/replication/executions/1000/retry", "", 200, ""); out != `{"retried":0}`+"\n" {
		t.Errorf("second retry: %s", out)
	}
	admin.want("POST", "/replication/executions/5000/retry", "", 404, "NOT_FOUND")

	// An ended execution is not stopped; one in progress is not deleted
	// with its policy.
	wantMention(t, admin, "PUT", "/replication/executions/999", "", 409, "ended")
	wantMention(t, admin, "DELETE", "/replication/policies/push", "", 409, "in progress")
}

// apiMessage is the message of an error answer.
func apiMessage(t *testing.T, out string) string {
	t.Helper()
	var e struct {
		Errors []struct{ Code, Message string }
	}
	if err := json.Unmarshal([]byte(out), &e); err != nil || len(e.Errors) != 1 {
		t.Fatalf("error body %s", out)
	}
	return e.Errors[0].Message
}

// TestReplicationErrorsAreTheServices: what the API refuses, the
// service refuses to a Go caller alike, with the same message (the API
// naming fields as its JSON does) and the status its sentinel maps to.
func TestReplicationErrorsAreTheServices(t *testing.T) {
	env := newReplicationAPI(t)
	admin, ctx := env.admin, t.Context()
	admin.want("POST", "/registries", `{"name":"remote","url":"http://127.0.0.1:1"}`, 201, "")
	admin.want("POST", "/replication/policies", `{"name":"push","dest_registry":{"name":"remote"}}`, 201, "")

	type goCall func() error
	for _, c := range []struct {
		method, path, body string
		status             int
		call               goCall
		apiField           string // the API's name of the FieldError's field
	}{
		{"POST", "/registries", `{"name":"bad name","url":"https://x.example"}`, 400,
			func() error {
				_, err := env.svc.CreateRegistry(ctx, replication.Registry{Name: "bad name", URL: "https://x.example"})
				return err
			}, "name"},
		{"POST", "/registries", `{"name":"x","url":"ftp://x.example"}`, 400,
			func() error {
				_, err := env.svc.CreateRegistry(ctx, replication.Registry{Name: "x", URL: "ftp://x.example"})
				return err
			}, "url"},
		{"POST", "/registries", `{"name":"x","url":"https://x.example","ca_cert":"no"}`, 400,
			func() error {
				_, err := env.svc.CreateRegistry(ctx, replication.Registry{Name: "x", URL: "https://x.example", CACert: "no"})
				return err
			}, "ca_cert"},
		{"POST", "/registries", `{"name":"remote","url":"https://x.example"}`, 409,
			func() error {
				_, err := env.svc.CreateRegistry(ctx, replication.Registry{Name: "remote", URL: "https://x.example"})
				return err
			}, ""},
		{"GET", "/registries/nothere", ``, 404,
			func() error { _, err := env.svc.Registry(ctx, "nothere"); return err }, ""},
		{"DELETE", "/registries/remote", ``, 409,
			func() error { return env.svc.DeleteRegistry(ctx, "remote") }, ""},
		{"POST", "/replication/policies", `{"name":"x","dest_registry":{"name":"nothere"}}`, 400,
			func() error {
				_, err := env.svc.CreatePolicy(ctx, replication.PolicyRecord{Name: "x", Destination: "nothere", Trigger: replication.TriggerManual})
				return err
			}, "dest_registry"},
		{"POST", "/replication/policies", `{"name":"x","dest_registry":{"name":"remote"},"filters":[{"type":"tag","value":"[v"}]}`, 400,
			func() error {
				_, err := env.svc.CreatePolicy(ctx, replication.PolicyRecord{Name: "x", Destination: "remote", Tags: []string{"[v"}, Trigger: replication.TriggerManual})
				return err
			}, "filters[0].value"},
		{"POST", "/replication/policies", `{"name":"x","dest_registry":{"name":"remote"},"trigger":{"type":"scheduled"}}`, 400,
			func() error {
				_, err := env.svc.CreatePolicy(ctx, replication.PolicyRecord{Name: "x", Destination: "remote", Trigger: replication.TriggerScheduled})
				return err
			}, "trigger.trigger_settings.cron"},
		{"POST", "/replication/policies", `{"name":"push","dest_registry":{"name":"remote"}}`, 409,
			func() error {
				_, err := env.svc.CreatePolicy(ctx, replication.PolicyRecord{Name: "push", Destination: "remote", Trigger: replication.TriggerManual})
				return err
			}, ""},
		{"PUT", "/replication/policies/nothere", `{"dest_registry":{"name":"remote"}}`, 404,
			func() error {
				_, err := env.svc.UpdatePolicy(ctx, replication.PolicyRecord{Name: "nothere", Destination: "remote", Trigger: replication.TriggerManual})
				return err
			}, ""},
		{"POST", "/replication/executions", `{"policy_name":"nothere"}`, 404,
			func() error { _, err := env.svc.Start(ctx, "nothere"); return err }, ""},
		{"GET", "/replication/executions?status=Done", ``, 400,
			func() error {
				_, _, err := env.svc.Executions(ctx, replication.ExecutionFilter{Status: "Done"}, replication.Page{})
				return err
			}, "status"},
		{"GET", "/replication/executions/5000/tasks", ``, 404,
			func() error { _, _, err := env.svc.Tasks(ctx, 5000, "", replication.Page{}); return err }, ""},
		{"GET", "/replication/executions/5000/tasks/1/log", ``, 404,
			func() error { _, err := env.svc.TaskLog(ctx, 5000, 1); return err }, ""},
		{"POST", "/replication/executions/5000/retry", ``, 404,
			func() error { _, err := env.svc.Retry(ctx, 5000); return err }, ""},
	} {
		err := c.call()
		_, out := admin.want(c.method, c.path, c.body, c.status, "")
		got := apiMessage(t, out)
		want := err.Error()
		var fe *replication.FieldError
		if errors.As(err, &fe) {
			want = c.apiField + ": " + fe.Reason
		}
		kind := map[int]error{400: replication.ErrInvalid, 404: meta.ErrNotFound, 409: nil}[c.status]
		if got != want || (kind != nil && !errors.Is(err, kind)) ||
			(c.status == 409 && !errors.Is(err, replication.ErrExists) && !errors.Is(err, replication.ErrInUse)) {
			t.Errorf("%s %s %s:\n API %d %q\n Go  %v (%q)", c.method, c.path, c.body, c.status, got, err, want)
		}
	}

	// Stopping an ended execution.
	e, err := env.svc.Start(ctx, "push")
	if err != nil {
		t.Fatal(err)
	}
	if err := env.svc.Stop(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	err = env.svc.Stop(ctx, e.ID)
	_, out := admin.want("PUT", fmt.Sprintf("/replication/executions/%d", e.ID), "", 409, "CONFLICT")
	if got := apiMessage(t, out); !errors.Is(err, replication.ErrFinal) || got != err.Error() {
		t.Errorf("stop an ended execution: API %q, Go %v", got, err)
	}
}

func newReplicationEngine(t testing.TB, store meta.Store, opts ...replication.EngineOption) *replication.Engine {
	t.Helper()
	eng, err := replication.NewEngine(store, testjobs.Queue(t, store), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return eng
}
