package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"
	"golang.org/x/crypto/bcrypt"
)

// A proxy cache project of another server with auth on (its token flow,
// with the endpoint's credentials): pulled through, the image is the
// upstream's, digest for digest, and is then served from the cache; the
// cache takes no pushes, even the admin's; its settings are the admin's
// to set, through the API, naming the field that is wrong.
func TestProxyCacheBetweenServers(t *testing.T) {
	a, b := startSite(t, nil), startSite(t, nil)
	a.must("POST", "/projects", `{"project_name":"team"}`, 201)
	want := a.push(t, "team/app:v1", 4096)

	b.endpoint("a", a.host, true)
	b.must("POST", "/projects", `{"project_name":"hub"}`, 201)
	b.must("PUT", "/projects/hub/proxy", `{"registries":["nope"]}`, 404)
	b.must("PUT", "/projects/hub/proxy", `{"registries":[]}`, 400)
	b.must("PUT", "/projects/hub/proxy", `{"registries":["a"],"ttl_seconds":60}`, 200)
	if got := b.must("GET", "/projects/hub/proxy", "", 200); !strings.Contains(got, `"registries":["a"]`) || !strings.Contains(got, `"ttl_seconds":60`) {
		t.Errorf("proxy settings %s", got)
	}

	img, err := remote.Image(b.ref(t, "hub/team/app:v1"), b.auth)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := img.Digest(); d != want {
		t.Fatalf("pulled %s through the cache, want %s", d, want)
	}
	readLayers(t, img)
	if got := b.digest(t, "hub/team/app:v1", b.auth); got != want.String() {
		t.Errorf("cached tag at %s", got)
	}
	other, _ := random.Image(256, 1)
	if err := remote.Write(b.ref(t, "hub/team/app:mine"), other, b.auth); err == nil || !strings.Contains(err.Error(), "proxy cache") {
		t.Errorf("the admin's push into the cache: %v", err)
	}
	// Harbor's way: a project created with the endpoint's registry_id.
	var ep struct{ ID int64 }
	if err := json.Unmarshal([]byte(b.must("GET", "/registries/a", "", 200)), &ep); err != nil || ep.ID <= 0 {
		t.Fatalf("endpoint id: %+v, %v", ep, err)
	}
	id := strconv.FormatInt(ep.ID, 10)
	if got := b.must("GET", "/registries/"+id, "", 200); !strings.Contains(got, `"name":"a"`) {
		t.Errorf("endpoint by id: %s", got)
	}
	b.must("POST", "/projects", `{"project_name":"hub2","registry_id":99}`, 400)
	b.must("POST", "/projects", `{"project_name":"hub2","registry_id":`+id+`}`, 201)
	if got := b.must("GET", "/projects/hub2", "", 200); !strings.Contains(got, `"registry_id":`+id) {
		t.Errorf("project hub2: %s", got)
	}
	if got := b.digest(t, "hub2/team/app:v1", b.auth); got != want.String() {
		t.Errorf("through hub2: %q", got)
	}
	// The endpoint stays while a cache uses it.
	if got := b.must("DELETE", "/registries/a", "", 409); !strings.Contains(got, "proxy cache project hub") {
		t.Errorf("deleting an endpoint a cache uses: %s", got)
	}
	b.must("GET", "/projects/team/proxy", "", 404) // no project
	b.must("POST", "/projects", `{"project_name":"plain"}`, 201)
	if got := b.must("GET", "/projects/plain/proxy", "", 404); !strings.Contains(got, "no proxy cache") {
		t.Errorf("a project that is no cache: %s", got)
	}
}

// readLayers reads every layer of img whole, which go-containerregistry
// verifies against its digest as it reads.
func readLayers(t *testing.T, img v1.Image) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			d, _ := l.Digest()
			t.Fatalf("layer %s through the cache: %v", d, err)
		}
	}
}

