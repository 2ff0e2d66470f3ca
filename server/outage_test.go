package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/faultmeta"
	"github.com/berthreg/berth/internal/oidctest"
	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/storage/memory"
)

// outageProbe is one request that needs the metadata store.
type outageProbe struct {
	name   string
	method string
	path   string // below the server's URL
	body   string
	header []string // name, value pairs; "basic" sets basic credentials
	// after is the status once the store is back.
	after int
	// v2 marks a distribution API answer (an OCI error body).
	v2 bool
}

// probeAnswer is what a probe got.
type probeAnswer struct {
	status int
	header http.Header
	body   string
}

func (p outageProbe) do(t *testing.T, base string) probeAnswer {
	t.Helper()
	req, err := http.NewRequest(p.method, base+p.path, strings.NewReader(p.body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(p.header); i += 2 {
		if p.header[i] == "basic" {
			user, pass, _ := strings.Cut(p.header[i+1], ":")
			req.SetBasicAuth(user, pass)
			continue
		}
		req.Header.Set(p.header[i], p.header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return probeAnswer{status: res.StatusCode, header: res.Header, body: string(b)}
}

// errorCode is the code of the first error in an {"errors":[…]} body.
func errorCode(body string) string {
	var e struct {
		Errors []struct {
			Code string `json:"code"`
		} `json:"errors"`
	}
	if json.Unmarshal([]byte(body), &e) != nil || len(e.Errors) == 0 {
		return ""
	}
	return e.Errors[0].Code
}

// TestMetadataStoreOutage: while the metadata store cannot be reached
// (every transaction fails with meta.ErrUnavailable), every surface
// answers 503 with a Retry-After, never 500, 401 or 403: pulls, pushes
// (upload POST, PATCH and PUT, manifest PUT), the catalog and tag lists,
// through a bearer token, basic credentials or anonymously; the token
// service with and without credentials; the admin API; /c/login; and
// /readyz, while /healthz stays 200. Once the store is back, the same
// server, not restarted, serves them all again, and its background work
// (an event consumer) sees the pushes made since.
func TestMetadataStoreOutage(t *testing.T) {
	store := faultmeta.Wrap(testbolt.Open(t))
	var mu sync.Mutex
	var seen []string
	consumer := Consumer{Name: "outage-test", Handler: events.Func(func(_ context.Context, batch []meta.Event) error {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range batch {
			seen = append(seen, e.Type+" "+e.Repository+":"+e.Tag)
		}
		return nil
	})}
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	cfg.Auth.AdminPassword = "admin-password"
	srv, err := New(t.Context(), cfg, WithStore(store), WithStorage(memory.New()), WithConsumers(consumer))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(ctx) }()
	ts := httptest.NewServer(srv.Handler())
	defer func() {
		ts.Close()
		cancel()
		_ = srv.Close()
		<-ran
	}()
	host := strings.TrimPrefix(ts.URL, "http://")
	admin := "admin:admin-password"

	// Before the outage: an image, its manifest, an upload session and a
	// bearer token for the repository and the catalog.
	ref, _ := name.ParseReference(host+"/library/app:v1", name.Insecure)
	img, _ := random.Image(256, 1)
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "admin", Password: "admin-password"})); err != nil {
		t.Fatal(err)
	}
	manifest, _ := img.RawManifest()
	mediaType, _ := img.MediaType()
	layers, _ := img.Layers()
	layerDigest, _ := layers[0].Digest()
	tokenPath := "/service/token?service=berth-registry&scope=" + url.QueryEscape("repository:library/app:pull,push") +
		"&scope=" + url.QueryEscape("registry:catalog:*")
	got := outageProbe{method: "GET", path: tokenPath, header: []string{"basic", admin}}.do(t, ts.URL)
	var tok struct {
		Token string `json:"token"`
	}
	if got.status != http.StatusOK || json.Unmarshal([]byte(got.body), &tok) != nil || tok.Token == "" {
		t.Fatalf("token before the outage: %d %s", got.status, got.body)
	}
	bearer := []string{"Authorization", "Bearer " + tok.Token}
	got = outageProbe{method: "POST", path: "/v2/library/app/blobs/uploads/", header: bearer}.do(t, ts.URL)
	if got.status != http.StatusAccepted {
		t.Fatalf("upload POST before the outage: %d %s", got.status, got.body)
	}
	session := got.header.Get("Location")
	blob := "bytes pushed across an outage"
	blobDigest := digest.FromString(blob)

	probes := []outageProbe{
		{name: "manifest GET (bearer)", method: "GET", path: "/v2/library/app/manifests/v1", header: bearer, after: 200, v2: true},
		{name: "manifest HEAD (bearer)", method: "HEAD", path: "/v2/library/app/manifests/v1", header: bearer, after: 200, v2: true},
		{name: "blob GET (bearer)", method: "GET", path: "/v2/library/app/blobs/" + layerDigest.String(), header: bearer, after: 200, v2: true},
		{name: "manifest GET (basic)", method: "GET", path: "/v2/library/app/manifests/v1", header: []string{"basic", admin}, after: 200, v2: true},
		{name: "manifest GET (anonymous, public project)", method: "GET", path: "/v2/library/app/manifests/v1", after: 200, v2: true},
		{name: "tag list", method: "GET", path: "/v2/library/app/tags/list", header: bearer, after: 200, v2: true},
		{name: "catalog", method: "GET", path: "/v2/_catalog", header: bearer, after: 200, v2: true},
		{name: "catalog (basic)", method: "GET", path: "/v2/_catalog", header: []string{"basic", admin}, after: 200, v2: true},
		{name: "upload POST", method: "POST", path: "/v2/library/app/blobs/uploads/", header: bearer, after: 202, v2: true},
		{name: "upload PATCH", method: "PATCH", path: session, body: blob,
			header: append([]string{"Content-Type", "application/octet-stream", "Content-Range", "0-" + strconv.Itoa(len(blob)-1)}, bearer...), after: 202, v2: true},
		{name: "upload PUT", method: "PUT", path: session + sep(session) + "digest=" + blobDigest.String(), header: bearer, after: 201, v2: true},
		{name: "manifest PUT", method: "PUT", path: "/v2/library/app/manifests/v2", body: string(manifest),
			header: append([]string{"Content-Type", string(mediaType)}, bearer...), after: 201, v2: true},
		{name: "token (basic)", method: "GET", path: tokenPath, header: []string{"basic", admin}, after: 200},
		{name: "token (password grant)", method: "POST", path: "/service/token",
			body:   "grant_type=password&service=berth-registry&username=admin&password=admin-password&scope=" + url.QueryEscape("repository:library/app:pull"),
			header: []string{"Content-Type", "application/x-www-form-urlencoded"}, after: 200},
		{name: "token (anonymous)", method: "GET", path: "/service/token?service=berth-registry&scope=" + url.QueryEscape("repository:library/app:pull"), after: 200},
		{name: "admin API (basic)", method: "GET", path: "/api/v2.0/projects", header: []string{"basic", admin}, after: 200},
		{name: "admin API (anonymous)", method: "GET", path: "/api/v2.0/projects/library", after: 200},
		{name: "browser login", method: "POST", path: "/c/login", body: "principal=admin&password=admin-password",
			header: []string{"Content-Type", "application/x-www-form-urlencoded"}, after: 200},
	}

	store.SetDown(true)
	for _, p := range probes {
		got := p.do(t, ts.URL)
		if got.status != http.StatusServiceUnavailable || got.header.Get("Retry-After") == "" {
			t.Errorf("%s while the store is down: %d (Retry-After %q) %s, want 503 with a Retry-After", p.name, got.status, got.header.Get("Retry-After"), got.body)
			continue
		}
		if p.method == "HEAD" {
			continue
		}
		want := "SERVICE_UNAVAILABLE"
		if p.v2 || strings.HasPrefix(p.path, "/service/token") {
			want = "UNAVAILABLE"
		}
		if code := errorCode(got.body); code != want || !strings.Contains(got.body, "metadata store") {
			t.Errorf("%s while the store is down: body %s, want code %s naming the metadata store", p.name, got.body, want)
		}
	}
	if got := (outageProbe{method: "GET", path: "/healthz"}).do(t, ts.URL); got.status != http.StatusOK {
		t.Errorf("/healthz while the store is down: %d %s, want 200 (liveness reaches no backend)", got.status, got.body)
	}
	var ready probeAnswer
	eventually.True(t, "/readyz to report the store down", func() bool {
		ready = outageProbe{method: "GET", path: "/readyz"}.do(t, ts.URL)
		return ready.status == http.StatusServiceUnavailable
	})
	if ready.header.Get("Retry-After") == "" || !strings.Contains(ready.body, "metadata store") || strings.Contains(ready.body, "storage") {
		t.Errorf("/readyz while the store is down: Retry-After %q, body %q: want a Retry-After and the metadata store named, alone",
			ready.header.Get("Retry-After"), ready.body)
	}
	select {
	case err := <-ran:
		t.Fatalf("Run returned during the outage: %v", err)
	default:
	}

	store.SetDown(false)
	for _, p := range probes {
		if got := p.do(t, ts.URL); got.status != p.after {
			t.Errorf("%s once the store is back: %d %s, want %d", p.name, got.status, got.body, p.after)
		}
	}
	eventually.True(t, "/readyz to report ready again", func() bool {
		ready = outageProbe{method: "GET", path: "/readyz"}.do(t, ts.URL)
		return ready.status == http.StatusOK
	})
	if ready.body != "ok\n" {
		t.Errorf("/readyz once the store is back: body %q", ready.body)
	}
	eventually.True(t, "the consumer to see the push made after the outage", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(seen, "PUSH_ARTIFACT library/app:v2")
	})
	select {
	case err := <-ran:
		t.Fatalf("Run returned: %v", err)
	default:
	}
	t.Logf("transactions refused while the store was down: %d", store.Refused())
}

