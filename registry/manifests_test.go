package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/registry/internal/spec"
	"github.com/opencontainers/go-digest"
)

func TestManifestPushPullByTagAndDigest(t *testing.T) {
	e := newEnv(t)
	m, d := e.pushImage("lib/app", "v1")
	for _, ref := range []string{"v1", d.String()} {
		r := e.do("GET", "/v2/lib/app/manifests/"+ref, nil).expect(t, http.StatusOK, "")
		if !bytes.Equal(r.body, m) {
			t.Fatalf("%s: body differs", ref)
		}
		if r.Header.Get("Content-Type") != spec.MediaTypeOCIManifest || r.Header.Get("Docker-Content-Digest") != d.String() {
			t.Fatalf("%s: headers %v", ref, r.Header)
		}
		h := e.do("HEAD", "/v2/lib/app/manifests/"+ref, nil).expect(t, http.StatusOK, "")
		if h.Header.Get("Content-Length") != fmt.Sprint(len(m)) || h.Header.Get("Docker-Content-Digest") != d.String() {
			t.Fatalf("%s: HEAD headers %v", ref, h.Header)
		}
	}
	// Wrong digest in the URL.
	e.do("PUT", "/v2/lib/app/manifests/"+digest.FromString("x").String(), m, "Content-Type", spec.MediaTypeOCIManifest).
		expect(t, http.StatusBadRequest, registry.CodeDigestInvalid)
}

func TestManifestWithoutMediaTypeFieldAsHelmPushes(t *testing.T) {
	e := newEnv(t)
	cfg := e.pushBlob("charts/demo", []byte(`{"name":"demo","version":"0.1.0"}`))
	layer := e.pushBlob("charts/demo", randomBytes(t, 300))
	m := imageManifest(t, "", desc{MediaType: "application/vnd.cncf.helm.config.v1+json", Digest: cfg, Size: 33},
		[]desc{{MediaType: "application/vnd.cncf.helm.chart.content.v1.tar+gzip", Digest: layer, Size: 300}}, nil, "")
	d := digest.FromBytes(m)
	// helm pushes by digest first, then tags.
	e.do("PUT", "/v2/charts/demo/manifests/"+d.String(), m, "Content-Type", spec.MediaTypeOCIManifest).expect(t, http.StatusCreated, "")
	e.do("PUT", "/v2/charts/demo/manifests/0.1.0", m, "Content-Type", spec.MediaTypeOCIManifest).expect(t, http.StatusCreated, "")
	r := e.do("GET", "/v2/charts/demo/manifests/0.1.0", nil).expect(t, http.StatusOK, "")
	if r.Header.Get("Content-Type") != spec.MediaTypeOCIManifest || !bytes.Equal(r.body, m) {
		t.Fatalf("Content-Type %q, body equal %v", r.Header.Get("Content-Type"), bytes.Equal(r.body, m))
	}
	if tags := e.tags("charts/demo", ""); len(tags) != 1 || tags[0] != "0.1.0" {
		t.Fatalf("tags %v", tags)
	}
}

func TestDockerManifestListAndIndex(t *testing.T) {
	e := newEnv(t)
	_, d1 := e.pushImage("multi", "amd64")
	_, d2 := e.pushImage("multi", "arm64")
	for _, mt := range []string{spec.MediaTypeOCIIndex, spec.MediaTypeDockerManifestList} {
		idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": mt, "manifests": []desc{
			{MediaType: spec.MediaTypeOCIManifest, Digest: d1, Size: 1},
			{MediaType: spec.MediaTypeOCIManifest, Digest: d2, Size: 1},
		}})
		e.do("PUT", "/v2/multi/manifests/list", idx, "Content-Type", mt).expect(t, http.StatusCreated, "")
		r := e.do("GET", "/v2/multi/manifests/list", nil).expect(t, http.StatusOK, "")
		if r.Header.Get("Content-Type") != mt || !bytes.Equal(r.body, idx) {
			t.Fatalf("%s: got %q", mt, r.Header.Get("Content-Type"))
		}
	}
	// An index naming a manifest the repository does not have is refused.
	idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": spec.MediaTypeOCIIndex, "manifests": []desc{
		{MediaType: spec.MediaTypeOCIManifest, Digest: digest.FromString("missing"), Size: 1},
	}})
	e.do("PUT", "/v2/multi/manifests/bad", idx, "Content-Type", spec.MediaTypeOCIIndex).expect(t, http.StatusBadRequest, registry.CodeManifestBlobUnknown)
}