// mirrorGet fetches path the way containerd fetches from a mirror: with
// ?ns=, and on a 401 a bearer token for the scope the challenge names
// (as the user when user is set, else anonymous), then again with it.
func mirrorGet(t *testing.T, host, path, ns, user, pass string) (*http.Response, []byte) {
	t.Helper()
	do := func(token string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, "http://"+host+path+"?ns="+url.QueryEscape(ns), nil)
		req.Header.Set("Accept", "application/vnd.oci.image.index.v1+json,application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := do("")
	if resp.StatusCode == http.StatusUnauthorized {
		resp.Body.Close()
		params := map[string]string{}
		for _, kv := range strings.Split(strings.TrimPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer "), ",") {
			k, v, _ := strings.Cut(kv, "=")
			params[k] = strings.Trim(v, `"`)
		}
		req, _ := http.NewRequest(http.MethodGet, params["realm"]+"?service="+url.QueryEscape(params["service"])+"&scope="+url.QueryEscape(params["scope"]), nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		tr, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var tok struct{ Token string }
		_ = json.NewDecoder(tr.Body).Decode(&tok)
		tr.Body.Close()
		resp = do(tok.Token)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// Mirror mode: containerd asks for docker.io's repository names at the
// root with ?ns=docker.io, and the cache project proxy.mirrors names for
// docker.io answers (ghcr.io's, another project of another upstream),
// through the token flow with the scope the challenge names; a namespace
// no cache mirrors is not rewritten; without ns (Docker's
// registry-mirrors) the default mirror answers, but for this registry's
// own repositories.
func TestProxyMirror(t *testing.T) {
	a, c := startSite(t, nil), startSite(t, nil)
	b := startSite(t, func(cfg *Config) {
		cfg.Proxy.Mirrors, cfg.Proxy.DefaultMirror = map[string]string{"docker.io": "hub", "ghcr.io": "ghcr"}, "hub"
	})
	want := a.push(t, "library/app:v1", 2048)
	other := c.push(t, "library/app:v1", 1024) // the same name at another registry
	b.endpoint("a", a.host, true)
	b.endpoint("c", c.host, true)
	for project, upstream := range map[string]string{"hub": "a", "ghcr": "c"} {
		b.must("POST", "/projects", `{"project_name":"`+project+`","metadata":{"public":"true"}}`, 201)
		b.must("PUT", "/projects/"+project+"/proxy", `{"registries":["`+upstream+`"]}`, 200)
	}
	// Two upstream registries, chosen by ns.
	if resp, body := mirrorGet(t, b.host, "/v2/library/app/manifests/v1", "ghcr.io", "", ""); resp.StatusCode != http.StatusOK || resp.Header.Get("Docker-Content-Digest") != other.String() {
		t.Fatalf("ns=ghcr.io: %d %s, want the other registry's %s", resp.StatusCode, body, other)
	}

	for _, user := range []string{"admin", ""} { // the admin, then anonymous (hub is public)
		resp, body := mirrorGet(t, b.host, "/v2/library/app/manifests/v1", "docker.io", user, sitePassword)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Docker-Content-Digest") != want.String() {
			t.Fatalf("manifest through the mirror as %q: %d %s", user, resp.StatusCode, body)
		}
		var m struct{ Layers []struct{ Digest string } }
		if err := json.Unmarshal(body, &m); err != nil || len(m.Layers) == 0 {
			t.Fatalf("manifest %s", body)
		}
		resp, blob := mirrorGet(t, b.host, "/v2/library/app/blobs/"+m.Layers[0].Digest, "docker.io", user, sitePassword)
		if resp.StatusCode != http.StatusOK || digest.FromBytes(blob).String() != m.Layers[0].Digest {
			t.Fatalf("blob through the mirror as %q: %d", user, resp.StatusCode)
		}
	}
	if got := b.digest(t, "hub/library/app:v1", b.auth); got != want.String() {
		t.Errorf("the mirror's pull is not cached in hub: %q", got)
	}
	if resp, body := mirrorGet(t, b.host, "/v2/library/app/manifests/v1", "quay.io", "admin", sitePassword); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a namespace no cache mirrors: %d %s", resp.StatusCode, body)
	}
	// Docker's registry-mirrors sends no ns: the default mirror answers,
	// but for this registry's own repositories.
	if resp, body := mirrorGet(t, b.host, "/v2/library/app/manifests/v1", "", "", ""); resp.StatusCode != http.StatusOK || resp.Header.Get("Docker-Content-Digest") != want.String() {
		t.Errorf("without ns: %d %s", resp.StatusCode, body)
	}
	own := b.push(t, "library/own:v1", 512)
	if resp, body := mirrorGet(t, b.host, "/v2/library/own/manifests/v1", "", "admin", sitePassword); resp.StatusCode != http.StatusOK || resp.Header.Get("Docker-Content-Digest") != own.String() {
		t.Errorf("this registry's own repository without ns: %d %s", resp.StatusCode, body)
	}
}

// A proxy cache of CNCF Distribution with htpasswd auth: the endpoint's
// credentials reach it (basic auth), and a multi-platform index and its
// images pulled through the cache are Distribution's, digest for digest.
// Without the credentials, the upstream's 401 is what a miss says.
func TestProxyCacheOfDistribution(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("up-secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	dist := startDistributionWith(t, "puller:"+string(hash)+"\n")
	upAuth := remote.WithAuth(&authn.Basic{Username: "puller", Password: "up-secret"})
	idx, _ := random.Index(2048, 2, 2)
	upRef, _ := name.ParseReference(dist+"/library/multi:v1", name.Insecure)
	if err := remote.WriteIndex(upRef, idx, upAuth); err != nil {
		t.Fatal(err)
	}
	want, _ := idx.Digest()

	b := startSite(t, nil)
	b.must("POST", "/registries", `{"name":"dist","type":"distribution","url":"http://`+dist+`","credential":{"type":"basic","access_key":"puller","access_secret":"up-secret"}}`, 201)
	b.must("POST", "/registries", `{"name":"dist-anonymous","type":"distribution","url":"http://`+dist+`"}`, 201)
	for _, p := range []string{"hub", "nocreds"} {
		b.must("POST", "/projects", `{"project_name":"`+p+`"}`, 201)
	}
	b.must("PUT", "/projects/hub/proxy", `{"registries":["dist"]}`, 200)
	b.must("PUT", "/projects/nocreds/proxy", `{"registries":["dist-anonymous"]}`, 200)

	got, err := remote.Index(b.ref(t, "hub/library/multi:v1"), b.auth)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := got.Digest(); d != want {
		t.Fatalf("index through the cache %s, want %s", d, want)
	}
	im, _ := idx.IndexManifest()
	for _, m := range im.Manifests {
		img, err := remote.Image(b.ref(t, "hub/library/multi@"+m.Digest.String()), b.auth)
		if err != nil {
			t.Fatal(err)
		}
		readLayers(t, img)
	}
	_, err = remote.Image(b.ref(t, "hub/library/multi:v1"), b.auth) // resolves a platform: fine
	if err != nil {
		t.Fatal(err)
	}
	_, err = remote.Index(b.ref(t, "nocreds/library/multi:v1"), b.auth)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a cache without the upstream's credentials: %v, want the upstream's 401 named", err)
	}
}

// TestProxyMirrorWithContainerd: containerd itself (scripts/containerd.sh)
// pulls docker.io/library/app:v1 with a hosts.toml naming this server as
// docker.io's mirror: it asks with ?ns=docker.io, anonymously, and gets
// the image the cache project fetched from its upstream, digest for
// digest, into its content store.
func TestProxyMirrorWithContainerd(t *testing.T) {
	addr, ctr := os.Getenv("BERTH_CONTAINERD_ADDR"), os.Getenv("BERTH_CTR")
	if addr == "" || ctr == "" {
		t.Skip("BERTH_CONTAINERD_ADDR is unset: run under scripts/containerd.sh")
	}
	a := startSite(t, nil)
	b := startSite(t, func(c *Config) { c.Proxy.Mirrors = map[string]string{"docker.io": "hub"} })
	want := a.push(t, "library/app:v1", 4096)
	b.endpoint("a", a.host, true)
	b.must("POST", "/projects", `{"project_name":"hub","metadata":{"public":"true"}}`, 201)
	b.must("PUT", "/projects/hub/proxy", `{"registries":["a"]}`, 200)

	hosts := filepath.Join(t.TempDir(), "docker.io")
	if err := os.MkdirAll(hosts, 0o755); err != nil {
		t.Fatal(err)
	}
	toml := "server = \"https://registry-1.docker.io\"\n\n[host.\"http://" + b.host + "\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
	if err := os.WriteFile(filepath.Join(hosts, "hosts.toml"), []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	ns := "berth-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(ctr, append([]string{"--address", addr, "--namespace", ns}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("ctr %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("content", "fetch", "--hosts-dir", filepath.Dir(hosts), "docker.io/library/app:v1")
	manifest := run("content", "get", want.String())
	if digest.FromString(manifest).String() != want.String() {
		t.Fatalf("containerd holds other bytes under %s", want)
	}
	var m struct{ Layers []struct{ Digest string } }
	if err := json.Unmarshal([]byte(manifest), &m); err != nil || len(m.Layers) == 0 {
		t.Fatalf("manifest %s", manifest)
	}
	if layer := run("content", "get", m.Layers[0].Digest); digest.FromString(layer).String() != m.Layers[0].Digest {
		t.Errorf("containerd's copy of layer %s differs", m.Layers[0].Digest)
	}
	if got := b.digest(t, "hub/library/app:v1", b.auth); got != want.String() {
		t.Errorf("the mirror's pull is not cached in hub: %q", got)
	}
}
