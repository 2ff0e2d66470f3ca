package webhookconsumers

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/crypto/bcrypt"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/testserver"
	"github.com/berthreg/berth/server"
)

const (
	adminPassword = "admin-password"
	project       = "shop"

	// argoSecret is Argo CD Image Updater's --harbor-webhook-secret, set
	// as the policy target's auth header (the updater's documentation:
	// Harbor's own secret support).
	argoSecret = "argo-s3cret"
	// ceSecret is its --cloudevents-webhook-secret, given in the URL.
	ceSecret = "ce-s3cret"
	// keelUser and keelPassword are Keel's BASIC_AUTH_USER and
	// BASIC_AUTH_PASSWORD, with AUTHENTICATED_WEBHOOKS=true.
	keelUser, keelPassword = "keel", "keel-pw"
	// rainbondService is the id of the Rainbond component whose image
	// webhook the policy calls.
	rainbondService = "5f1c0de2a9b84e0c9c1e6a7b3d2f4e10"
)

// Where each consumer listens, as its documentation tells Harbor's users
// to configure the policy's address (the receiver stands in for each).
const (
	argoURI     = "/webhook?type=harbor"
	argoCEURI   = "/webhook?type=cloudevents&secret=" + ceSecret
	keelURI     = "/v1/webhooks/harbor"
	rainbondURI = "/console/image/webhooks/" + rainbondService
)

// serve runs a whole Berth server on a loopback port, with the admin's
// password set, webhooks allowed to reach loopback receivers and every
// pull logged (so PULL_ARTIFACT is delivered), and returns its host:port.
func serve(t *testing.T) string {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Auth.AdminPassword = adminPassword
	cfg.Auth.HashCost = bcrypt.MinCost
	cfg.Outbound.Allow = []string{"127.0.0.0/8", "::1"}
	cfg.Events.PullSample = 1
	return testserver.Start(t, cfg, server.WithLogger(slog.New(slog.DiscardHandler)))
}

// admin calls the admin API as the administrator and fails the test
// unless the answer has status want.
func admin(t *testing.T, host, method, path, body string, want int) string {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+host+"/api/v2.0"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("admin", adminPassword)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, res.StatusCode, out, want)
	}
	return string(out)
}

// policyJSON is a project webhook policy with one target per consumer.
func policyJSON(rc *receiver) string {
	keelAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte(keelUser+":"+keelPassword))
	p := map[string]any{
		"name":        "deployers",
		"enabled":     true,
		"event_types": []string{"PUSH_ARTIFACT", "PULL_ARTIFACT", "DELETE_ARTIFACT"},
		"targets": []map[string]any{
			{"type": "http", "address": rc.url + argoURI, "auth_header": argoSecret},
			{"type": "http", "address": rc.url + argoCEURI, "payload_format": "CloudEvents"},
			{"type": "http", "address": rc.url + keelURI, "auth_header": keelAuth},
			{"type": "http", "address": rc.url + rainbondURI},
		},
	}
	b, _ := json.Marshal(p)
	return string(b)
}

// pushed is what the test pushed, as the consumers must see it.
type pushed struct {
	host     string
	app      v1.Hash   // <project>/app:v2, an image
	team     v1.Hash   // <project>/team/app:v3, an index
	children []v1.Hash // the index's manifests, pushed by digest before it
}

