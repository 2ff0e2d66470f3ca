package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/webhook"
)

// hookReceiver records deliveries and answers status.
type hookReceiver struct {
	mu     sync.Mutex
	status int
	bodies [][]byte
	heads  []http.Header
	url    string
}

func startReceiver(t *testing.T, status int) *hookReceiver {
	h := &hookReceiver{status: status}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.bodies, h.heads = append(h.bodies, b), append(h.heads, r.Header.Clone())
		st := h.status
		h.mu.Unlock()
		w.WriteHeader(st)
	}))
	t.Cleanup(srv.Close)
	h.url = srv.URL
	return h
}

func (h *hookReceiver) count() int { h.mu.Lock(); defer h.mu.Unlock(); return len(h.bodies) }

func (h *hookReceiver) last() ([]byte, http.Header) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.bodies[len(h.bodies)-1], h.heads[len(h.heads)-1]
}

// TestWebhooksOnPush: against a server, a project webhook policy
// created through the admin API sends a push made with crane's library
// (token flow, as admin) to an HTTP receiver in Harbor's shape, signed, and
// to a CloudEvents receiver; a failing receiver's delivery ends dead,
// shows in the jobs and delivery APIs, and is redelivered through the API;
// the audit log shows the push.
func TestWebhooksOnPush(t *testing.T) {
	harbor, ce, flaky := startReceiver(t, 200), startReceiver(t, 200), startReceiver(t, 500)
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	cfg.Auth.AdminPassword = "admin-password"
	cfg.Events.WebhookMaxAttempts, cfg.Events.WebhookBackoff, cfg.Events.WebhookMaxBackoff = 3, 20*time.Millisecond, 100*time.Millisecond
	host := serve(t, cfg)
	api := "http://" + host + "/api/v2.0"
	admin := []string{"basic", "admin:admin-password"}
	c := http.DefaultClient
	must := adminCaller(t, api, "admin-password")
	must("POST", "/projects", `{"project_name":"team"}`, 201)
	must("POST", "/projects/team/webhook/policies", `{"name":"deploy","event_types":["PUSH_ARTIFACT"],"enabled":true,"repositories":"team/**",
		"targets":[{"type":"http","address":"`+harbor.url+`","auth_header":"Bearer t0k","secret":"`+secret+`"},
		           {"type":"http","address":"`+ce.url+`","payload_format":"CloudEvents"}]}`, 201)
	must("POST", "/webhook/policies", `{"name":"flaky","event_types":["PUSH_ARTIFACT"],"enabled":true,"targets":[{"type":"http","address":"`+flaky.url+`"}]}`, 201)
	out := must("GET", "/projects/team/webhook/policies/deploy", "", 200)
	if strings.Contains(out, secret) || !strings.Contains(out, `"secret_set":true`) {
		t.Errorf("the policy shows its secret or hides that it has one: %s", out)
	}
	code, out := call(t, c, "POST", api+"/projects/team/webhook/policies", `{"name":"bad","event_types":["PUSHED"],"targets":[{"type":"http","address":"x"}]}`, admin...)
	if code != 400 || !strings.Contains(out, "event_types[0]") {
		t.Errorf("a bad policy: %d %s", code, out)
	}

	ref, _ := name.ParseReference(host+"/team/app:v1", name.Insecure)
	img, _ := random.Image(512, 2)
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "admin", Password: "admin-password"})); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	eventually.True(t, "both deliveries", func() bool { return harbor.count() == 1 && ce.count() == 1 })

	body, hdr := harbor.last()
	if err := webhook.Verify(hdr, secret, body, time.Now(), time.Minute); err != nil || hdr.Get("Authorization") != "Bearer t0k" {
		t.Errorf("signature %v, Authorization %q", err, hdr.Get("Authorization"))
	}
	var p webhook.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	res := p.EventData.Resources
	if p.Type != "PUSH_ARTIFACT" || p.Operator != "admin" || len(res) != 1 || res[0].Digest != d.String() || res[0].Tag != "v1" ||
		res[0].ResourceURL != host+"/team/app:v1" || p.EventData.Repository.RepoFullName != "team/app" ||
		p.EventData.Repository.Namespace != "team" || p.EventData.Repository.RepoType != "private" {
		t.Errorf("payload %s", body)
	}
	cbody, _ := ce.last()
	var event cloudevents.Event
	if err := json.Unmarshal(cbody, &event); err != nil || event.Validate() != nil || event.Type() != "harbor.artifact.pushed" {
		t.Errorf("CloudEvent %s (%v)", cbody, err)
	}

	// The flaky receiver: three attempts, then a dead letter.
	var deadJobs []struct {
		ID    uint64
		Kind  string
		State string
	}
	eventually.True(t, "the dead letter", func() bool {
		_, out := call(t, c, "GET", api+"/jobs?state=dead", "", admin...)
		_ = json.Unmarshal([]byte(out), &deadJobs)
		return len(deadJobs) == 1
	})
	if flaky.count() != 3 || deadJobs[0].Kind != webhook.JobKind {
		t.Errorf("flaky receiver got %d attempts; dead jobs %+v", flaky.count(), deadJobs)
	}
	var dels []struct {
		ID       string
		Status   string
		Attempts []struct {
			StatusCode int `json:"status_code"`
		}
	}
	if err := json.Unmarshal([]byte(must("GET", "/webhook/policies/flaky/deliveries", "", 200)), &dels); err != nil || len(dels) != 1 {
		t.Fatalf("deliveries: %v %+v", err, dels)
	}
	if dels[0].Status != "dead" || len(dels[0].Attempts) != 3 || dels[0].Attempts[2].StatusCode != 500 {
		t.Errorf("delivery log %+v", dels[0])
	}
	flaky.mu.Lock()
	flaky.status = 200
	flaky.mu.Unlock()
	must("POST", "/webhook/policies/flaky/deliveries/"+dels[0].ID+"/redeliver", "", 202)
	eventually.True(t, "the redelivery", func() bool { return flaky.count() == 4 })

	// The audit log has the push, by admin.
	out = must("GET", "/audit-logs?q=operation=PUSH_ARTIFACT", "", 200)
	if !strings.Contains(out, `"resource":"team/app:v1"`) || !strings.Contains(out, `"username":"admin"`) {
		t.Errorf("audit log: %s", out)
	}
	if code, _ := call(t, c, "GET", api+"/audit-logs", ""); code != 401 {
		t.Errorf("anonymous audit log: %d", code)
	}
}

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
