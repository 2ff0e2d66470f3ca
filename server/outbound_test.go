package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berthreg/berth/internal/eventually"
)

// outboundSite is a server with auth, a project "team" and a
// webhook policy "hook" sending pushes to target.
type outboundSite struct {
	host string
	must func(method, path, body string, want int) string
}

func startOutboundSite(t *testing.T, allow []string, target string) outboundSite {
	t.Helper()
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	cfg.Auth.AdminPassword = "admin-password"
	cfg.Outbound.Allow = allow
	cfg.Events.WebhookMaxAttempts, cfg.Events.WebhookBackoff, cfg.Events.WebhookMaxBackoff = 2, 20*time.Millisecond, 50*time.Millisecond
	host := serve(t, cfg)
	s := outboundSite{host: host, must: adminCaller(t, "http://"+host+"/api/v2.0", "admin-password")}
	s.must("POST", "/projects", `{"project_name":"team"}`, 201)
	s.must("POST", "/projects/team/webhook/policies", `{"name":"hook","event_types":["PUSH_ARTIFACT"],"enabled":true,
		"targets":[{"type":"http","address":"`+target+`"}]}`, 201)
	ref, _ := name.ParseReference(host+"/team/app:v1", name.Insecure)
	img, _ := random.Image(64, 1)
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "admin", Password: "admin-password"})); err != nil {
		t.Fatal(err)
	}
	return s
}

// attempts waits for the policy's delivery to end dead and returns the
// delivery log as the API shows it.
func (s outboundSite) attempts(t *testing.T) (string, []struct {
	StatusCode int    `json:"status_code"`
	Error      string `json:"error"`
}) {
	t.Helper()
	var dels []struct {
		Status   string
		Attempts []struct {
			StatusCode int    `json:"status_code"`
			Error      string `json:"error"`
		}
	}
	var out string
	eventually.True(t, "a dead delivery", func() bool {
		out = s.must("GET", "/projects/team/webhook/policies/hook/deliveries", "", 200)
		_ = json.Unmarshal([]byte(out), &dels)
		return len(dels) == 1 && dels[0].Status == "dead"
	})
	return out, dels[0].Attempts
}

// TestWebhookToLoopbackRefusedByDefault: with outbound.allow empty (the
// default), a webhook target on 127.0.0.1 gets nothing and the delivery
// log says "forbidden address"; a receiver's body never shows in the
// delivery or jobs API when it is allowed.
func TestWebhookToLoopbackRefusedByDefault(t *testing.T) {
	const leak = "INTERNAL-PAGE-77ab"
	var hits atomic.Int32
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.WriteHeader(500)
		_, _ = w.Write([]byte(leak))
	}))
	t.Cleanup(rcv.Close)

	s := startOutboundSite(t, nil, rcv.URL)
	_, attempts := s.attempts(t)
	if hits.Load() != 0 {
		t.Fatalf("the loopback receiver got %d requests", hits.Load())
	}
	for _, a := range attempts {
		if a.StatusCode != 0 || a.Error != "forbidden address" {
			t.Errorf("attempt %+v, want refused as a forbidden address", a)
		}
	}

	allowed := startOutboundSite(t, []string{"127.0.0.0/8"}, rcv.URL)
	out, attempts := allowed.attempts(t)
	if hits.Load() != 2 || len(attempts) != 2 || attempts[0].StatusCode != 500 || attempts[0].Error != "http 500" {
		t.Errorf("receiver got %d requests; attempts %+v", hits.Load(), attempts)
	}
	jobs := allowed.must("GET", "/jobs?state=dead", "", 200)
	if strings.Contains(out, leak) || strings.Contains(jobs, leak) {
		t.Errorf("the receiver's body shows in the API:\n%s\n%s", out, jobs)
	}
}

// TestEndpointsOnLoopbackRefusedByDefault: with outbound.allow empty, a
// replication endpoint or a scanner adapter on 127.0.0.1 is refused with
// the url named, and pings reach nothing; allowed, both are accepted.
func TestEndpointsOnLoopbackRefusedByDefault(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	for _, allow := range [][]string{nil, {"127.0.0.0/8"}} {
		cfg := testConfig()
		cfg.DataDir = t.TempDir()
		cfg.Auth.AdminPassword = "admin-password"
		cfg.Outbound.Allow = allow
		api := "http://" + serve(t, cfg) + "/api/v2.0"
		want := 400
		if allow != nil {
			want = 201
		}
		for _, c := range [][2]string{
			{"/registries", `{"name":"inside","url":"` + srv.URL + `"}`},
			{"/scanners", `{"name":"inside","url":"` + srv.URL + `"}`},
		} {
			code, out := call(t, http.DefaultClient, "POST", api+c[0], c[1], "basic", "admin:admin-password")
			if code != want || (want == 400 && !strings.Contains(out, "url")) {
				t.Errorf("allow %v: POST %s: %d %s, want %d", allow, c[0], code, out, want)
			}
		}
		if allow == nil {
			for _, p := range []string{"/registries/ping", "/scanners/ping"} {
				if code, out := call(t, http.DefaultClient, "POST", api+p, `{"name":"x","url":"`+srv.URL+`"}`, "basic", "admin:admin-password"); code != 400 {
					t.Errorf("POST %s: %d %s, want 400", p, code, out)
				}
			}
			if hits.Load() != 0 {
				t.Fatalf("the loopback server got %d requests", hits.Load())
			}
		}
	}
}
