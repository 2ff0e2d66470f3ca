package webhookconsumers

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/webhook"
)

// The rewritten parsers give, on the consumers' own test inputs and
// documented examples, the results those tests and documents state. The
// inputs are restated here; the expectations come from
// argoproj-labs/argocd-image-updater pkg/webhook/harbor_test.go (064c76df),
// docs/configuration/webhook.md (055c8f97), keel-hq/keel's Harbor trigger
// tests (trigger/http), realityone/docker-image-py README.md (bfe76ec7) and
// goodrain/rainbond-console console/views/webhook.py (8fdbe67f).

// harborBody is a Harbor Default-format body from its parts.
func harborBody(typ, resources, repository string) []byte {
	return []byte(`{"type":"` + typ + `","occur_at":1586922308,"operator":"admin","event_data":{"resources":` + resources +
		`,"repository":` + repository + `}}`)
}

func TestArgoHarborAsUpstreamTests(t *testing.T) {
	for _, c := range []struct {
		name    string
		body    []byte
		want    argoEvent
		wantErr string
	}{
		{"full", harborBody("PUSH_ARTIFACT", `[{"digest":"sha256:abc123","tag":"v1.0.0","resource_url":"https://harbor.example.com/library/myapp:v1.0.0"}]`,
			`{"name":"myapp","namespace":"library","repo_full_name":"library/myapp","repo_type":"public"}`),
			argoEvent{"harbor.example.com", "library/myapp", "v1.0.0", "sha256:abc123"}, ""},
		{"repo_full_name wins", harborBody("PUSH_ARTIFACT", `[{"digest":"sha256:3e","tag":"tag","resource_url":"harbor.example.com/image-name:tag"}]`,
			`{"name":"dnse/krx","namespace":"private","repo_full_name":"image-name"}`),
			argoEvent{"harbor.example.com", "image-name", "tag", "sha256:3e"}, ""},
		{"namespace and name", harborBody("PUSH_ARTIFACT", `[{"digest":"sha256:def456","tag":"latest","resource_url":"registry.example.com/myproject/myapp:latest"}]`,
			`{"name":"myapp","namespace":"myproject"}`),
			argoEvent{"registry.example.com", "myproject/myapp", "latest", "sha256:def456"}, ""},
		{"name only, no URL", harborBody("PUSH_ARTIFACT", `[{"digest":"sha256:ghi789","tag":"v2.0.0"}]`, `{"name":"myapp"}`),
			argoEvent{"harbor", "myapp", "v2.0.0", "sha256:ghi789"}, ""},
		{"delete", harborBody("DELETE_ARTIFACT", `[{"tag":"v1.0.0"}]`, `{"repo_full_name":"library/myapp"}`), argoEvent{}, "unsupported event type: DELETE_ARTIFACT"},
		{"no resources", harborBody("PUSH_ARTIFACT", `[]`, `{"repo_full_name":"library/myapp"}`), argoEvent{}, "no resources found in webhook payload"},
		{"no tag", harborBody("PUSH_ARTIFACT", `[{"digest":"sha256:abc123"}]`, `{"repo_full_name":"library/myapp"}`), argoEvent{}, "tag not found in webhook payload"},
		{"no repository", harborBody("PUSH_ARTIFACT", `[{"tag":"v1.0.0"}]`, `{}`), argoEvent{}, "repository name not found in webhook payload"},
		{"empty", []byte(`{}`), argoEvent{}, "unsupported event type: "},
	} {
		got, err := argoHarbor{}.parse(c.body)
		if got != c.want || (err == nil) != (c.wantErr == "") || err != nil && err.Error() != c.wantErr {
			t.Errorf("%s: %+v, %v; want %+v, %q", c.name, got, err, c.want, c.wantErr)
		}
	}

	h := argoHarbor{secret: "test-secret"}
	for _, c := range []struct {
		name, method, contentType, auth string
		h                               argoHarbor
		wantErr                         string
	}{
		{"right secret", "POST", "application/json", "test-secret", h, ""},
		{"no secret configured", "POST", "application/json", "", argoHarbor{}, ""},
		{"GET", "GET", "application/json", "test-secret", h, "invalid HTTP method: GET"},
		{"text", "POST", "text/plain", "test-secret", h, "invalid content type: text/plain"},
		{"no header", "POST", "application/json", "", h, "missing Authorization header when secret is configured"},
		{"wrong secret", "POST", "application/json", "wrong-secret", h, "incorrect webhook secret"},
	} {
		r := httptest.NewRequest(c.method, "/webhook?type=harbor", strings.NewReader(`{}`))
		r.Header.Set("Content-Type", c.contentType)
		if c.auth != "" {
			r.Header.Set("Authorization", c.auth)
		}
		err := c.h.validate(r)
		if (err == nil) != (c.wantErr == "") || err != nil && err.Error() != c.wantErr {
			t.Errorf("%s: %v, want %q", c.name, err, c.wantErr)
		}
	}

	if _, err := argoProcess(map[string]argoHandler{"harbor": argoHarbor{}}, httptest.NewRequest("POST", "/webhook", nil)); err == nil ||
		err.Error() != "missing registry type parameter" {
		t.Errorf("no type: %v", err)
	}
}

