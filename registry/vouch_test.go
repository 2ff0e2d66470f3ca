package registry_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/registry"
)

// vouchedPost uploads body as blob d of repo under registry.Vouched, the
// way an in-process caller does, and returns the response's status.
func vouchedPost(t *testing.T, e *env, repo string, d digest.Digest, body interface {
	Read([]byte) (int, error)
}, size int64) int {
	t.Helper()
	req := httptest.NewRequestWithContext(registry.Vouched(t.Context()), http.MethodPost, "/v2/"+repo+"/blobs/uploads/?digest="+d.String(), body)
	req.ContentLength = size
	req.Header.Set("Content-Length", strconv.FormatInt(size, 10))
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec.Code
}

// failingBody fails every read: a vouched upload of a blob already
// stored must not read its body.
type failingBody struct{}

func (failingBody) Read([]byte) (int, error) { return 0, errors.New("the body was read") }

func TestVouchedUpload(t *testing.T) {
	e := newEnv(t, registry.WithMaxBlobSize(1<<20))
	b := randomBytes(t, 300000)
	d := digest.FromBytes(b)
	path := filepath.Join(t.TempDir(), "spooled")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	// Stored from the file as it is, and served with its digest.
	if code := vouchedPost(t, e, "cache/app", d, f, int64(len(b))); code != http.StatusCreated {
		t.Fatalf("vouched upload: %d, want 201", code)
	}
	r := e.do("GET", "/v2/cache/app/blobs/"+d.String(), nil).expect(t, http.StatusOK, "")
	if string(r.body) != string(b) {
		t.Fatal("the vouched blob reads back other bytes")
	}

	// A blob already held is linked without reading the body.
	if code := vouchedPost(t, e, "cache/other", d, failingBody{}, int64(len(b))); code != http.StatusCreated {
		t.Fatalf("vouched upload of a stored blob: %d, want 201", code)
	}
	e.do("HEAD", "/v2/cache/other/blobs/"+d.String(), nil).expect(t, http.StatusOK, "")

	// The size cap holds for vouched uploads too.
	big := randomBytes(t, 1<<20+1)
	if err := os.WriteFile(path, big, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	if code := vouchedPost(t, e, "cache/app", digest.FromBytes(big), f, int64(len(big))); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("vouched upload over the cap: %d, want 413", code)
	}

	// Over HTTP nobody vouches: other content than the digest names is
	// refused.
	other := randomBytes(t, 1000)
	e.do("POST", "/v2/cache/app/blobs/uploads/?digest="+digest.FromBytes(b[:1000]).String(), other).
		expect(t, http.StatusBadRequest, registry.CodeDigestInvalid)
}