// TestConsumersReadBerthWebhooks: against a running server, a webhook
// policy made through the admin API delivers pushes, a pull and a delete
// to Argo CD Image Updater's, Keel's and Rainbond's endpoints, and each
// consumer, reading the body and headers as received, derives exactly the
// repository, tag, digest and image it needs, and ignores or rejects the
// rest as it would from Harbor.
func TestConsumersReadBerthWebhooks(t *testing.T) {
	rc := startReceiver(t)
	host := serve(t)
	admin(t, host, "POST", "/projects", `{"project_name":"`+project+`"}`, 201)
	admin(t, host, "POST", "/projects/"+project+"/webhook/policies", policyJSON(rc), 201)

	auth := remote.WithAuth(&authn.Basic{Username: "admin", Password: adminPassword})
	p := pushed{host: host}
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	appRef, _ := name.ParseReference(host+"/"+project+"/app:v2", name.Insecure)
	if err := remote.Write(appRef, img, auth); err != nil {
		t.Fatal(err)
	}
	p.app, _ = img.Digest()
	idx, err := random.Index(128, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	teamRef, _ := name.ParseReference(host+"/"+project+"/team/app:v3", name.Insecure)
	if err := remote.WriteIndex(teamRef, idx, auth); err != nil {
		t.Fatal(err)
	}
	p.team, _ = idx.Digest()
	im, _ := idx.IndexManifest()
	for _, m := range im.Manifests {
		p.children = append(p.children, m.Digest)
	}
	if _, err := remote.Get(appRef, auth); err != nil { // a pull
		t.Fatal(err)
	}

	appRepo, teamRepo := project+"/app", project+"/team/app"
	defaultURIs := []string{argoURI, keelURI, rainbondURI}
	eventually.True(t, "the pushes and the pull at every endpoint", func() bool {
		for _, uri := range defaultURIs {
			if len(rc.find(uri, "PUSH_ARTIFACT", appRepo, "v2")) != 1 || len(rc.find(uri, "PUSH_ARTIFACT", teamRepo, "v3")) != 1 ||
				len(rc.find(uri, "PUSH_ARTIFACT", teamRepo, "")) != len(p.children) ||
				len(rc.find(uri, "PULL_ARTIFACT", appRepo, "v2")) != 1 {
				return false
			}
		}
		return len(cloudEvents(rc, "harbor.artifact.pushed")) == 2+len(p.children) && len(cloudEvents(rc, "harbor.artifact.pulled")) == 1
	})

	del, _ := name.NewDigest(host+"/"+appRepo+"@"+p.app.String(), name.Insecure)
	if err := remote.Delete(del, auth); err != nil {
		t.Fatal(err)
	}
	deletes := func(uri string) []delivery {
		var out []delivery
		for _, d := range rc.at(uri) {
			if v := d.view(); v.Type == "DELETE_ARTIFACT" && v.EventData.Repository.RepoFullName == appRepo {
				out = append(out, d)
			}
		}
		return out
	}
	eventually.True(t, "the delete at every endpoint", func() bool {
		for _, uri := range defaultURIs {
			if len(deletes(uri)) != 1 {
				return false
			}
		}
		return len(cloudEvents(rc, "harbor.artifact.deleted")) == 1
	})

	t.Run("ArgoCDImageUpdater", func(t *testing.T) { checkArgo(t, rc, p, deletes(argoURI)[0]) })
	t.Run("Keel", func(t *testing.T) { checkKeel(t, rc, p, deletes(keelURI)[0]) })
	t.Run("Rainbond", func(t *testing.T) { checkRainbond(t, rc, p, deletes(rainbondURI)[0]) })
}

// cloudEvents returns the CloudEvents deliveries of type typ.
func cloudEvents(rc *receiver, typ string) []delivery {
	var out []delivery
	for _, d := range rc.at(argoCEURI) {
		var ce struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(d.Body, &ce) == nil && ce.Type == typ {
			out = append(out, d)
		}
	}
	return out
}

// one returns the single Default-format delivery at uri for the event.
func one(t *testing.T, rc *receiver, uri, typ, repo, tag string) delivery {
	t.Helper()
	ds := rc.find(uri, typ, repo, tag)
	if len(ds) != 1 {
		t.Fatalf("%d deliveries of %s %s:%s at %s, want 1", len(ds), typ, repo, tag, uri)
	}
	return ds[0]
}

// checkArgo feeds the deliveries to Argo CD Image Updater's webhook
// server, configured with the policy's secrets.
func checkArgo(t *testing.T, rc *receiver, p pushed, deleted delivery) {
	handlers := map[string]argoHandler{"harbor": argoHarbor{secret: argoSecret}, "cloudevents": argoCloudEvents{secret: ceSecret}}
	appRepo, teamRepo := project+"/app", project+"/team/app"

	for _, c := range []struct {
		repo, tag, image, other string
		digest                  v1.Hash
	}{
		{appRepo, "v2", p.host + "/" + appRepo, p.host + "/" + teamRepo, p.app},
		{teamRepo, "v3", p.host + "/" + teamRepo, p.host + "/" + appRepo, p.team},
	} {
		d := one(t, rc, argoURI, "PUSH_ARTIFACT", c.repo, c.tag)
		ev, err := argoProcess(handlers, d.request())
		want := argoEvent{RegistryURL: p.host, Repository: c.repo, Tag: c.tag, Digest: c.digest.String()}
		if err != nil || ev != want {
			t.Errorf("push %s:%s: derived %+v, %v; want %+v\nbody %s", c.repo, c.tag, ev, err, want, d.Body)
		}
		if !argoWatches(c.image, ev) || argoWatches(c.other, ev) || argoWatches("registry.example.com/"+c.repo, ev) {
			t.Errorf("push %s:%s: an application watching %s is not the one updated", c.repo, c.tag, c.image)
		}
		// The secret is checked against the Authorization header as sent.
		if _, err := argoProcess(map[string]argoHandler{"harbor": argoHarbor{secret: "another"}}, d.request()); err == nil ||
			err.Error() != "incorrect webhook secret" {
			t.Errorf("push %s:%s with another secret configured: %v, want incorrect webhook secret", c.repo, c.tag, err)
		}
	}

	// An index's children arrive as tagless pushes: no tag, no update.
	for _, d := range rc.find(argoURI, "PUSH_ARTIFACT", teamRepo, "") {
		if _, err := argoProcess(handlers, d.request()); err == nil || err.Error() != "tag not found in webhook payload" {
			t.Errorf("tagless push: %v, want tag not found\nbody %s", err, d.Body)
		}
	}
	// Pulls and deletes are not pushes.
	for _, d := range []delivery{one(t, rc, argoURI, "PULL_ARTIFACT", appRepo, "v2"), deleted} {
		want := "unsupported event type: " + d.view().Type
		if _, err := argoProcess(handlers, d.request()); err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", d.view().Type, err, want)
		}
	}
	// Harbor's CloudEvents pass the cloudevents handler's checks (content
	// type, secret in the URL) but have a type it does not take; and the
	// harbor handler refuses their content type.
	ces := cloudEvents(rc, "harbor.artifact.pushed")
	if len(ces) == 0 {
		t.Fatal("no CloudEvents push")
	}
	for _, d := range ces {
		if err := (argoCloudEvents{secret: ceSecret}).validate(d.request()); err != nil {
			t.Errorf("CloudEvents delivery refused by validation: %v", err)
		}
		if _, err := argoProcess(handlers, d.request()); err == nil || err.Error() != "unsupported CloudEvents type: harbor.artifact.pushed" {
			t.Errorf("CloudEvents push: %v, want unsupported CloudEvents type", err)
		}
		if err := (argoHarbor{}).validate(d.request()); err == nil || !strings.HasPrefix(err.Error(), "invalid content type") {
			t.Errorf("CloudEvents push to the harbor handler: %v, want invalid content type", err)
		}
	}
}