func TestArgoCloudEventsAsDocumented(t *testing.T) {
	ecr := `{"specversion":"1.0","id":"1","type":"com.amazon.ecr.image.push","source":"urn:aws:ecr:us-east-1:123456789012:repository/my-repo",
		"subject":"my-repo:v1","time":"2024-01-01T00:00:00Z","datacontenttype":"application/json",
		"data":{"repositoryName":"my-repo","imageDigest":"sha256:abc","imageTag":"v1","registryId":"123456789012"}}`
	got, err := argoCloudEvents{}.parse([]byte(ecr))
	want := argoEvent{"123456789012.dkr.ecr.us-east-1.amazonaws.com", "my-repo", "v1", "sha256:abc"}
	if err != nil || got != want {
		t.Errorf("ECR: %+v, %v; want %+v", got, err, want)
	}
	generic := `{"specversion":"1.0","type":"io.example.container.pushed","source":"https://registry.example.com/events","data":{"repository":"team/app","tag":"v9"}}`
	if got, err := (argoCloudEvents{}).parse([]byte(generic)); err != nil || got != (argoEvent{"registry.example.com", "team/app", "v9", ""}) {
		t.Errorf("generic: %+v, %v", got, err)
	}
	if _, err := (argoCloudEvents{}).parse([]byte(`{"specversion":"1.0","type":"harbor.artifact.pushed"}`)); err == nil {
		t.Error("a Harbor CloudEvent was taken")
	}
}

func TestKeelHarborAsUpstreamTests(t *testing.T) {
	post := func(body []byte) (int, []keelEvent) {
		return keelServer{}.harbor(httptest.NewRequest("POST", "/v1/webhooks/harbor", strings.NewReader(string(body))))
	}
	repo := `{"date_created":1582634337,"name":"repository","namespace":"mynamespace","repo_full_name":"mynamespace/repository","repo_type":"private"}`
	for _, c := range []struct {
		name string
		body []byte
		want []keelEvent
	}{
		{"Harbor 1", harborBody("pushImage", `[{"digest":"sha256:b4","tag":"1.2.3","resource_url":"quay.io/mynamespace/repository:1.2.3"}]`, repo),
			[]keelEvent{{"quay.io/mynamespace/repository", "1.2.3"}}},
		{"Harbor 2 reads resource_url, not tag", harborBody("PUSH_ARTIFACT", `[{"digest":"sha256:b4","tag":"latest","resource_url":"quay.io/mynamespace/repository:1.2.3"}]`, repo),
			[]keelEvent{{"quay.io/mynamespace/repository", "1.2.3"}}},
		{"no registry, no tag", harborBody("pushImage", `[{"digest":"sha256:b4","tag":"1.2.3","resource_url":"mynamespace/repository"}]`, repo),
			[]keelEvent{{"index.docker.io/mynamespace/repository", "latest"}}},
		{"pull", harborBody("PULL_ARTIFACT", `[{"resource_url":"quay.io/mynamespace/repository:1.2.3"}]`, repo), nil},
	} {
		status, got := post(c.body)
		if status != http.StatusOK || len(got) != len(c.want) || len(got) > 0 && got[0] != c.want[0] {
			t.Errorf("%s: %d %+v, want 200 %+v", c.name, status, got, c.want)
		}
	}
	if status, _ := post([]byte(`not json`)); status != http.StatusBadRequest {
		t.Errorf("not JSON: %d", status)
	}
	if status, _ := post(harborBody("PUSH_ARTIFACT", `[{"resource_url":"Upper/Case:1"}]`, repo)); status != http.StatusBadRequest {
		t.Errorf("an unparsable resource_url: %d", status)
	}
}

func TestDockerImagePyAsDocumented(t *testing.T) {
	ref, err := pyParseReference("daocloud.io/nginx:1.11-alpine@sha256:14bf491df1d58404433b577e093c906460871ee677d18caa276d9c03727e0b33")
	if err != nil || ref.name != "daocloud.io/nginx" || ref.tag != "1.11-alpine" {
		t.Errorf("tag and digest: %+v, %v", ref, err)
	}
	if ref, err := pyParseReference("nginx:latest"); err != nil || ref.name != "nginx" || ref.tag != "latest" {
		t.Errorf("nginx:latest: %+v, %v", ref, err)
	}
	if ref, err := pyParseReference("nginx"); err != nil || ref.name != "nginx" || ref.hasTag {
		t.Errorf("nginx: %+v, %v", ref, err)
	}
	if _, err := pyParseReference("Nginx"); err == nil {
		t.Error("upper case parsed")
	}
	for in, want := range map[string][2]string{
		"daocloud.io/nginx":             {"daocloud.io", "nginx"},
		"nginx":                         {"", "nginx"},
		"127.0.0.1:5000/shop/team/app":  {"127.0.0.1:5000", "shop/team/app"},
		"shop/app":                      {"shop", "app"}, // any host-shaped first segment is a host
		"registry.example.com/shop/app": {"registry.example.com", "shop/app"},
	} {
		if h, n := pySplitHostname(in); h != want[0] || n != want[1] {
			t.Errorf("split_hostname(%q) = %q, %q; want %q", in, h, n, want)
		}
	}
}

