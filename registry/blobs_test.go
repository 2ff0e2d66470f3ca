package registry_test

import (
	"bytes"
	"context"
	"crypto/sha512"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/registry/internal/spec"
	"github.com/opencontainers/go-digest"
)

func TestPing(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/v2/", nil).expect(t, http.StatusOK, "")
	if got := r.Header.Get("Docker-Distribution-API-Version"); got != "registry/2.0" {
		t.Fatalf("API version header %q", got)
	}
}

func TestAuthorizeHookSeesEveryAction(t *testing.T) {
	var seen []registry.Action
	e := newEnv(t, registry.WithHooks(registry.Hooks{
		Authorize: func(_ context.Context, ev *registry.Event) error {
			seen = append(seen, ev.Action)
			if ev.Request.Header.Get("Authorization") == "" {
				return &registry.Error{Status: http.StatusUnauthorized, Code: registry.CodeUnauthorized, Message: "authentication required",
					Header: http.Header{"Www-Authenticate": {`Bearer realm="https://auth.example/token",service="registry"`}}}
			}
			return nil
		},
	}))
	r := e.do("GET", "/v2/", nil).expect(t, http.StatusUnauthorized, registry.CodeUnauthorized)
	if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer ") {
		t.Fatalf("WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
	}
	e.do("GET", "/v2/", nil, "Authorization", "Bearer x").expect(t, http.StatusOK, "")
	e.do("GET", "/v2/a/tags/list", nil).expect(t, http.StatusUnauthorized, registry.CodeUnauthorized)
	e.do("POST", "/v2/a/blobs/uploads/", nil).expect(t, http.StatusUnauthorized, registry.CodeUnauthorized)
	e.do("GET", "/v2/_catalog", nil).expect(t, http.StatusUnauthorized, registry.CodeUnauthorized)
	want := []registry.Action{registry.ActionPing, registry.ActionPing, registry.ActionListTags, registry.ActionPushBlob, registry.ActionCatalog}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("Authorize saw %v, want %v", seen, want)
	}
}

func TestBlobMonolithicPushAndPull(t *testing.T) {
	e := newEnv(t)
	b := randomBytes(t, 3000)
	d := e.pushBlob("a/b", b)
	r := e.do("GET", "/v2/a/b/blobs/"+d.String(), nil).expect(t, http.StatusOK, "")
	if !bytes.Equal(r.body, b) {
		t.Fatal("pulled bytes differ")
	}
	if r.Header.Get("Docker-Content-Digest") != d.String() {
		t.Fatalf("digest header %q", r.Header.Get("Docker-Content-Digest"))
	}
	h := e.do("HEAD", "/v2/a/b/blobs/"+d.String(), nil).expect(t, http.StatusOK, "")
	if h.Header.Get("Content-Length") != "3000" {
		t.Fatalf("HEAD Content-Length %q", h.Header.Get("Content-Length"))
	}
	pr := e.do("GET", "/v2/a/b/blobs/"+d.String(), nil, "Range", "bytes=100-199").expect(t, http.StatusPartialContent, "")
	if !bytes.Equal(pr.body, b[100:200]) {
		t.Fatal("range bytes differ")
	}
	if got := pr.Header.Get("Content-Range"); got != "bytes 100-199/3000" {
		t.Fatalf("Content-Range %q", got)
	}
	e.do("GET", "/v2/a/b/blobs/"+d.String(), nil, "Range", "bytes=5000-6000").expect(t, http.StatusRequestedRangeNotSatisfiable, "")
}

func TestBlobIsolationBetweenRepositories(t *testing.T) {
	e := newEnv(t)
	d := e.pushBlob("tenant1/app", randomBytes(t, 100))
	e.do("GET", "/v2/tenant2/app/blobs/"+d.String(), nil).expect(t, http.StatusNotFound, registry.CodeBlobUnknown)
	e.do("HEAD", "/v2/tenant2/app/blobs/"+d.String(), nil).expect(t, http.StatusNotFound, "")
	// Anonymous mounts are off by default: no link, a session instead.
	e.do("POST", "/v2/tenant2/app/blobs/uploads/?mount="+d.String(), nil).expect(t, http.StatusAccepted, "")
	e.do("GET", "/v2/tenant2/app/blobs/"+d.String(), nil).expect(t, http.StatusNotFound, registry.CodeBlobUnknown)
	// A manifest in tenant2 cannot reference tenant1's blob either.
	cfg := e.pushBlob("tenant2/app", []byte("{}"))
	m := imageManifest(t, spec.MediaTypeOCIManifest, desc{MediaType: "application/vnd.oci.image.config.v1+json", Digest: cfg, Size: 2},
		[]desc{{MediaType: "application/vnd.oci.image.layer.v1.tar", Digest: d, Size: 100}}, nil, "")
	e.do("PUT", "/v2/tenant2/app/manifests/x", m, "Content-Type", spec.MediaTypeOCIManifest).
		expect(t, http.StatusBadRequest, registry.CodeManifestBlobUnknown)
}

