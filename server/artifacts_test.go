package server

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// apiClient calls the admin API of a test server as one account.
type apiClient struct {
	t          *testing.T
	host       string
	user, pass string
}

func (c apiClient) do(method, path, body string) (int, http.Header, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, "http://"+c.host+"/api/v2.0"+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// want calls and checks the status, returning the body and headers.
func (c apiClient) want(method, path, body string, status int) (string, http.Header) {
	c.t.Helper()
	code, h, out := c.do(method, path, body)
	if code != status {
		c.t.Fatalf("%s %s %s as %q: %d %s, want %d", method, path, body, c.user, code, out, status)
	}
	return out, h
}

// listed decodes a JSON array of objects and returns the values of key.
func listed(t *testing.T, body, key string) []string {
	t.Helper()
	var items []map[string]any
	if err := json.Unmarshal([]byte(body), &items); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	var out []string
	for _, it := range items {
		s, _ := it[key].(string)
		out = append(out, s)
	}
	return out
}

// pushImage pushes img to host/repo:tag as user and returns its digest.
func pushImage(t *testing.T, host, repo, tag string, img v1.Image, user, pass string) v1.Hash {
	t.Helper()
	ref, err := name.ParseReference(host+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: user, Password: pass})); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	d, _ := img.Digest()
	return d
}

