package objectstoretest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthreg/berth/internal/s3proxy"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/storage"
	"github.com/berthreg/berth/storage/objectstore"
)

// proxy starts a counting proxy in front of the server, or skips the test
// when the suite was given no endpoint.
func (h *harness) proxy(t *testing.T) *s3proxy.Proxy {
	t.Helper()
	if h.endpoint == "" {
		t.Skip("no server endpoint to put a proxy in front of")
	}
	p, err := s3proxy.Start(h.endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// serve runs a registry on d and a fresh bbolt store (or store, if given).
func serve(t *testing.T, d *objectstore.Driver, store *bolt.Store) *httptest.Server {
	t.Helper()
	if store == nil {
		store = openStore(t)
	}
	h, err := registry.New(d, store)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func openStore(t *testing.T) *bolt.Store {
	t.Helper()
	store, err := bolt.Open(filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
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

// testRegistrySessions pushes one blob in chunks of mixed sizes through two
// registry instances that share the bucket and the metadata store,
// alternating between them chunk by chunk, and counts the traffic behind a
// proxy: every byte is uploaded exactly once, none is read back, and the
// blob reaches its content address by one server-side copy.
func testRegistrySessions(t *testing.T, h *harness) {
	proxy := h.proxy(t)
	d := h.driver(t, Setup{Endpoint: proxy.URL})
	other := h.driver(t, Setup{Endpoint: proxy.URL, Root: d.Root()})
	store := openStore(t)
	servers := []*httptest.Server{serve(t, d, store), serve(t, other, store)}

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
	if got, want := resp.Header.Get("OCI-Chunk-Min-Length"), strconv.FormatInt(d.SessionChunkSize(), 10); got != want {
		t.Errorf("OCI-Chunk-Min-Length = %q, want the part minimum %s", got, want)
	}
	loc := resp.Header.Get("Location")
	proxy.Reset()
	off := 0
	for i, n := range chunks {
		resp, body := do(t, http.MethodPatch, servers[i%2].URL+loc, map[string]string{
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
	t.Logf("traffic for a %d-byte blob in %d chunks: %+v", total, len(chunks), c)
	if uploaded != int64(total) {
		t.Errorf("uploaded %d bytes for a %d-byte blob; every byte must be sent exactly once", uploaded, total)
	}
	if got := c[s3proxy.OpGetObject].Received; got != 0 {
		t.Errorf("read %d bytes back from the bucket during the push", got)
	}
	if n := c[s3proxy.OpUploadPartCopy].Requests; n != 0 {
		t.Errorf("%d part copies: chunks re-copied data already stored", n)
	}
	if n := c[s3proxy.OpCopyObject].Requests; n != 1 {
		t.Errorf("%d object copies, want the one server-side move to the content address", n)
	}
	for i, srv := range servers {
		resp, got := do(t, http.MethodGet, srv.URL+"/v2/sess/blobs/"+dgst, nil, nil)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(got, blob) {
			t.Fatalf("GET blob from instance %d: %s, %d bytes (want %d matching)", i, resp.Status, len(got), total)
		}
	}

	// The same blob again, into another repository: it is already stored,
	// so the session (a multipart upload by now) is dropped, not moved;
	// the tracker fails the test if its multipart upload stays open.
	resp, _ = do(t, http.MethodPost, servers[1].URL+"/v2/again/blobs/uploads/", nil, nil)
	loc = resp.Header.Get("Location")
	resp, body = do(t, http.MethodPatch, servers[1].URL+loc, map[string]string{
		"Content-Type": "application/octet-stream", "Content-Range": fmt.Sprintf("0-%d", total-1),
	}, blob)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("PATCH of the whole blob: %s %s", resp.Status, body)
	}
	resp, body = do(t, http.MethodPut, servers[0].URL+resp.Header.Get("Location")+"?digest="+dgst, nil, nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT of a blob already stored: %s %s", resp.Status, body)
	}
	if left, err := d.List(t.Context(), "uploads", "", 0); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("upload sessions left in storage: %q, %v", left, err)
	}
}

// testTransientErrors answers every third new request with a transient
// error (503 SlowDown, 500, 429, 502, rotating) and lets its retry through,
// and checks that driver operations, multipart uploads and upload sessions
// included, still succeed with the right content.
func testTransientErrors(t *testing.T, h *harness) {
	proxy := h.proxy(t)
	d := h.driver(t, Setup{Endpoint: proxy.URL})
	faults := []s3proxy.Fault{
		{Status: http.StatusServiceUnavailable, Code: "SlowDown"},
		{Status: http.StatusInternalServerError, Code: "InternalError"},
		{Status: http.StatusTooManyRequests, Code: "TooManyRequests"},
		{Status: http.StatusBadGateway, Code: "BadGateway"},
	}
	var mu sync.Mutex
	seen := map[string]bool{} // requests by method and URL: a repeat is a retry
	count, injected := 0, map[int]int{}
	proxy.SetFault(func(op string, r *http.Request) *s3proxy.Fault {
		mu.Lock()
		defer mu.Unlock()
		key := r.Method + " " + r.URL.String()
		if seen[key] {
			return nil
		}
		seen[key] = true
		if count++; count%3 != 0 {
			return nil
		}
		f := faults[(count/3)%len(faults)]
		injected[f.Status]++
		return &f
	})
	start := time.Now()
	ctx := t.Context()

	small, large := pattern(7, 1000), pattern(8, 20<<20+11)
	putObject(t, d, "r/small", 0, small)
	putObject(t, d, "r/large", 0, large) // multipart: create, parts, complete
	var state, want []byte
	for _, n := range []int{1000, 6 << 20, 2 << 20} {
		w, err := d.SessionWriter(ctx, "r/session", state)
		if err != nil {
			t.Fatal(err)
		}
		chunk := pattern(byte(n), n)
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
		if state, err = w.Save(ctx); err != nil {
			t.Fatalf("Save: %v", err)
		}
		want = append(want, chunk...)
	}
	if err := d.CompleteSession(ctx, "r/session", state); err != nil {
		t.Fatalf("CompleteSession: %v", err)
	}
	if err := d.Move(ctx, "r/session", "r/moved"); err != nil {
		t.Fatalf("Move: %v", err)
	}
	names, err := d.List(ctx, "r", "", 0)
	if err != nil || strings.Join(names, ",") != "r/large,r/moved,r/small" {
		t.Fatalf("List = %q, %v", names, err)
	}
	for p, data := range map[string][]byte{"r/small": small, "r/large": large, "r/moved": want} {
		if got := readObject(t, d, p); !bytes.Equal(got, data) {
			t.Fatalf("%s: %d bytes, want %d matching", p, len(got), len(data))
		}
	}
	if err := d.Delete(ctx, "r"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	proxy.SetFault(nil)

	mu.Lock()
	t.Logf("%d distinct requests, faults injected by status %v, all operations took %v",
		count, injected, time.Since(start).Round(time.Millisecond))
	for _, f := range faults {
		if injected[f.Status] == 0 {
			t.Errorf("no %d was injected; the test exercised nothing for it", f.Status)
		}
	}
	mu.Unlock()

	// A failure that outlasts the retries is storage.ErrUnavailable, and so
	// is a server that cannot be reached at all.
	proxy.SetFault(func(op string, _ *http.Request) *s3proxy.Fault {
		if op == s3proxy.OpHeadObject {
			return &faults[0]
		}
		return nil
	})
	if _, err := d.Stat(ctx, "r/small"); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Stat while every HEAD answers 503: %v, want storage.ErrUnavailable", err)
	}
	proxy.SetFault(nil)
	down := h.driver(t, Setup{Endpoint: "http://127.0.0.1:1", Root: d.Root()})
	if _, err := down.Stat(ctx, "r/small"); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Stat with nothing listening: %v, want storage.ErrUnavailable", err)
	}
}

// testRedirects pulls a blob from a registry whose driver hands out
// presigned URLs: the registry answers 307 to the bucket, and the bytes
// (whole or a range) come from the bucket, not the registry.
func testRedirects(t *testing.T, h *harness) {
	proxy := h.proxy(t)
	d := h.driver(t, Setup{Endpoint: proxy.URL, Options: func(o *objectstore.Options) { o.RedirectExpiry = 90 * time.Second }})
	if _, ok := d.Bucket().(*tracker).Bucket.(objectstore.Presigner); !ok {
		t.Skip("the bucket cannot presign")
	}
	srv := serve(t, d, nil)

	blob := pattern(9, 3<<20+17)
	dgst := fmt.Sprintf("sha256:%x", sha256.Sum256(blob))
	resp, body := do(t, http.MethodPost, srv.URL+"/v2/redir/blobs/uploads/?digest="+dgst, nil, blob)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("monolithic push: %s %s", resp.Status, body)
	}

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(srv.URL + "/v2/redir/blobs/" + dgst)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusTemporaryRedirect || !strings.HasPrefix(loc, proxy.URL+"/") {
		t.Fatalf("GET blob: %s, Location %q; want 307 to the bucket at %s", resp.Status, loc, proxy.URL)
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