func TestBlobMount(t *testing.T) {
	e := newEnv(t)
	d := e.pushBlob("src/repo", randomBytes(t, 100))
	r := e.do("POST", "/v2/dst/repo/blobs/uploads/?mount="+d.String()+"&from=src/repo", nil).expect(t, http.StatusCreated, "")
	if r.Header.Get("Location") != "/v2/dst/repo/blobs/"+d.String() {
		t.Fatalf("Location %q", r.Header.Get("Location"))
	}
	e.do("HEAD", "/v2/dst/repo/blobs/"+d.String(), nil).expect(t, http.StatusOK, "")
	// Mount of a blob the source does not have: falls back to an upload session.
	missing := digest.FromString("nope")
	e.do("POST", "/v2/dst/repo/blobs/uploads/?mount="+missing.String()+"&from=src/repo", nil).expect(t, http.StatusAccepted, "")
}

func TestAnonymousMountWhenEnabled(t *testing.T) {
	e := newEnv(t, registry.WithAnonymousMount(true))
	d := e.pushBlob("src/repo", randomBytes(t, 100))
	e.do("POST", "/v2/other/blobs/uploads/?mount="+d.String(), nil).expect(t, http.StatusCreated, "")
	e.do("GET", "/v2/other/blobs/"+d.String(), nil).expect(t, http.StatusOK, "")
}

func TestChunkedUpload(t *testing.T) {
	e := newEnv(t)
	b := randomBytes(t, 10000)
	d := digest.FromBytes(b)
	r := e.do("POST", "/v2/c/blobs/uploads/", nil).expect(t, http.StatusAccepted, "")
	loc := r.Header.Get("Location")
	for start := 0; start < len(b); start += 3000 {
		end := min(start+3000, len(b))
		r = e.do("PATCH", loc, b[start:end], "Content-Range", fmt.Sprintf("%d-%d", start, end-1), "Content-Type", "application/octet-stream").
			expect(t, http.StatusAccepted, "")
		if got, want := r.Header.Get("Range"), fmt.Sprintf("0-%d", end-1); got != want {
			t.Fatalf("Range %q, want %q", got, want)
		}
		loc = r.Header.Get("Location")
	}
	// A chunk at the wrong offset: 416 with the current Range and Location.
	bad := e.do("PATCH", loc, b[:10], "Content-Range", "0-9").expect(t, http.StatusRequestedRangeNotSatisfiable, "")
	if bad.Header.Get("Range") != "0-9999" || bad.Header.Get("Location") == "" {
		t.Fatalf("416 headers: Range %q Location %q", bad.Header.Get("Range"), bad.Header.Get("Location"))
	}
	st := e.do("GET", loc, nil).expect(t, http.StatusNoContent, "")
	if st.Header.Get("Range") != "0-9999" {
		t.Fatalf("status Range %q", st.Header.Get("Range"))
	}
	e.do("PUT", loc+"?digest="+d.String(), nil).expect(t, http.StatusCreated, "")
	got := e.do("GET", "/v2/c/blobs/"+d.String(), nil).expect(t, http.StatusOK, "")
	if !bytes.Equal(got.body, b) {
		t.Fatal("chunked blob differs")
	}
	// The session is gone.
	e.do("GET", loc, nil).expect(t, http.StatusNotFound, registry.CodeBlobUploadUnknown)
}

func TestStreamedUploadWithFinalChunkOnPut(t *testing.T) {
	e := newEnv(t)
	b := randomBytes(t, 5000)
	d := digest.FromBytes(b)
	loc := e.do("POST", "/v2/s/blobs/uploads/", nil).expect(t, http.StatusAccepted, "").Header.Get("Location")
	loc = e.do("PATCH", loc, b[:4000]).expect(t, http.StatusAccepted, "").Header.Get("Location")
	e.do("PUT", loc+"?digest="+d.String(), b[4000:]).expect(t, http.StatusCreated, "")
	if got := e.do("GET", "/v2/s/blobs/"+d.String(), nil).expect(t, http.StatusOK, ""); !bytes.Equal(got.body, b) {
		t.Fatal("blob differs")
	}
}

