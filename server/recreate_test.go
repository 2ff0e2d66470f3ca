package server

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berthreg/berth/internal/eventually"
)

// TestRecreatedProjectKeepsNoWebhooks: alice's project team has a webhook
// policy; she deletes the project; bob creates team again and pushes to
// it: the push reaches a system policy's receiver, never alice's.
func TestRecreatedProjectKeepsNoWebhooks(t *testing.T) {
	old, witness := startReceiver(t, 200), startReceiver(t, 200)
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	cfg.Auth.AdminPassword = "admin-password"
	host := serve(t, cfg)
	api := "http://" + host + "/api/v2.0"
	must := adminCaller(t, api, "admin-password")
	as := func(user string) func(method, path, body string, want int) {
		return func(method, path, body string, want int) {
			t.Helper()
			if code, out := call(t, http.DefaultClient, method, api+path, body, "basic", user+":"+user+"-password"); code != want {
				t.Fatalf("%s %s as %s: %d %s, want %d", method, path, user, code, out, want)
			}
		}
	}
	for _, u := range []string{"alice", "bob"} {
		must("POST", "/users", `{"username":"`+u+`","password":"`+u+`-password","email":"`+u+`@example.org"}`, 201)
	}
	alice, bob := as("alice"), as("bob")
	alice("POST", "/projects", `{"project_name":"team"}`, 201)
	alice("POST", "/projects/team/webhook/policies", `{"name":"deploy","event_types":["PUSH_ARTIFACT"],"enabled":true,
		"targets":[{"type":"http","address":"`+old.url+`","auth_header":"Bearer alice-token"}]}`, 201)
	alice("DELETE", "/projects/team", "", 200)
	must("POST", "/webhook/policies", `{"name":"witness","event_types":["PUSH_ARTIFACT"],"enabled":true,"targets":[{"type":"http","address":"`+witness.url+`"}]}`, 201)

	bob("POST", "/projects", `{"project_name":"team"}`, 201)
	ref, _ := name.ParseReference(host+"/team/app:v1", name.Insecure)
	img, _ := random.Image(256, 1)
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "bob", Password: "bob-password"})); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, "the witness's delivery", func() bool { return witness.count() == 1 })
	time.Sleep(100 * time.Millisecond) // time for a wrong delivery to show
	if n := old.count(); n != 0 {
		t.Errorf("the deleted project's receiver got %d deliveries of bob's push", n)
	}
}