// The repositories, artifacts, tags and accessories of Harbor's API,
// with the rights each needs, against a whole server: a guest sees but
// cannot delete, a robot sees only its projects, anonymous sees public
// projects only, and writes go through the registry's policies.
func TestArtifactsAPI(t *testing.T) {
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	cfg.Auth.AdminPassword = "admin-password"
	host := serve(t, cfg)
	admin := apiClient{t, host, "admin", "admin-password"}
	anon := apiClient{t: t, host: host}
	for _, u := range []string{"guest", "dev", "keeper"} {
		admin.want("POST", "/users", `{"username":"`+u+`","password":"`+u+`-password-1"}`, 201)
	}
	guest, dev, keeper := apiClient{t, host, "guest", "guest-password-1"}, apiClient{t, host, "dev", "dev-password-1"}, apiClient{t, host, "keeper", "keeper-password-1"}
	admin.want("POST", "/projects", `{"project_name":"team","metadata":{"public":"false"}}`, 201)
	admin.want("POST", "/projects", `{"project_name":"pub","metadata":{"public":"true"}}`, 201)
	admin.want("POST", "/projects", `{"project_name":"secret","metadata":{"public":"false"}}`, 201)
	for user, role := range map[string]int{"guest": 3, "dev": 2, "keeper": 4} {
		admin.want("POST", "/projects/team/members", `{"role_id":`+jsonNumber(role)+`,"member_user":{"username":"`+user+`"}}`, 201)
	}

	// Content: two tagged images, an index of two platforms, a cosign
	// signature under its tag, and an OCI 1.1 referrer.
	v1img, _ := random.Image(512, 2)
	v2img, _ := random.Image(512, 1)
	d1 := pushImage(t, host, "team/app", "v1", v1img, "admin", "admin-password")
	d2 := pushImage(t, host, "team/app", "v2", v2img, "admin", "admin-password")
	amd, _ := random.Image(256, 1)
	arm, _ := random.Image(256, 1)
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}})
	idxRef, _ := name.ParseReference(host+"/team/app:multi", name.Insecure)
	if err := remote.WriteIndex(idxRef, idx, remote.WithAuth(&authn.Basic{Username: "admin", Password: "admin-password"})); err != nil {
		t.Fatal(err)
	}
	dIdx, _ := idx.Digest()
	sig := mutate.MediaType(mustLayerImage(t, "application/vnd.dev.cosign.simplesigning.v1+json"), types.OCIManifestSchema1)
	pushImage(t, host, "team/app", "sha256-"+d1.Hex+".sig", sig, "admin", "admin-password")
	pushImage(t, host, "pub/tool", "latest", v2img, "admin", "admin-password")
	pushImage(t, host, "secret/hidden", "v1", v2img, "admin", "admin-password")

	// Repositories: counts, paging headers, visibility.
	out, h := dev.want("GET", "/projects/team/repositories", "", 200)
	if h.Get("X-Total-Count") != "1" || !strings.Contains(out, `"name":"team/app"`) || !strings.Contains(out, `"artifact_count":3`) {
		t.Errorf("team's repositories: %s %v", out, h)
	}
	out, h = admin.want("GET", "/repositories?page_size=1", "", 200)
	if h.Get("X-Total-Count") != "3" || !strings.Contains(h.Get("Link"), `rel="next"`) || len(listed(t, out, "name")) != 1 {
		t.Errorf("every repository, page 1 of 3: %s %v", out, h)
	}
	out, _ = anon.want("GET", "/repositories", "", 200)
	if got := listed(t, out, "name"); !slices.Equal(got, []string{"pub/tool"}) {
		t.Errorf("anonymous sees %q, want only the public project's", got)
	}
	out, _ = dev.want("GET", "/repositories?q=name%3D~t", "", 200)
	if got := listed(t, out, "name"); !slices.Equal(got, []string{"pub/tool", "team/app"}) {
		t.Errorf("dev's repositories matching t: %q (secret/hidden must not show)", got)
	}
	// Search never names a repository to someone who may not pull it.
	out, _ = dev.want("GET", "/search?q=e", "", 200)
	if strings.Contains(out, "secret") || !strings.Contains(out, `"repository_name":"team/app"`) || !strings.Contains(out, `"name":"team"`) {
		t.Errorf("dev's search for e: %s", out)
	}
	out, _ = anon.want("GET", "/search?q=app", "", 200)
	if strings.Contains(out, "team") {
		t.Errorf("anonymous search finds a private repository: %s", out)
	}
	anon.want("GET", "/search", "", 400)
	out, _ = dev.want("GET", "/statistics", "", 200)
	if !strings.Contains(out, `"private_project_count":1`) || !strings.Contains(out, `"total_repo_count":2`) || strings.Contains(out, "storage") {
		t.Errorf("dev's statistics: %s", out)
	}
	out, _ = admin.want("GET", "/statistics", "", 200)
	// library, made at the first start, is the fourth.
	if !strings.Contains(out, `"total_project_count":4`) || !strings.Contains(out, `"total_repo_count":3`) || !strings.Contains(out, `"total_storage_consumption"`) {
		t.Errorf("admin's statistics: %s", out)
	}
	anon.want("GET", "/statistics", "", 401)
	out, _ = anon.want("GET", "/systeminfo", "", 200)
	if !strings.Contains(out, `"auth_mode":"db_auth"`) || strings.Contains(out, "storage_provider") {
		t.Errorf("anonymous systeminfo: %s", out)
	}
	out, _ = dev.want("GET", "/systeminfo", "", 200)
	if !strings.Contains(out, `"registry_storage_provider_name"`) {
		t.Errorf("dev's systeminfo: %s", out)
	}
	anon.want("GET", "/projects/team/repositories", "", 404)
	anon.want("GET", "/projects/team/repositories/app/artifacts", "", 404)
	dev.want("GET", "/projects/secret/repositories/hidden/artifacts", "", 404)

	// Artifacts: the index once (its children are references), the
	// signature as an accessory of v1, newest first.
	out, h = guest.want("GET", "/projects/team/repositories/app/artifacts?with_accessory=true&with_signature=true", "", 200)
	digests := listed(t, out, "digest")
	if h.Get("X-Total-Count") != "3" || !slices.Equal(digests, []string{dIdx.String(), d2.String(), d1.String()}) {
		t.Fatalf("artifacts %q (total %s), want the index, v2, v1", digests, h.Get("X-Total-Count"))
	}
	var arts []struct {
		Digest      string `json:"digest"`
		Signed      *bool  `json:"signed"`
		Tags        []struct{ Name string }
		References  []struct{ Platform struct{ Architecture string } }
		Accessories []struct{ Type string }
	}
	if err := json.Unmarshal([]byte(out), &arts); err != nil {
		t.Fatal(err)
	}
	if len(arts[0].References) != 2 || arts[0].References[1].Platform.Architecture != "arm64" {
		t.Errorf("the index's references: %+v", arts[0].References)
	}
	if len(arts[2].Accessories) != 1 || arts[2].Accessories[0].Type != "signature.cosign" || arts[2].Signed == nil || !*arts[2].Signed ||
		len(arts[2].Tags) != 1 || arts[2].Tags[0].Name != "v1" {
		t.Errorf("v1: %+v", arts[2])
	}
	out, _ = guest.want("GET", "/projects/team/repositories/app/artifacts?q=tags%3Dv2", "", 200)
	if got := listed(t, out, "digest"); !slices.Equal(got, []string{d2.String()}) {
		t.Errorf("tags=v2: %q", got)
	}
	out, _ = guest.want("GET", "/projects/team/repositories/app/artifacts?q=tags%3D~v&sort=push_time", "", 200)
	if got := listed(t, out, "digest"); !slices.Equal(got, []string{d1.String(), d2.String()}) {
		t.Errorf("tags=~v oldest first: %q", got)
	}
	guest.want("GET", "/projects/team/repositories/app/artifacts?q=colour%3Dred", "", 400)
	guest.want("GET", "/projects/team/repositories/app/artifacts?sort=size", "", 400)
	out, _ = guest.want("GET", "/projects/team/repositories/app/artifacts/v1", "", 200)
	if !strings.Contains(out, d1.String()) || !strings.Contains(out, `"build_history"`) || !strings.Contains(out, `"extra_attrs":{`) {
		t.Errorf("v1 by tag: %s", out)
	}
	guest.want("GET", "/projects/team/repositories/app/artifacts/v1/additions/build_history", "", 200)
	out, _ = guest.want("GET", "/projects/team/repositories/app/artifacts/v1/accessories", "", 200)
	if got := listed(t, out, "type"); !slices.Equal(got, []string{"signature.cosign"}) {
		t.Errorf("v1's accessories: %s", out)
	}

	// Labels: attached by a developer, shown and filtered on.
	admin.want("POST", "/labels", `{"name":"prod","color":"#00AA00","scope":"p","project_name":"team"}`, 201)
	labelsOut, _ := dev.want("GET", "/labels?scope=p&project_name=team", "", 200)
	var labels []struct{ ID int64 }
	if err := json.Unmarshal([]byte(labelsOut), &labels); err != nil || len(labels) != 1 {
		t.Fatalf("team's labels: %s", labelsOut)
	}
	id := jsonNumber(int(labels[0].ID))
	guest.want("POST", "/projects/team/repositories/app/artifacts/v2/labels", `{"id":`+id+`}`, 403)
	dev.want("POST", "/projects/team/repositories/app/artifacts/v2/labels", `{"id":`+id+`}`, 201)
	out, h = guest.want("GET", "/projects/team/repositories/app/artifacts?with_label=true&q=labels%3D"+id, "", 200)
	if got := listed(t, out, "digest"); h.Get("X-Total-Count") != "1" || !slices.Equal(got, []string{d2.String()}) || !strings.Contains(out, `"name":"prod"`) {
		t.Errorf("artifacts labelled prod: %s", out)
	}
	out, _ = guest.want("GET", "/projects/team/repositories/app/artifacts?q=labels%3D(prod%20"+id+")", "", 200)
	if got := listed(t, out, "digest"); !slices.Equal(got, []string{d2.String()}) {
		t.Errorf("artifacts labelled (prod %s): %q", id, got)
	}
	guest.want("GET", "/projects/team/repositories/app/artifacts?q=labels%3Dnope", "", 400)

	// A Helm chart's README, values and dependencies.
	chart := helmChart(t, map[string]string{
		"web/Chart.yaml":             "apiVersion: v2\nname: web\nversion: 0.1.0\ndependencies:\n- name: redis\n  version: 17.0.0\n  repository: oci://registry.example/charts\n",
		"web/values.yaml":            "replicas: 2\n",
		"web/README.md":              "# web chart\n",
		"web/charts/redis/README.md": "# not this one\n",
	})
	pushImage(t, host, "team/charts/web", "0.1.0", chart, "admin", "admin-password")
	for addition, want := range map[string]string{
		"readme.md": "# web chart\n", "values.yaml": "replicas: 2\n",
		"dependencies": `[{"name":"redis","version":"17.0.0","repository":"oci://registry.example/charts"}]`,
	} {
		if out, _ := guest.want("GET", "/projects/team/repositories/charts%252Fweb/artifacts/0.1.0/additions/"+addition, "", 200); out != want {
			t.Errorf("the chart's %s: %q, want %q", addition, out, want)
		}
	}
	guest.want("GET", "/projects/team/repositories/charts%252Fweb/artifacts/0.1.0/additions/build_history", "", 404)
	guest.want("GET", "/projects/team/repositories/app/artifacts/v1/additions/readme.md", "", 404)
	guest.want("GET", "/projects/team/repositories/app/artifacts/v1/additions/nonsense", "", 400)

	// Tags: a guest may not add or delete; a developer adds; an existing
	// tag is a conflict; a maintainer deletes.
	guest.want("POST", "/projects/team/repositories/app/artifacts/v1/tags", `{"name":"stable"}`, 403)
	dev.want("POST", "/projects/team/repositories/app/artifacts/v1/tags", `{"name":"stable"}`, 201)
	dev.want("POST", "/projects/team/repositories/app/artifacts/v2/tags", `{"name":"stable"}`, 409)
	dev.want("POST", "/projects/team/repositories/app/artifacts/v2/tags", `{"name":"bad tag"}`, 400)
	out, _ = guest.want("GET", "/projects/team/repositories/app/artifacts/"+d1.String()+"/tags", "", 200)
	if got := listed(t, out, "name"); !slices.Equal(got, []string{"stable", "v1"}) {
		t.Errorf("v1's tags: %q", got)
	}
	dev.want("DELETE", "/projects/team/repositories/app/artifacts/v1/tags/stable", "", 403)
	keeper.want("DELETE", "/projects/team/repositories/app/artifacts/v2/tags/stable", "", 404) // stable names v1
	keeper.want("DELETE", "/projects/team/repositories/app/artifacts/v1/tags/stable", "", 200)

	// Copy: pull rights on the source are needed, push rights here.
	dev.want("POST", "/projects/team/repositories/copied/artifacts?from="+url.QueryEscape("secret/hidden:v1"), "", 404)
	dev.want("POST", "/projects/team/repositories/copied/artifacts?from="+url.QueryEscape("pub/tool:latest"), "", 201)
	out, _ = dev.want("GET", "/projects/team/repositories/copied/artifacts", "", 200)
	if got := listed(t, out, "digest"); !slices.Equal(got, []string{d2.String()}) {
		t.Errorf("copied: %q", got)
	}
	guest.want("POST", "/projects/team/repositories/copied/artifacts?from="+url.QueryEscape("pub/tool:latest"), "", 403)

	// Deletes: a guest sees but cannot delete; a maintainer deletes the
	// artifact and, with everything in it, the repository.
	guest.want("DELETE", "/projects/team/repositories/app/artifacts/v2", "", 403)
	keeper.want("DELETE", "/projects/team/repositories/app/artifacts/v2", "", 200)
	keeper.want("GET", "/projects/team/repositories/app/artifacts/v2", "", 404)
	dev.want("PUT", "/projects/team/repositories/app", `{"description":"the app"}`, 200)
	out, _ = guest.want("GET", "/projects/team/repositories/app", "", 200)
	if !strings.Contains(out, `"description":"the app"`) || !strings.Contains(out, `"artifact_count":2`) {
		t.Errorf("app: %s", out)
	}
	guest.want("DELETE", "/projects/team/repositories/app", "", 403)
	keeper.want("DELETE", "/projects/team/repositories/app", "", 200)
	keeper.want("GET", "/projects/team/repositories/app", "", 404)
	out, _ = admin.want("GET", "/audit-logs?q=operation%3DDELETE_REPOSITORY", "", 200)
	if strings.Count(out, "team/app") != 1 {
		t.Errorf("one DELETE_REPOSITORY event for team/app: %s", out)
	}

	// A robot of team sees team only.
	robotOut, _ := admin.want("POST", "/robots", `{"name":"ci","level":"project","duration":-1,"permissions":[{"kind":"project","namespace":"team",
		"access":[{"resource":"repository","action":"pull"}]}]}`, 201)
	var robot struct{ Name, Secret string }
	if err := json.Unmarshal([]byte(robotOut), &robot); err != nil {
		t.Fatal(err)
	}
	rc := apiClient{t, host, robot.Name, robot.Secret}
	out, _ = rc.want("GET", "/repositories", "", 200)
	if got := listed(t, out, "name"); !slices.Equal(got, []string{"pub/tool", "team/charts/web", "team/copied"}) {
		t.Errorf("the robot sees %q", got)
	}
	rc.want("GET", "/projects/secret/repositories", "", 404)
}

// helmChart is a Helm chart stored as OCI: a config of Helm's media
// type and one gzipped tar layer holding files.
func helmChart(t *testing.T, files map[string]string) v1.Image {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		body := files[name]
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer: static.NewLayer(buf.Bytes(), "application/vnd.cncf.helm.chart.content.v1.tar+gzip")})
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.ConfigMediaType(mutate.MediaType(img, types.OCIManifestSchema1), "application/vnd.cncf.helm.config.v1+json")
	return img
}

func jsonNumber(n int) string { b, _ := json.Marshal(n); return string(b) }

// mustLayerImage is an image of one small layer of media type mt.
func mustLayerImage(t *testing.T, mt string) v1.Image {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ls, _ := img.Layers()
	img, err = mutate.Append(empty.Image, mutate.Addendum{Layer: ls[0], MediaType: types.MediaType(mt)})
	if err != nil {
		t.Fatal(err)
	}
	return img
}