func TestSparseManifestsOnlyWhenConfigured(t *testing.T) {
	for _, sparse := range []bool{false, true} {
		e := newEnv(t, registry.WithSparseManifests(sparse))
		m := imageManifest(t, spec.MediaTypeOCIManifest, desc{MediaType: "application/vnd.oci.image.config.v1+json", Digest: digest.FromString("c"), Size: 1}, nil, nil, "")
		want := http.StatusBadRequest
		if sparse {
			want = http.StatusCreated
		}
		e.do("PUT", "/v2/sp/manifests/t", m, "Content-Type", spec.MediaTypeOCIManifest).expect(t, want, "")
	}
}

func TestManifestInvalidInputs(t *testing.T) {
	e := newEnv(t, registry.WithMaxManifestSize(1024))
	cases := map[string]struct {
		body, ct string
		status   int
		code     registry.ErrorCode
	}{
		"not json":        {"{", spec.MediaTypeOCIManifest, 400, registry.CodeManifestInvalid},
		"schema 1":        {`{"schemaVersion":1,"fsLayers":[]}`, "application/vnd.docker.distribution.manifest.v1+json", 400, registry.CodeManifestInvalid},
		"no schema":       {`{"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{}}`, "", 400, registry.CodeManifestInvalid},
		"bad digest":      {`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"digest":"x","size":1}}`, "", 400, registry.CodeManifestInvalid},
		"type mismatch":   {`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`, spec.MediaTypeOCIManifest, 400, registry.CodeManifestInvalid},
		"unknown type":    {`{"schemaVersion":2,"mediaType":"text/plain"}`, "", 400, registry.CodeManifestInvalid},
		"too large":       {`{"schemaVersion":2,"x":"` + strings.Repeat("a", 2000) + `"}`, spec.MediaTypeOCIManifest, 413, registry.CodeSizeInvalid},
		"negative size":   {`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"` + digest.FromString("a").String() + `","size":-1}]}`, "", 400, registry.CodeManifestInvalid},
		"index w/ layers": {`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","layers":[]}`, "", 400, registry.CodeManifestInvalid},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			e.do("PUT", "/v2/bad/manifests/t", []byte(c.body), "Content-Type", c.ct).expect(t, c.status, c.code)
		})
	}
	e.do("PUT", "/v2/bad/manifests/bad%24tag", []byte("{}")).expect(t, http.StatusBadRequest, registry.CodeManifestInvalid)
}

func TestTagParamsAndDeletes(t *testing.T) {
	e := newEnv(t)
	m, d := e.pushImage("tp", "orig")
	r := e.do("PUT", "/v2/tp/manifests/"+d.String()+"?tag=a&tag=b", m, "Content-Type", spec.MediaTypeOCIManifest).expect(t, http.StatusCreated, "")
	if got := r.Header.Values("OCI-Tag"); strings.Join(got, ",") != "a,b" {
		t.Fatalf("OCI-Tag %v", got)
	}
	tl := e.tags("tp", "")
	if strings.Join(tl, ",") != "a,b,orig" {
		t.Fatalf("tags %v", tl)
	}
	e.do("DELETE", "/v2/tp/manifests/a", nil).expect(t, http.StatusAccepted, "")
	e.do("GET", "/v2/tp/manifests/a", nil).expect(t, http.StatusNotFound, registry.CodeManifestUnknown)
	e.do("GET", "/v2/tp/manifests/b", nil).expect(t, http.StatusOK, "")
	e.do("DELETE", "/v2/tp/manifests/"+d.String(), nil).expect(t, http.StatusAccepted, "")
	e.do("GET", "/v2/tp/manifests/b", nil).expect(t, http.StatusNotFound, registry.CodeManifestUnknown)
	e.do("GET", "/v2/tp/manifests/"+d.String(), nil).expect(t, http.StatusNotFound, registry.CodeManifestUnknown)
	if tl := e.tags("tp", ""); len(tl) != 0 {
		t.Fatalf("tags after delete %v", tl)
	}
	e.do("DELETE", "/v2/tp/manifests/"+d.String(), nil).expect(t, http.StatusNotFound, registry.CodeManifestUnknown)
}

