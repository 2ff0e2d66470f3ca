package registry_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/registry/internal/spec"
	"github.com/berthreg/berth/storage"
	"github.com/berthreg/berth/storage/memory"
	"github.com/opencontainers/go-digest"
)

// env is a registry handler on memory storage and a metadata store of the
// backend internal/teststores picks (bbolt, or PostgreSQL with
// BERTH_TEST_META=postgres), served by httptest, that tests can restart
// on the same data.
type env struct {
	t      testing.TB
	driver storage.Driver
	store  meta.Store
	srv    *httptest.Server
	h      *registry.Handler
	opts   []registry.Option
	// direct makes call serve requests with the handler in the calling
	// goroutine, without HTTP: what the benchmarks measure.
	direct bool
}

func newEnv(t *testing.T, opts ...registry.Option) *env {
	t.Helper()
	return newEnvOn(t, teststores.Open(t), opts...)
}

// newEnvOn is newEnv on the given store, closed when the test ends.
func newEnvOn(t testing.TB, store meta.Store, opts ...registry.Option) *env {
	t.Helper()
	e := &env{t: t, driver: memory.New(), store: store, opts: opts}
	e.start()
	t.Cleanup(func() {
		e.srv.Close()
		_ = e.store.Close()
	})
	return e
}

func (e *env) start() {
	e.t.Helper()
	h, err := registry.New(e.driver, e.store, e.opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	e.h, e.srv = h, httptest.NewServer(h)
}

// restart replaces the handler with a new one on the same storage and
// metadata, as a process restart would.
func (e *env) restart() {
	e.srv.Close()
	e.start()
}

type resp struct {
	*http.Response
	body []byte
}

func (e *env) do(method, path string, body []byte, hdr ...string) resp {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	u := path
	if !strings.HasPrefix(u, "http") {
		u = e.srv.URL + path
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{res, b}
}

// expect fails the test unless r has the status and (if code != "") the
// OCI error code.
func (r resp) expect(t testing.TB, status int, code registry.ErrorCode) resp {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body %s", r.Request.Method, r.Request.URL.Path, r.StatusCode, status, r.body)
	}
	if code != "" {
		var eb struct {
			Errors []struct {
				Code string `json:"code"`
			} `json:"errors"`
		}
		if err := json.Unmarshal(r.body, &eb); err != nil || len(eb.Errors) == 0 {
			t.Fatalf("%s %s: body %q is not an OCI error", r.Request.Method, r.Request.URL.Path, r.body)
		}
		if eb.Errors[0].Code != string(code) {
			t.Fatalf("%s %s: error code %s, want %s", r.Request.Method, r.Request.URL.Path, eb.Errors[0].Code, code)
		}
	}
	return r
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// pushBlob uploads b monolithically to repo and returns its digest.
func (e *env) pushBlob(repo string, b []byte) digest.Digest {
	e.t.Helper()
	d := digest.FromBytes(b)
	e.do("POST", "/v2/"+repo+"/blobs/uploads/?digest="+d.String(), b, "Content-Type", "application/octet-stream").
		expect(e.t, http.StatusCreated, "")
	return d
}

type desc struct {
	MediaType    string            `json:"mediaType"`
	Digest       digest.Digest     `json:"digest"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

// imageManifest builds an OCI image manifest JSON for config and layers.
func imageManifest(t testing.TB, mediaType string, config desc, layers []desc, subject *desc, artifactType string) []byte {
	t.Helper()
	m := map[string]any{"schemaVersion": 2, "config": config, "layers": layers}
	if mediaType != "" {
		m["mediaType"] = mediaType
	}
	if subject != nil {
		m["subject"] = subject
	}
	if artifactType != "" {
		m["artifactType"] = artifactType
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pushImage pushes a config and one layer and a manifest tagged tag; it
// returns the manifest bytes and digest.
func (e *env) pushImage(repo, tag string) ([]byte, digest.Digest) {
	e.t.Helper()
	cfg := []byte(`{"architecture":"amd64","os":"linux"}`)
	layer := randomBytes(e.t, 512)
	cd := e.pushBlob(repo, cfg)
	ld := e.pushBlob(repo, layer)
	m := imageManifest(e.t, spec.MediaTypeOCIManifest,
		desc{MediaType: "application/vnd.oci.image.config.v1+json", Digest: cd, Size: int64(len(cfg))},
		[]desc{{MediaType: "application/vnd.oci.image.layer.v1.tar", Digest: ld, Size: int64(len(layer))}}, nil, "")
	e.do("PUT", "/v2/"+repo+"/manifests/"+tag, m, "Content-Type", spec.MediaTypeOCIManifest).
		expect(e.t, http.StatusCreated, "")
	return m, digest.FromBytes(m)
}