func TestRainbondOtherBodies(t *testing.T) {
	dockerHub := `{"push_data":{"pusher":"u","tag":"latest"},"repository":{"repo_name":"u/app"}}`
	if p, err := rainbondRead([]byte(dockerHub)); err != nil || p.Harbor || p.RepoName != "u/app" || p.Tag != "latest" || p.Pusher != "u" {
		t.Errorf("Docker Hub: %+v, %v", p, err)
	}
	aliyun := `{"push_data":{"tag":"1"},"repository":{"namespace":"ns","name":"app"}}`
	if p, err := rainbondRead([]byte(aliyun)); err != nil || p.RepoName != "fake.repo.aliyun.com/ns/app" {
		t.Errorf("Aliyun: %+v, %v", p, err)
	}
	var re *rainbondErr
	if _, err := rainbondRead(harborBody("PUSH_ARTIFACT", `[]`, `{"repo_full_name":"a/b"}`)); !errors.As(err, &re) || re.Status != http.StatusBadRequest {
		t.Errorf("Harbor without resources: %v", err)
	}
	if _, err := rainbondRead(harborBody("PUSH_ARTIFACT", `[{"tag":"v1"}]`, `null`)); !errors.As(err, &re) || re.Status != http.StatusInternalServerError {
		t.Errorf("Harbor with a null repository: %v", err)
	}
}

// TestConsumersNeedWhatBerthSends: each field of Berth's push payload that
// a consumer reads changes what it derives when it is missing, so the
// end-to-end test fails if Berth stops sending it. The payload is the one
// webhook.Harbor renders; each case drops one field.
func TestConsumersNeedWhatBerthSends(t *testing.T) {
	const host = "registry.example.com"
	e := meta.Event{Type: "PUSH_ARTIFACT", Time: time.Unix(1700000000, 0), Operator: "ci", Repository: "shop/app",
		Digest: "sha256:" + strings.Repeat("ab", 32), Tag: "v2"}
	full, err := json.Marshal(webhook.Harbor(e, webhook.Context{Host: host}))
	if err != nil {
		t.Fatal(err)
	}
	without := func(path ...string) []byte {
		var m map[string]any
		_ = json.Unmarshal(full, &m)
		cur := m
		for _, k := range path[:len(path)-1] {
			switch v := cur[k].(type) {
			case map[string]any:
				cur = v
			case []any:
				cur = v[0].(map[string]any)
			}
		}
		delete(cur, path[len(path)-1])
		b, _ := json.Marshal(m)
		return b
	}
	argo := func(body []byte) string {
		ev, err := argoHarbor{}.parse(body)
		if err != nil {
			return err.Error()
		}
		return ev.RegistryURL + "/" + ev.Repository + ":" + ev.Tag + "@" + ev.Digest
	}
	keel := func(body []byte) string {
		status, evs := keelServer{}.harbor(httptest.NewRequest("POST", "/v1/webhooks/harbor", strings.NewReader(string(body))))
		if status != http.StatusOK || len(evs) != 1 {
			return http.StatusText(status)
		}
		return evs[0].Repository + ":" + evs[0].Tag
	}
	rainbond := func(body []byte) string {
		p, err := rainbondRead(body)
		if err != nil {
			return err.Error()
		}
		image, err := rainbondDeploy(p, rainbondComponent{Image: host + "/shop/app:v2"})
		if err != nil {
			return err.Error()
		}
		return image + " by " + p.Pusher
	}
	wantFull := map[string]string{
		"argo":     host + "/shop/app:v2@" + e.Digest,
		"keel":     host + "/shop/app:v2",
		"rainbond": host + "/shop/app:v2 by ci",
	}
	consumers := map[string]func([]byte) string{"argo": argo, "keel": keel, "rainbond": rainbond}
	for c, f := range consumers {
		if got := f(full); got != wantFull[c] {
			t.Fatalf("%s reads Berth's payload as %q, want %q", c, got, wantFull[c])
		}
	}
	for _, c := range []struct {
		consumer string
		path     []string
	}{
		{"argo", []string{"type"}},
		{"argo", []string{"event_data", "resources", "tag"}},
		{"argo", []string{"event_data", "resources", "digest"}},
		{"argo", []string{"event_data", "resources", "resource_url"}},
		{"keel", []string{"type"}},
		{"keel", []string{"event_data", "resources", "resource_url"}},
		{"rainbond", []string{"event_data", "resources", "tag"}},
		{"rainbond", []string{"event_data", "repository", "repo_full_name"}}, // name alone is "app"
		{"rainbond", []string{"operator"}},
	} {
		if got := consumers[c.consumer](without(c.path...)); got == wantFull[c.consumer] {
			t.Errorf("%s derives the same without %s: the test would not notice it missing", c.consumer, strings.Join(c.path, "."))
		}
	}
}