// sep is what joins a query parameter to u.
func sep(u string) string {
	if strings.Contains(u, "?") {
		return "&"
	}
	return "?"
}

// TestOIDCCallbackDuringOutage: a person coming back from the provider
// while the metadata store cannot be reached gets 503 with a Retry-After
// at the callback, not a 500 nor a 401; once the store is back, signing
// in works without a restart.
func TestOIDCCallbackDuringOutage(t *testing.T) {
	berth := httptest.NewUnstartedServer(nil)
	base := "http://" + berth.Listener.Addr().String()
	idp := oidctest.Start(t, "berth", "berth-client-secret", []string{base + "/c/oidc/callback"},
		oidctest.User{ID: "sub-bob", Username: "bob", Password: "bob-at-idp", Email: "bob@example.org", Name: "Bob"})
	store := faultmeta.Wrap(testbolt.Open(t))
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	cfg.Auth.AdminPassword = "admin-password"
	cfg.Auth.OIDC = OIDCConfig{Issuer: idp.URL, ClientID: "berth", ClientSecret: "berth-client-secret",
		RedirectURL: base + "/c/oidc/callback"}
	srv, err := New(t.Context(), cfg, WithStore(store), WithStorage(memory.New()))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	berth.Config.Handler = srv.Handler()
	berth.Start()
	defer berth.Close()

	// The browser stops short of the callback, which runs while the
	// store is down.
	bob := browser(t)
	bob.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if req.URL.Path == "/c/oidc/callback" {
			return http.ErrUseLastResponse
		}
		return nil
	}
	res, err := idp.SignIn(bob, base+"/c/oidc/login?redirect_url=/api/v2.0/users/current", "bob", "bob-at-idp")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	callback := res.Header.Get("Location")
	if !strings.HasPrefix(callback, base+"/c/oidc/callback?") {
		t.Fatalf("sign-in stopped at %d, Location %q: want the callback", res.StatusCode, callback)
	}
	store.SetDown(true)
	res, err = bob.Get(callback)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" || errorCode(string(body)) != "SERVICE_UNAVAILABLE" {
		t.Errorf("callback while the store is down: %d (Retry-After %q) %s, want 503 SERVICE_UNAVAILABLE with a Retry-After",
			res.StatusCode, res.Header.Get("Retry-After"), body)
	}

	store.SetDown(false)
	bob = browser(t)
	res, err = idp.SignIn(bob, base+"/c/oidc/login?redirect_url=/api/v2.0/users/current", "bob", "bob-at-idp")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `"username":"bob"`) {
		t.Errorf("sign-in once the store is back: %d at %s: %s", res.StatusCode, res.Request.URL, body)
	}
}