// checkKeel feeds the deliveries to Keel's /v1/webhooks/harbor, with
// authenticated webhooks on.
func checkKeel(t *testing.T, rc *receiver, p pushed, deleted delivery) {
	k := keelServer{authenticated: true, user: keelUser, password: keelPassword}
	appRepo, teamRepo := project+"/app", project+"/team/app"

	for _, c := range []struct{ repo, tag string }{{appRepo, "v2"}, {teamRepo, "v3"}} {
		d := one(t, rc, keelURI, "PUSH_ARTIFACT", c.repo, c.tag)
		status, events := k.harbor(d.request())
		want := keelEvent{Repository: p.host + "/" + c.repo, Tag: c.tag}
		if status != http.StatusOK || len(events) != 1 || events[0] != want {
			t.Errorf("push %s:%s: %d %+v, want 200 [%+v]\nbody %s", c.repo, c.tag, status, events, want, d.Body)
		}
		// The credentials are read from the Authorization header as sent.
		if status, _ := (keelServer{authenticated: true, user: keelUser, password: "another"}).harbor(d.request()); status != http.StatusUnauthorized {
			t.Errorf("push %s:%s with another password configured: %d, want 401", c.repo, c.tag, status)
		}
	}
	// Keel reads resource_url alone: for an index's children, which have
	// no tag, the digest stands for the tag, as it would from Harbor.
	var got []keelEvent
	for _, d := range rc.find(keelURI, "PUSH_ARTIFACT", teamRepo, "") {
		status, events := k.harbor(d.request())
		if status != http.StatusOK {
			t.Errorf("tagless push: %d", status)
		}
		got = append(got, events...)
	}
	if len(got) != len(p.children) {
		t.Fatalf("tagless pushes gave %+v, want one event per child of the index", got)
	}
	for _, child := range p.children {
		want := keelEvent{Repository: p.host + "/" + teamRepo, Tag: child.String()}
		found := false
		for _, e := range got {
			found = found || e == want
		}
		if !found {
			t.Errorf("tagless pushes gave %+v, want %+v among them", got, want)
		}
	}
	// Pulls and deletes are accepted and ignored; so is a CloudEvents
	// body (its target has no credentials: sent to an open Keel).
	for _, d := range []delivery{one(t, rc, keelURI, "PULL_ARTIFACT", appRepo, "v2"), deleted} {
		if status, events := k.harbor(d.request()); status != http.StatusOK || len(events) != 0 {
			t.Errorf("%s: %d %+v, want 200 and nothing", d.Body, status, events)
		}
	}
	for _, d := range cloudEvents(rc, "harbor.artifact.pushed") {
		if status, events := (keelServer{}).harbor(d.request()); status != http.StatusOK || len(events) != 0 {
			t.Errorf("%s: %d %+v, want 200 and nothing", d.Body, status, events)
		}
	}
}