func TestUploadResumesAfterRestart(t *testing.T) {
	e := newEnv(t)
	b := randomBytes(t, 8192)
	d := digest.FromBytes(b)
	loc := e.do("POST", "/v2/r/blobs/uploads/", nil).expect(t, http.StatusAccepted, "").Header.Get("Location")
	e.do("PATCH", loc, b[:4096], "Content-Range", "0-4095").expect(t, http.StatusAccepted, "")
	e.restart()
	loc = e.srv.URL + loc
	if got := e.do("GET", loc, nil).expect(t, http.StatusNoContent, "").Header.Get("Range"); got != "0-4095" {
		t.Fatalf("Range after restart %q", got)
	}
	e.do("PATCH", loc, b[4096:], "Content-Range", "4096-8191").expect(t, http.StatusAccepted, "")
	e.do("PUT", loc+"?digest="+d.String(), nil).expect(t, http.StatusCreated, "")
	if got := e.do("GET", "/v2/r/blobs/"+d.String(), nil).expect(t, http.StatusOK, ""); !bytes.Equal(got.body, b) {
		t.Fatal("resumed blob differs")
	}
}

func TestDigestMismatchIsRejectedAndNothingVisible(t *testing.T) {
	e := newEnv(t)
	b := randomBytes(t, 100)
	wrong := digest.FromString("something else")
	e.do("POST", "/v2/d/blobs/uploads/?digest="+wrong.String(), b).expect(t, http.StatusBadRequest, registry.CodeDigestInvalid)
	e.do("HEAD", "/v2/d/blobs/"+wrong.String(), nil).expect(t, http.StatusNotFound, "")
	e.do("HEAD", "/v2/d/blobs/"+digest.FromBytes(b).String(), nil).expect(t, http.StatusNotFound, "")
	e.do("POST", "/v2/d/blobs/uploads/?digest=sha256:zz", b).expect(t, http.StatusBadRequest, registry.CodeDigestInvalid)
}

func TestSHA512Blob(t *testing.T) {
	e := newEnv(t)
	b := randomBytes(t, 2000)
	sum := sha512.Sum512(b)
	d := digest.NewDigestFromBytes(digest.SHA512, sum[:])
	e.do("POST", "/v2/x/blobs/uploads/?digest="+d.String(), b).expect(t, http.StatusCreated, "")
	loc := e.do("POST", "/v2/x/blobs/uploads/", nil).expect(t, http.StatusAccepted, "").Header.Get("Location")
	e.do("PATCH", loc, b[:1000], "Content-Range", "0-999").expect(t, http.StatusAccepted, "")
	e.do("PUT", loc+"?digest="+d.String(), b[1000:], "Content-Range", "1000-1999").expect(t, http.StatusCreated, "")
	if got := e.do("GET", "/v2/x/blobs/"+d.String(), nil).expect(t, http.StatusOK, ""); !bytes.Equal(got.body, b) {
		t.Fatal("sha512 blob differs")
	}
}

func TestCancelUpload(t *testing.T) {
	e := newEnv(t)
	loc := e.do("POST", "/v2/c/blobs/uploads/", nil).expect(t, http.StatusAccepted, "").Header.Get("Location")
	e.do("PATCH", loc, []byte("abc")).expect(t, http.StatusAccepted, "")
	e.do("DELETE", loc, nil).expect(t, http.StatusNoContent, "")
	e.do("GET", loc, nil).expect(t, http.StatusNotFound, registry.CodeBlobUploadUnknown)
	e.do("PATCH", loc, []byte("d")).expect(t, http.StatusNotFound, registry.CodeBlobUploadUnknown)
	// Another repository's name cannot reach the session, nor can a made-up id.
	loc2 := e.do("POST", "/v2/c/blobs/uploads/", nil).expect(t, http.StatusAccepted, "").Header.Get("Location")
	id := loc2[len("/v2/c/blobs/uploads/"):]
	e.do("GET", "/v2/other/blobs/uploads/"+id, nil).expect(t, http.StatusNotFound, registry.CodeBlobUploadUnknown)
	e.do("GET", "/v2/c/blobs/uploads/..%2f..%2fetc", nil).expect(t, http.StatusNotFound, "")
}

func TestDeleteBlob(t *testing.T) {
	e := newEnv(t)
	d := e.pushBlob("del", randomBytes(t, 10))
	e.do("DELETE", "/v2/del/blobs/"+d.String(), nil).expect(t, http.StatusAccepted, "")
	e.do("HEAD", "/v2/del/blobs/"+d.String(), nil).expect(t, http.StatusNotFound, "")
	e.do("DELETE", "/v2/del/blobs/"+d.String(), nil).expect(t, http.StatusNotFound, registry.CodeBlobUnknown)
	off := newEnv(t, registry.WithDeletes(false))
	d = off.pushBlob("del", randomBytes(t, 10))
	off.do("DELETE", "/v2/del/blobs/"+d.String(), nil).expect(t, http.StatusMethodNotAllowed, registry.CodeUnsupported)
}

