package inproc_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/berthreg/berth/registry/inproc"
)

type ctxKey struct{}

func get(t *testing.T, rt http.RoundTripper, method, url string, body io.Reader, hdr ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestServesHostInProcess(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Length", "11")
		w.Header().Set("X-Seen", r.Method+" "+r.RequestURI+" "+string(body)+" "+r.RemoteAddr)
		w.Header().Set("X-Ctx", func() string { s, _ := r.Context().Value(ctxKey{}).(string); return s }())
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "hello world")
	})
	rt := inproc.New(h, inproc.WithContext(func(ctx context.Context) context.Context {
		return context.WithValue(ctx, ctxKey{}, "engine")
	}))
	resp := get(t, rt, http.MethodPut, "http://"+inproc.Host+"/v2/a/b?x=1", strings.NewReader("data"))
	if resp.StatusCode != http.StatusCreated || resp.ContentLength != 11 {
		t.Fatalf("status %d, length %d", resp.StatusCode, resp.ContentLength)
	}
	if got := resp.Header.Get("X-Seen"); got != "PUT /v2/a/b?x=1 data 127.0.0.1:0" {
		t.Errorf("handler saw %q", got)
	}
	if got := resp.Header.Get("X-Ctx"); got != "engine" {
		t.Errorf("context value %q, want engine", got)
	}
	if got := readAll(t, resp.Body); got != "hello world" {
		t.Errorf("body %q", got)
	}

	head := get(t, rt, http.MethodHead, "http://"+inproc.Host+"/", nil)
	if head.Body != http.NoBody || head.StatusCode != http.StatusCreated {
		t.Errorf("HEAD: status %d, body %v", head.StatusCode, head.Body)
	}
}

func TestHandlerWritingNothingAnswers200(t *testing.T) {
	rt := inproc.New(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	resp := get(t, rt, http.MethodGet, "http://"+inproc.Host+"/", nil)
	if resp.StatusCode != http.StatusOK || readAll(t, resp.Body) != "" {
		t.Errorf("status %d", resp.StatusCode)
	}
}

// A handler aborting its response (http.ErrAbortHandler, as net/http's
// server drops the connection) ends the body in an error, without
// bringing the process down.
func TestAbortedResponseEndsInAnError(t *testing.T) {
	rt := inproc.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		_, _ = io.WriteString(w, "half")
		panic(http.ErrAbortHandler)
	}))
	resp := get(t, rt, http.MethodGet, "http://"+inproc.Host+"/", nil)
	b, err := io.ReadAll(resp.Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) || string(b) != "half" {
		t.Errorf("read %q, %v; want half, then io.ErrUnexpectedEOF", b, err)
	}
}

func TestStreamsBeforeTheHandlerReturns(t *testing.T) {
	release := make(chan struct{})
	rt := inproc.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "first")
		w.(http.Flusher).Flush()
		<-release
		_, _ = io.WriteString(w, "second")
	}))
	resp := get(t, rt, http.MethodGet, "http://"+inproc.Host+"/", nil)
	buf := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first" {
		t.Fatalf("read %q, %v", buf, err)
	}
	close(release)
	if got := readAll(t, resp.Body); got != "second" {
		t.Errorf("rest %q", got)
	}
}

func TestCanceledBeforeHeaders(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	rt := inproc.New(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-block }))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+inproc.Host+"/", nil)
	if _, err := rt.RoundTrip(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want deadline exceeded", err)
	}
}

func TestOtherHostsGoOverTheNetwork(t *testing.T) {
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "remote "+r.Header.Get("Range")+" "+r.Header.Get("Authorization"))
	}))
	defer remote.Close()
	local := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, remote.URL+"/object", http.StatusTemporaryRedirect)
		case "/here":
			http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
		default:
			_, _ = io.WriteString(w, "local")
		}
	})
	rt := inproc.New(local)

	if got := readAll(t, get(t, rt, http.MethodGet, remote.URL+"/x", nil).Body); got != "remote  " {
		t.Errorf("other host: %q", got)
	}
	// A redirect of a read to another host is followed, with the Range
	// but without the credentials.
	resp := get(t, rt, http.MethodGet, "http://"+inproc.Host+"/away", nil, "Range", "bytes=0-1", "Authorization", "Bearer secret")
	if got := readAll(t, resp.Body); resp.StatusCode != http.StatusOK || got != "remote bytes=0-1 " {
		t.Errorf("redirect: status %d, body %q", resp.StatusCode, got)
	}
	// A redirect within the registry is the caller's to follow.
	if resp := get(t, rt, http.MethodGet, "http://"+inproc.Host+"/here", nil); resp.StatusCode != http.StatusTemporaryRedirect {
		t.Errorf("local redirect: status %d", resp.StatusCode)
	}
	// So is a redirect of a write.
	if resp := get(t, rt, http.MethodPut, "http://"+inproc.Host+"/away", strings.NewReader("x")); resp.StatusCode != http.StatusTemporaryRedirect {
		t.Errorf("redirected write: status %d", resp.StatusCode)
	}
}