// checkRainbond feeds the deliveries to Rainbond's image webhook and
// decides for components built from Berth's images.
func checkRainbond(t *testing.T, rc *receiver, p pushed, deleted delivery) {
	appRepo, teamRepo := project+"/app", project+"/team/app"
	status := func(err error) int {
		var re *rainbondErr
		if errors.As(err, &re) {
			return re.Status
		}
		return 0
	}

	v2 := one(t, rc, rainbondURI, "PUSH_ARTIFACT", appRepo, "v2")
	push, err := rainbondRead(v2.Body)
	want := rainbondPush{Harbor: true, RepoName: appRepo, Tag: "v2", HasTag: true, Pusher: "admin", HasPusher: true}
	if err != nil || push != want {
		t.Fatalf("push v2: read %+v, %v; want %+v\nbody %s", push, err, want, v2.Body)
	}
	for _, c := range []struct {
		component rainbondComponent
		image     string // the image deployed; "" for none
		status    int
	}{
		{rainbondComponent{Image: p.host + "/" + appRepo + ":v2"}, p.host + "/" + appRepo + ":v2", 0},
		{rainbondComponent{Image: p.host + "/" + appRepo + ":v1", Trigger: `v\d+`}, p.host + "/" + appRepo + ":v2", 0},
		{rainbondComponent{Image: p.host + "/" + appRepo + ":v1"}, "", http.StatusBadRequest},                 // another tag
		{rainbondComponent{Image: p.host + "/" + project + "/other:v2"}, "", http.StatusBadRequest},           // another image
		{rainbondComponent{Image: p.host + "/" + teamRepo + ":v2"}, "", http.StatusBadRequest},                // another image
		{rainbondComponent{Image: appRepo + ":v2"}, "", http.StatusBadRequest},                                // "shop" taken for a registry
		{rainbondComponent{Image: p.host + "/" + appRepo + ":v1", Trigger: `rc-`}, "", http.StatusBadRequest}, // trigger not met
	} {
		image, err := rainbondDeploy(push, c.component)
		if image != c.image || status(err) != c.status {
			t.Errorf("push v2 to %+v: deploys %q (%v), want %q (status %d)", c.component, image, err, c.image, c.status)
		}
	}

	v3 := one(t, rc, rainbondURI, "PUSH_ARTIFACT", teamRepo, "v3")
	push, err = rainbondRead(v3.Body)
	if err != nil || push.RepoName != teamRepo || push.Tag != "v3" || !push.HasTag {
		t.Fatalf("push v3: read %+v, %v\nbody %s", push, err, v3.Body)
	}
	if image, err := rainbondDeploy(push, rainbondComponent{Image: p.host + "/" + teamRepo + ":v3"}); err != nil || image != p.host+"/"+teamRepo+":v3" {
		t.Errorf("push v3: deploys %q, %v", image, err)
	}

	// An index's children: no tag, so no component is redeployed (with a
	// trigger, Rainbond's re.match on None fails: 500).
	for _, d := range rc.find(rainbondURI, "PUSH_ARTIFACT", teamRepo, "") {
		push, err := rainbondRead(d.Body)
		if err != nil || push.RepoName != teamRepo || push.HasTag {
			t.Errorf("tagless push: read %+v, %v", push, err)
		}
		if _, err := rainbondDeploy(push, rainbondComponent{Image: p.host + "/" + teamRepo + ":v3"}); status(err) != http.StatusBadRequest {
			t.Errorf("tagless push without trigger: %v, want 400", err)
		}
		if _, err := rainbondDeploy(push, rainbondComponent{Image: p.host + "/" + teamRepo + ":v3", Trigger: `v\d+`}); status(err) != http.StatusInternalServerError {
			t.Errorf("tagless push with a trigger: %v, want 500", err)
		}
	}

	// Rainbond never reads the type: a pull of v2 (and Harbor's would be
	// the same) redeploys a component on v2, so a policy for Rainbond
	// should select PUSH_ARTIFACT only. The delete of v2 is read too.
	pull := one(t, rc, rainbondURI, "PULL_ARTIFACT", appRepo, "v2")
	push, err = rainbondRead(pull.Body)
	if err != nil || push.RepoName != appRepo || push.Tag != "v2" {
		t.Errorf("pull: read %+v, %v", push, err)
	} else if image, err := rainbondDeploy(push, rainbondComponent{Image: p.host + "/" + appRepo + ":v2"}); err != nil || image == "" {
		t.Errorf("pull: deploys %q, %v; Rainbond redeploys on any Harbor event", image, err)
	}
	if push, err := rainbondRead(deleted.Body); err != nil || !push.Harbor || push.RepoName != appRepo {
		t.Errorf("delete: read %+v, %v; Rainbond reads any Harbor event with resources", push, err)
	}

	// A CloudEvents body is not Harbor's Default format: refused.
	for _, d := range cloudEvents(rc, "harbor.artifact.pushed") {
		if _, err := rainbondRead(d.Body); status(err) != http.StatusBadRequest {
			t.Errorf("CloudEvents push: %v, want 400 (no repository)", err)
		}
	}
}
