package api

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/internal/testjobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/webhook"
)

// newWebhookAPI is newAPI with a job queue, also returning the store.
func newWebhookAPI(t *testing.T) (string, meta.Store) {
	t.Helper()
	store := openStore(t)
	url, _ := newAPIOn(t, store, WithJobs(testjobs.Queue(t, store)))
	return url, store
}

// pushEvent records a push in project and hands it to the webhook
// dispatcher, as the event consumer would.
func pushEvent(t *testing.T, store meta.Store, project string) {
	t.Helper()
	if err := store.Update(t.Context(), func(tx meta.Tx) error {
		e := meta.Event{Type: "PUSH_ARTIFACT", Project: project, Repository: project + "/app", Tag: "v1", Digest: "sha256:aa"}
		seq, err := tx.Events().Append(e)
		if err != nil {
			return err
		}
		e.Seq = seq
		return webhook.Dispatch(context.Background(), tx, []meta.Event{e})
	}); err != nil {
		t.Fatal(err)
	}
}

func deliveriesOf(t *testing.T, c client, path string) []deliveryJSON {
	t.Helper()
	_, out := c.want("GET", path+"/deliveries", "", 200, "")
	var list []deliveryJSON
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return list
}

// TestWebhookPolicyDeletedLeavesNothing: after alice's project deletes
// policy deploy, bob's new policy deploy in his project sees none of its
// deliveries (receiver URLs with their tokens), cannot redeliver them, and
// inherits none of its pending jobs.
func TestWebhookPolicyDeletedLeavesNothing(t *testing.T) {
	url, store := newWebhookAPI(t)
	alice := client{t, url, "alice", "alice-password"}
	bob := client{t, url, "bob", "bob-password"}
	alice.want("POST", "/projects", `{"project_name":"a"}`, 201, "")
	bob.want("POST", "/projects", `{"project_name":"b"}`, 201, "")
	alice.want("POST", "/projects/a/webhook/policies", `{"name":"deploy","event_types":["PUSH_ARTIFACT"],"enabled":true,
		"targets":[{"type":"http","address":"https://a.example/hook?token=alice-token"}]}`, 201, "")
	pushEvent(t, store, "a")
	mine := deliveriesOf(t, alice, "/projects/a/webhook/policies/deploy")
	if len(mine) != 1 || mine[0].Status != "pending" {
		t.Fatalf("alice's deliveries %+v", mine)
	}
	alice.want("DELETE", "/projects/a/webhook/policies/deploy", "", 200, "")
	bob.want("POST", "/projects/b/webhook/policies", `{"name":"deploy","event_types":["PUSH_ARTIFACT"],"enabled":true,
		"targets":[{"type":"http","address":"https://bob.example/"}]}`, 201, "")
	if got := deliveriesOf(t, bob, "/projects/b/webhook/policies/deploy"); len(got) != 0 {
		t.Errorf("bob sees %+v", got)
	}
	bob.want("POST", "/projects/b/webhook/policies/deploy/deliveries/"+mine[0].ID+"/redeliver", "", 404, "NOT_FOUND")
	err := store.View(t.Context(), func(tx meta.Tx) error {
		if _, err := tx.Jobs().Get(mine[0].JobID); !errors.Is(err, meta.ErrNotFound) {
			return errors.New("the deleted policy's pending job is still queued")
		}
		if d, err := webhook.DeliveryRecords.In(tx).List("", 0); err != nil || len(d) != 0 {
			return errors.New("the deleted policy's deliveries are still logged")
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

// TestWebhookPolicyNamesPerProject: a policy name is unique within its
// project only, so creating one tells nothing about other projects' (no
// 409 for a name another project uses); system policies have their own.
func TestWebhookPolicyNamesPerProject(t *testing.T) {
	url, _ := newWebhookAPI(t)
	admin := client{t, url, "admin", "admin-password"}
	alice := client{t, url, "alice", "alice-password"}
	bob := client{t, url, "bob", "bob-password"}
	alice.want("POST", "/projects", `{"project_name":"a"}`, 201, "")
	bob.want("POST", "/projects", `{"project_name":"b"}`, 201, "")
	body := `{"name":"secret-plan","event_types":["PUSH_ARTIFACT"],"enabled":true,"targets":[{"type":"http","address":"https://x.example/"}]}`
	alice.want("POST", "/projects/a/webhook/policies", body, 201, "")
	bob.want("POST", "/projects/b/webhook/policies", body, 201, "")
	admin.want("POST", "/webhook/policies", body, 201, "")
	bob.want("POST", "/projects/b/webhook/policies", body, 409, "CONFLICT")
	_, out := bob.want("GET", "/projects/b/webhook/policies/secret-plan", "", 200, "")
	if !strings.Contains(out, `"project_name":"b"`) {
		t.Errorf("bob's policy: %s", out)
	}
	_, out = admin.want("GET", "/webhook/policies", "", 200, "")
	var sys []webhookPolicy
	if err := json.Unmarshal([]byte(out), &sys); err != nil || len(sys) != 1 || sys[0].ProjectName != "" {
		t.Errorf("system policies: %s", out)
	}
}

// TestDeletedProjectLeavesNothing: deleting a project deletes its webhook
// policies (their auth headers and secrets), deliveries and pending jobs;
// bob, re-creating the name, sees none of them and none of the old
// project's audit events (administrators still do, system-wide).
func TestDeletedProjectLeavesNothing(t *testing.T) {
	url, store := newWebhookAPI(t)
	admin := client{t, url, "admin", "admin-password"}
	alice := client{t, url, "alice", "alice-password"}
	bob := client{t, url, "bob", "bob-password"}
	alice.want("POST", "/projects", `{"project_name":"team"}`, 201, "")
	alice.want("POST", "/projects/team/webhook/policies", `{"name":"deploy","event_types":["PUSH_ARTIFACT"],"enabled":true,
		"targets":[{"type":"http","address":"https://alice.example/hook","auth_header":"Bearer alice-token","secret":"alice-secret"}]}`, 201, "")
	pushEvent(t, store, "team")
	alice.want("DELETE", "/projects/team", "", 200, "")

	bob.want("POST", "/projects", `{"project_name":"team"}`, 201, "")
	if _, out := bob.want("GET", "/projects/team/webhook/policies", "", 200, ""); strings.Contains(out, "deploy") {
		t.Errorf("bob sees the old project's policies: %s", out)
	}
	bob.want("GET", "/projects/team/webhook/policies/deploy", "", 404, "NOT_FOUND")
	_, out := bob.want("GET", "/projects/team/logs", "", 200, "")
	var logs []auditLog
	if err := json.Unmarshal([]byte(out), &logs); err != nil {
		t.Fatal(err)
	}
	for _, l := range logs {
		if l.Username == "alice" || l.Operation == "PUSH_ARTIFACT" || l.Operation == "DELETE_PROJECT" {
			t.Errorf("bob's project log shows the old project's %+v", l)
		}
	}
	if len(logs) == 0 || logs[len(logs)-1].Operation != "CREATE_PROJECT" || logs[len(logs)-1].Username != "bob" {
		t.Errorf("bob's project log: %s", out)
	}
	if _, out := admin.want("GET", "/audit-logs?q=project_name=team", "", 200, ""); !strings.Contains(out, `"username":"alice"`) {
		t.Errorf("the system-wide log lost the old project's events: %s", out)
	}
	err := store.View(t.Context(), func(tx meta.Tx) error {
		if ps, _ := webhook.PolicyRecords.In(tx).List("", 0); len(ps) != 0 {
			t.Errorf("policies left: %+v", ps)
		}
		if ds, _ := webhook.DeliveryRecords.In(tx).List("", 0); len(ds) != 0 {
			t.Errorf("deliveries left: %+v", ds)
		}
		if js, _ := tx.Jobs().List(meta.JobFilter{Kind: webhook.JobKind}, 0, 0); len(js) != 0 {
			t.Errorf("delivery jobs left: %+v", js)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestWebhookSecretsWriteOnly: a target's auth header is write-only like
// its secret: never returned, kept when an update omits it; an update
// that changes a target's address drops both unless it gives new ones, so
// no secret is ever sent to an address it was not given for.
func TestWebhookSecretsWriteOnly(t *testing.T) {
	url, store := newWebhookAPI(t)
	alice := client{t, url, "alice", "alice-password"}
	alice.want("POST", "/projects", `{"project_name":"team"}`, 201, "")
	path := "/projects/team/webhook/policies"
	alice.want("POST", path, `{"name":"deploy","event_types":["PUSH_ARTIFACT"],"enabled":true,
		"targets":[{"type":"http","address":"https://one.example/","auth_header":"Bearer one-token","secret":"one-secret"},
		           {"type":"http","address":"https://two.example/","auth_header":"Bearer two-token"}]}`, 201, "")
	stored := func() []webhook.Target {
		t.Helper()
		var p webhook.Policy
		if err := store.View(t.Context(), func(tx meta.Tx) error {
			var err error
			p, err = webhook.PolicyRecords.In(tx).Get(webhook.PolicyKey("team", "deploy"))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return p.Targets
	}
	_, out := alice.want("GET", path+"/deploy", "", 200, "")
	if strings.Contains(out, "one-token") || strings.Contains(out, "one-secret") || !strings.Contains(out, `"auth_header_set":true`) ||
		!strings.Contains(out, `"secret_set":true`) {
		t.Errorf("GET shows a secret, or hides that one is set: %s", out)
	}
	if _, out := alice.want("GET", path, "", 200, ""); strings.Contains(out, "two-token") {
		t.Errorf("the list shows an auth header: %s", out)
	}

	// Omitted: kept, also when the targets change order.
	alice.want("PUT", path+"/deploy", `{"event_types":["PUSH_ARTIFACT"],"enabled":true,
		"targets":[{"type":"http","address":"https://two.example/"},{"type":"http","address":"https://one.example/"}]}`, 200, "")
	if ts := stored(); ts[0].AuthHeader != "Bearer two-token" || ts[1].AuthHeader != "Bearer one-token" || ts[1].Secret != "one-secret" || ts[0].Secret != "" {
		t.Errorf("after an update that omits them: %+v", ts)
	}
	// A new address: the old secret and auth header go, unless given anew.
	alice.want("PUT", path+"/deploy", `{"event_types":["PUSH_ARTIFACT"],"enabled":true,
		"targets":[{"type":"http","address":"https://evil.example/"},
		           {"type":"http","address":"https://three.example/","auth_header":"Bearer three-token"}]}`, 200, "")
	if ts := stored(); ts[0].AuthHeader != "" || ts[0].Secret != "" || ts[1].AuthHeader != "Bearer three-token" || ts[1].Secret != "" {
		t.Errorf("after changing the addresses: %+v", ts)
	}
	// An explicit empty value removes one.
	alice.want("PUT", path+"/deploy", `{"event_types":["PUSH_ARTIFACT"],"enabled":true,
		"targets":[{"type":"http","address":"https://three.example/","auth_header":""}]}`, 200, "")
	if ts := stored(); len(ts) != 1 || ts[0].AuthHeader != "" {
		t.Errorf("after removing the auth header: %+v", ts)
	}
}

// TestWebhookPolicyErrorsAreTheServices: the API answers a bad policy with
// webhook.Validate's own error, the one a Go caller gets.
func TestWebhookPolicyErrorsAreTheServices(t *testing.T) {
	url, _ := newWebhookAPI(t)
	admin := client{t, url, "admin", "admin-password"}
	_, out := admin.want("POST", "/webhook/policies", `{"name":"deploy","event_types":["PUSH"],"enabled":true,
		"targets":[{"type":"http","address":"https://x.example/"}]}`, 400, "BAD_REQUEST")
	want := webhook.Validate(webhook.Policy{Name: "deploy", EventTypes: []string{"PUSH"}, Enabled: true,
		Targets: []webhook.Target{{Type: "http", Address: "https://x.example/"}}})
	var e struct{ Errors []struct{ Message string } }
	if err := json.Unmarshal([]byte(out), &e); err != nil || want == nil || len(e.Errors) != 1 || e.Errors[0].Message != want.Error() {
		t.Errorf("answer %s, want the message %v", out, want)
	}
}

// The event types a project's webhook may choose are events.Types, to
// whoever manages the project's webhooks only.
func TestWebhookEventTypes(t *testing.T) {
	url, _ := newWebhookAPI(t)
	alice := client{t, url, "alice", "alice-password"}
	bob := client{t, url, "bob", "bob-password"}
	alice.want("POST", "/projects", `{"project_name":"a"}`, 201, "")
	_, out := alice.want("GET", "/projects/a/webhook/events", "", 200, "")
	var got webhookEventsJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil || !slices.Equal(got.EventType, events.Types) || !slices.Contains(got.NotifyType, "slack") {
		t.Errorf("event types: %s", out)
	}
	if resp, _ := bob.do("GET", "/projects/a/webhook/events", ""); resp.StatusCode == 200 {
		t.Error("a stranger reads another project's webhook event types")
	}
}