func (e *env) tags(repo, query string) []string {
	e.t.Helper()
	r := e.do("GET", "/v2/"+repo+"/tags/list"+query, nil).expect(e.t, http.StatusOK, "")
	var tl struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(r.body, &tl); err != nil || tl.Name != repo || tl.Tags == nil {
		e.t.Fatalf("tags list %s: %v %s", repo, err, r.body)
	}
	return tl.Tags
}

func TestTagAndCatalogPaging(t *testing.T) {
	e := newEnv(t)
	m, _ := e.pushImage("page", "t00")
	for i := 1; i < 25; i++ {
		e.do("PUT", fmt.Sprintf("/v2/page/manifests/t%02d", i), m, "Content-Type", spec.MediaTypeOCIManifest).expect(t, http.StatusCreated, "")
	}
	var all []string
	next := "/v2/page/tags/list?n=10"
	for next != "" {
		r := e.do("GET", next, nil).expect(t, http.StatusOK, "")
		var tl struct{ Tags []string }
		_ = json.Unmarshal(r.body, &tl)
		all = append(all, tl.Tags...)
		next = ""
		if l := r.Header.Get("Link"); l != "" {
			next = l[1:strings.Index(l, ">")]
		}
	}
	if len(all) != 25 || all[0] != "t00" || all[24] != "t24" {
		t.Fatalf("paged tags %v", all)
	}
	if got := e.tags("page", "?n=0"); len(got) != 0 {
		t.Fatalf("n=0 gave %v", got)
	}
	if got := e.tags("page", "?last=t22"); strings.Join(got, ",") != "t23,t24" {
		t.Fatalf("last=t22 gave %v", got)
	}
	for _, repo := range []string{"c/x", "c/y", "c/z"} {
		e.pushBlob(repo, []byte("b"))
	}
	r := e.do("GET", "/v2/_catalog?n=2", nil).expect(t, http.StatusOK, "")
	var cat struct{ Repositories []string }
	_ = json.Unmarshal(r.body, &cat)
	if strings.Join(cat.Repositories, ",") != "c/x,c/y" || !strings.Contains(r.Header.Get("Link"), "last=c%2Fy") {
		t.Fatalf("catalog page %v link %q", cat.Repositories, r.Header.Get("Link"))
	}
}