func TestMaxBlobSize(t *testing.T) {
	e := newEnv(t, registry.WithMaxBlobSize(100))
	b := randomBytes(t, 101)
	e.do("POST", "/v2/m/blobs/uploads/?digest="+digest.FromBytes(b).String(), b).expect(t, http.StatusRequestEntityTooLarge, registry.CodeSizeInvalid)
	ok := randomBytes(t, 100)
	e.do("POST", "/v2/m/blobs/uploads/?digest="+digest.FromBytes(ok).String(), ok).expect(t, http.StatusCreated, "")
}

func TestZeroByteBlob(t *testing.T) {
	e := newEnv(t)
	d := digest.FromBytes(nil)
	loc := e.do("POST", "/v2/z/blobs/uploads/", nil).expect(t, http.StatusAccepted, "").Header.Get("Location")
	e.do("PUT", loc+"?digest="+d.String(), nil).expect(t, http.StatusCreated, "")
	r := e.do("GET", "/v2/z/blobs/"+d.String(), nil).expect(t, http.StatusOK, "")
	if len(r.body) != 0 || r.Header.Get("Content-Length") != strconv.Itoa(0) {
		t.Fatalf("zero-byte blob: %d bytes, Content-Length %q", len(r.body), r.Header.Get("Content-Length"))
	}
}

func TestBadRequestsGetSpecCodes(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		method, path string
		status       int
		code         registry.ErrorCode
	}{
		{"GET", "/v2/UPPER/tags/list", http.StatusBadRequest, registry.CodeNameInvalid},
		{"GET", "/v2/a//b/tags/list", http.StatusBadRequest, registry.CodeNameInvalid},
		{"GET", "/v2/a/blobs/notadigest", http.StatusBadRequest, registry.CodeDigestInvalid},
		{"GET", "/v2/a/blobs/md5:d41d8cd98f00b204e9800998ecf8427e", http.StatusBadRequest, registry.CodeDigestInvalid},
		{"GET", "/v2/a/manifests/bad$tag", http.StatusBadRequest, registry.CodeManifestInvalid},
		{"GET", "/v2/a/manifests/latest", http.StatusNotFound, registry.CodeManifestUnknown},
		{"GET", "/v2/a/tags/list", http.StatusNotFound, registry.CodeNameUnknown},
		{"GET", "/v2/a/tags/list?n=0", http.StatusNotFound, registry.CodeNameUnknown},
		{"GET", "/v2/a/tags/list?n=-1", http.StatusBadRequest, registry.CodePaginationNumberInvalid},
		{"POST", "/v2/a/blobs/" + digest.FromString("x").String(), http.StatusMethodNotAllowed, registry.CodeUnsupported},
		{"PUT", "/v2/a/blobs/uploads/0123456789abcdef0123456789abcdef?digest=" + digest.FromString("x").String(), http.StatusNotFound, registry.CodeBlobUploadUnknown},
		{"GET", "/v2/a/referrers/sha256:short", http.StatusBadRequest, registry.CodeDigestInvalid},
		{"GET", "/v2/nothing/here", http.StatusNotFound, ""},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			e.do(c.method, c.path, nil).expect(t, c.status, c.code)
		})
	}
	loc := e.do("POST", "/v2/a/blobs/uploads/", nil).expect(t, http.StatusAccepted, "").Header.Get("Location")
	e.do("PATCH", loc, []byte("abc"), "Content-Range", "garbage").expect(t, http.StatusBadRequest, registry.CodeBlobUploadInvalid)
	e.do("PUT", loc+"?digest=nope", nil).expect(t, http.StatusBadRequest, registry.CodeDigestInvalid)
}

// TestMountRacingCollection: garbage collection tombstones the source
// blob after the mount looked it up and before it links (the BeforePush
// hook runs between the two): the mount falls back to an upload session
// and links nothing, for mounts with and without from.
func TestMountRacingCollection(t *testing.T) {
	for _, from := range []string{"&from=src/repo", ""} {
		var store meta.Store
		hooks := registry.Hooks{BeforePush: func(ctx context.Context, ev *registry.Event) error {
			if ev.Action != registry.ActionMountBlob {
				return nil
			}
			return store.Update(ctx, func(tx meta.Tx) error { return tx.Collector().Tombstones().Tombstone(ev.Digest, time.Now()) })
		}}
		e := newEnv(t, registry.WithAnonymousMount(true), registry.WithHooks(hooks))
		store = e.store
		d := e.pushBlob("src/repo", randomBytes(t, 100))
		e.do("POST", "/v2/dst/repo/blobs/uploads/?mount="+d.String()+from, nil).expect(t, http.StatusAccepted, "")
		e.do("HEAD", "/v2/dst/repo/blobs/"+d.String(), nil).expect(t, http.StatusNotFound, "")
		if err := store.View(t.Context(), func(tx meta.Tx) error {
			if _, err := tx.Blobs().Stat(d); !errors.Is(err, meta.ErrNotFound) {
				t.Errorf("mount%q: the tombstoned blob's record is back (%v)", from, err)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
}
