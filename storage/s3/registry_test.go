package s3

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/internal/s3proxy"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/storage"
	"github.com/berthreg/berth/storage/objectstore"
)

// proxied returns cfg with its endpoint behind a fresh counting proxy.
func proxied(t *testing.T, cfg Config) (Config, *s3proxy.Proxy) {
	t.Helper()
	p, err := s3proxy.Start(cfg.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	cfg.Endpoint = p.URL
	return cfg, p
}

// do sends a request and returns the response with its body read.
func do(t *testing.T, method, url string, hdr map[string]string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// TestRegistryUploadSessions pushes one blob in chunks of mixed sizes
// through two registry instances that share the bucket and the metadata
// store, alternating between them chunk by chunk, and counts the S3 traffic
// behind a proxy: every byte is uploaded exactly once, none is read back,
// and the blob reaches its content address by server-side copy.
func TestRegistryUploadSessions(t *testing.T) {
	cfg, proxy := proxied(t, testConfig(t))
	d := newTunedDriver(t, cfg, nil)
	other := d.with(t, nil) // a second instance on the same bucket and root
	store, err := bolt.Open(filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	var servers []*httptest.Server
	for _, drv := range []*objectstore.Driver{d.Driver, other} {
		h, err := registry.New(registry.WithStorage(drv), registry.WithMetadata(store))
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		servers = append(servers, srv)
	}

	chunks := []int{1, 1000, 3 << 20, 6<<20 + 5, 100 << 10, 9 << 20, 1, 2 << 20, 11<<20 + 3}
	total := 0
	for _, n := range chunks {
		total += n
	}
	blob := pattern(5, total)
	dgst := fmt.Sprintf("sha256:%x", sha256.Sum256(blob))

	resp, _ := do(t, http.MethodPost, servers[0].URL+"/v2/sess/blobs/uploads/", nil, nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST: %s", resp.Status)
	}
	if got := resp.Header.Get("OCI-Chunk-Min-Length"); got != strconv.Itoa(MinPartSize) {
		t.Errorf("OCI-Chunk-Min-Length = %q, want the S3 part minimum %d", got, MinPartSize)
	}
	loc := resp.Header.Get("Location")
	proxy.Reset()
	off := 0
	for i, n := range chunks {
		srv := servers[i%2]
		resp, body := do(t, http.MethodPatch, srv.URL+loc, map[string]string{
			"Content-Type":  "application/octet-stream",
			"Content-Range": fmt.Sprintf("%d-%d", off, off+n-1),
		}, blob[off:off+n])
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("PATCH %d (%d bytes at %d) on instance %d: %s %s", i, n, off, i%2, resp.Status, body)
		}
		off += n
		if got, want := resp.Header.Get("Range"), fmt.Sprintf("0-%d", off-1); got != want {
			t.Fatalf("PATCH %d: Range %q, want %q", i, got, want)
		}
		loc = resp.Header.Get("Location")
	}
	resp, body := do(t, http.MethodPut, servers[len(chunks)%2].URL+loc+"?digest="+dgst, nil, nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: %s %s", resp.Status, body)
	}

	c := proxy.Counts()
	uploaded := c[s3proxy.OpUploadPart].Sent + c[s3proxy.OpPutObject].Sent
	t.Logf("S3 traffic for a %d-byte blob in %d chunks: %+v", total, len(chunks), c)
	if uploaded != int64(total) {
		t.Errorf("uploaded %d bytes to S3 for a %d-byte blob; every byte must be sent exactly once", uploaded, total)
	}
	if got := c[s3proxy.OpGetObject].Received; got != 0 {
		t.Errorf("read %d bytes back from S3 during the push", got)
	}
	if c[s3proxy.OpUploadPartCopy].Requests != 0 {
		t.Errorf("%d part copies: chunks re-copied data already stored", c[s3proxy.OpUploadPartCopy].Requests)
	}
	if c[s3proxy.OpCopyObject].Requests != 1 {
		t.Errorf("%d CopyObject requests, want the one server-side move to the content address", c[s3proxy.OpCopyObject].Requests)
	}

	for i, srv := range servers {
		resp, got := do(t, http.MethodGet, srv.URL+"/v2/sess/blobs/"+dgst, nil, nil)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(got, blob) {
			t.Fatalf("GET blob from instance %d: %s, %d bytes (want %d matching)", i, resp.Status, len(got), total)
		}
	}
}

// TestRegistryRedirects pulls a blob from a registry whose S3 driver hands
// out presigned URLs: the registry answers 307 with a URL that carries the
// configured expiry, and the bytes come from the bucket, not the registry.
func TestRegistryRedirects(t *testing.T) {
	cfg, proxy := proxied(t, testConfig(t))
	cfg.RedirectExpiry = 90 * time.Second
	d := newTunedDriver(t, cfg, nil)
	store, err := bolt.Open(filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	h, err := registry.New(registry.WithStorage(d), registry.WithMetadata(store))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	blob := pattern(9, 3<<20+17)
	dgst := fmt.Sprintf("sha256:%x", sha256.Sum256(blob))
	resp, body := do(t, http.MethodPost, srv.URL+"/v2/redir/blobs/uploads/?digest="+dgst, nil, blob)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("monolithic push: %s %s", resp.Status, body)
	}

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noFollow.Get(srv.URL + "/v2/redir/blobs/" + dgst)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusTemporaryRedirect || !strings.HasPrefix(loc, proxy.URL+"/") {
		t.Fatalf("GET blob: %s, Location %q; want 307 to the bucket at %s", resp.Status, loc, proxy.URL)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Query().Get("X-Amz-Expires"); got != "90" {
		t.Errorf("presigned URL expiry X-Amz-Expires=%q, want 90", got)
	}
	if !strings.HasSuffix(u.Path, d.Key(storage.BlobPath(digest.Digest(dgst)))) {
		t.Errorf("presigned URL path %q does not name the blob's key", u.Path)
	}

	proxy.Reset()
	resp, got := do(t, http.MethodGet, srv.URL+"/v2/redir/blobs/"+dgst, nil, nil) // follows the redirect
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, blob) {
		t.Fatalf("GET blob following the redirect: %s, %d bytes", resp.Status, len(got))
	}
	if n := proxy.Counts()[s3proxy.OpGetObject].Received; n != int64(len(blob)) {
		t.Errorf("the bucket served %d bytes, want the blob's %d", n, len(blob))
	}
	resp, got = do(t, http.MethodGet, srv.URL+"/v2/redir/blobs/"+dgst, map[string]string{"Range": "bytes=10-19"}, nil)
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, blob[10:20]) {
		t.Fatalf("ranged GET through the redirect: %s, %q", resp.Status, got)
	}
	// HEAD stays with the registry.
	resp, _ = do(t, http.MethodHead, srv.URL+"/v2/redir/blobs/"+dgst, nil, nil)
	if resp.StatusCode != http.StatusOK || resp.ContentLength != int64(len(blob)) {
		t.Fatalf("HEAD blob: %s, length %d", resp.Status, resp.ContentLength)
	}
}