func TestReferrers(t *testing.T) {
	e := newEnv(t)
	subj, sd := e.pushImage("ref", "v1")
	cfg := e.pushBlob("ref", []byte("{}"))
	var want []digest.Digest
	for i, at := range []string{"application/vnd.example.sbom", "application/vnd.example.sig", ""} {
		layer := e.pushBlob("ref", randomBytes(t, 10+i))
		cfgType := "application/vnd.oci.empty.v1+json"
		if at == "" {
			cfgType = "application/vnd.example.config"
		}
		m := imageManifest(t, spec.MediaTypeOCIManifest, desc{MediaType: cfgType, Digest: cfg, Size: 2},
			[]desc{{MediaType: "application/octet-stream", Digest: layer, Size: int64(10 + i)}},
			&desc{MediaType: spec.MediaTypeOCIManifest, Digest: sd, Size: int64(len(subj))}, at)
		d := digest.FromBytes(m)
		r := e.do("PUT", "/v2/ref/manifests/"+d.String(), m, "Content-Type", spec.MediaTypeOCIManifest).expect(t, http.StatusCreated, "")
		if r.Header.Get("OCI-Subject") != sd.String() {
			t.Fatalf("OCI-Subject %q", r.Header.Get("OCI-Subject"))
		}
		want = append(want, d)
	}
	type index struct {
		MediaType string `json:"mediaType"`
		Manifests []desc `json:"manifests"`
	}
	get := func(q string) (index, *http.Response) {
		r := e.do("GET", "/v2/ref/referrers/"+sd.String()+q, nil).expect(t, http.StatusOK, "")
		if r.Header.Get("Content-Type") != spec.MediaTypeOCIIndex {
			t.Fatalf("Content-Type %q", r.Header.Get("Content-Type"))
		}
		var idx index
		if err := json.Unmarshal(r.body, &idx); err != nil {
			t.Fatal(err)
		}
		return idx, r.Response
	}
	idx, _ := get("")
	if len(idx.Manifests) != 3 {
		t.Fatalf("referrers %+v", idx)
	}
	types := map[string]bool{}
	for _, m := range idx.Manifests {
		types[m.ArtifactType] = true
	}
	if !types["application/vnd.example.sbom"] || !types["application/vnd.example.config"] {
		t.Fatalf("artifact types %v (config media type must be the fallback)", types)
	}
	idx, r := get("?artifactType=application/vnd.example.sig")
	if len(idx.Manifests) != 1 || idx.Manifests[0].ArtifactType != "application/vnd.example.sig" || r.Header.Get("OCI-Filters-Applied") != "artifactType" {
		t.Fatalf("filtered referrers %+v %q", idx, r.Header.Get("OCI-Filters-Applied"))
	}
	// Unknown subject or repository: an empty index, not 404.
	r2 := e.do("GET", "/v2/nobody/referrers/"+digest.FromString("q").String(), nil).expect(t, http.StatusOK, "")
	if !strings.Contains(string(r2.body), `"manifests":[]`) {
		t.Fatalf("empty referrers body %s", r2.body)
	}
	// A deleted referrer disappears.
	e.do("DELETE", "/v2/ref/manifests/"+want[0].String(), nil).expect(t, http.StatusAccepted, "")
	if idx, _ := get(""); len(idx.Manifests) != 2 {
		t.Fatalf("after delete %+v", idx)
	}
}

func TestHooksCanRefuse(t *testing.T) {
	var pushed []registry.Event
	e := newEnv(t, registry.WithHooks(registry.Hooks{
		BeforePush: func(_ context.Context, ev *registry.Event) error {
			if ev.Action == registry.ActionPushManifest && ev.Tags != nil && ev.Tags[0] == "forbidden" {
				return errors.New("tag is immutable")
			}
			return nil
		},
		BeforePull: func(_ context.Context, ev *registry.Event) error {
			if ev.Repository == "secret" {
				return &registry.Error{Status: http.StatusUnauthorized, Code: registry.CodeUnauthorized, Message: "log in",
					Header: http.Header{"Www-Authenticate": {`Basic realm="x"`}}}
			}
			return nil
		},
		AfterPush: func(_ context.Context, ev *registry.Event) {
			if ev.Action == registry.ActionPushManifest {
				pushed = append(pushed, *ev)
			}
		},
	}))
	m, _ := e.pushImage("h", "ok")
	e.do("PUT", "/v2/h/manifests/forbidden", m, "Content-Type", spec.MediaTypeOCIManifest).expect(t, http.StatusForbidden, registry.CodeDenied)
	e.do("GET", "/v2/h/manifests/forbidden", nil).expect(t, http.StatusNotFound, "")
	d := e.pushBlob("secret", []byte("s"))
	r := e.do("GET", "/v2/secret/blobs/"+d.String(), nil).expect(t, http.StatusUnauthorized, registry.CodeUnauthorized)
	if r.Header.Get("WWW-Authenticate") == "" {
		t.Fatal("hook header not passed through")
	}
	if len(pushed) != 1 || pushed[0].Tags[0] != "ok" || pushed[0].Manifest == nil {
		t.Fatalf("AfterPush saw %+v", pushed)
	}
}
