package httplimit_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/registry/httplimit"
)

// readAll is a handler that reads the body and reports what it read and
// how the read ended.
func readAll(got chan<- error, n *atomic.Int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := io.Copy(io.Discard, r.Body)
		n.Add(c)
		got <- err
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}
}

// TestIdleBodyIsCut: a body that stops sending for longer than the idle
// timeout fails the handler's read with a deadline error, and the server
// closes the connection.
func TestIdleBodyIsCut(t *testing.T) {
	// A body far larger than what the server would discard after the
	// handler, and a small one it would try to read to its end.
	for _, length := range []int{1000000, 100} {
		t.Run(fmt.Sprint(length), func(t *testing.T) { testIdleBodyIsCut(t, length) })
	}
}

func testIdleBodyIsCut(t *testing.T, length int) {
	got := make(chan error, 1)
	var n atomic.Int64
	srv := httptest.NewServer(httplimit.IdleBodies(readAll(got, &n), 200*time.Millisecond))
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PATCH /v2/p/r/blobs/uploads/x HTTP/1.1\r\nHost: r\r\nContent-Length: %d\r\n\r\n%s", length, strings.Repeat("x", 10))
	// The client stalls. The handler's read must end with a deadline.
	select {
	case err := <-got:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("the stalled body's read ended with %v, want a deadline", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a body stalled for 20s (idle timeout 200ms) was still being read")
	}
	// And the connection is closed: reading it reaches EOF (a response
	// first, perhaps), not the test's own deadline.
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	if b, err := io.ReadAll(conn); err != nil {
		t.Fatalf("the connection of a stalled body stayed open: %v (read %q)", err, b)
	}
}

// TestTricklingBodySucceeds: a body that keeps sending a chunk every
// fraction of the idle timeout is read to its end, though the whole takes
// several idle timeouts; then the deadline is lifted, so a handler that
// works on past the timeout keeps its request and its connection serves
// the next request.
func TestTricklingBodySucceeds(t *testing.T) {
	const idle = time.Second // a 20th of it between chunks: a stall of 0.95 s on a busy machine is needed to fail
	got := make(chan error, 2)
	var n atomic.Int64
	work := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Work") != "" {
			_, _ = io.Copy(io.Discard, r.Body)
			// Give a deadline left behind time to cancel the request.
			time.Sleep(3 * idle)
			if err := r.Context().Err(); err != nil {
				t.Errorf("after the body, the request was canceled: %v", err)
			}
			close(work)
			w.WriteHeader(http.StatusOK)
			return
		}
		readAll(got, &n)(w, r)
	})
	srv := httptest.NewServer(httplimit.IdleBodies(h, idle))
	defer srv.Close()

	const chunks = 60 // 60 × 50ms: three idle timeouts in all
	pr, pw := io.Pipe()
	go func() {
		tick := time.NewTicker(idle / 20)
		defer tick.Stop()
		for range chunks {
			<-tick.C
			if _, err := pw.Write([]byte(strings.Repeat("y", 1000))); err != nil {
				return
			}
		}
		pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPatch, srv.URL+"/upload", pr)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := <-got; err != nil || resp.StatusCode != http.StatusCreated || n.Load() != chunks*1000 {
		t.Fatalf("trickling body: %d, read %d bytes, %v", resp.StatusCode, n.Load(), err)
	}

	// One connection: a body, work past the idle timeout, another request.
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(conn)
	for i, extra := range []string{"X-Work: 1\r\n", ""} {
		fmt.Fprintf(conn, "PUT /x HTTP/1.1\r\nHost: r\r\n%sContent-Length: 3\r\n\r\nabc", extra)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d on the kept-alive connection: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
	}
	<-work
}

// TestCapAnonymous: with N requests without credentials held in flight,
// one more is refused 503 with Retry-After; requests with credentials (an
// Authorization header, a session cookie) still pass; once the held ones
// end, a request without credentials passes again.
func TestCapAnonymous(t *testing.T) {
	const n = 3
	release := make(chan struct{})
	var inFlight atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Hold") != "" {
			inFlight.Add(1)
			<-release
		}
		w.WriteHeader(http.StatusOK)
	})
	srv := httptest.NewServer(httplimit.CapAnonymous(h, n, httplimit.WithCredentialCheck(httplimit.HasCredentials("sid"))))
	defer srv.Close()
	do := func(set func(*http.Request)) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v2/", nil)
		if set != nil {
			set(req)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Error(err)
			return nil
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	var wg sync.WaitGroup
	codes := make(chan int, n)
	for range n {
		wg.Go(func() {
			if resp := do(func(r *http.Request) { r.Header.Set("X-Hold", "1") }); resp != nil {
				codes <- resp.StatusCode
			}
		})
	}
	eventually.True(t, "the held requests in flight", func() bool { return inFlight.Load() == n })

	resp := do(nil)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("request %d without credentials: %d, Retry-After %q", n+1, resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp := do(func(r *http.Request) { r.Header.Set("Authorization", "Bearer x") }); resp.StatusCode != http.StatusOK {
		t.Fatalf("a request with an Authorization header: %d", resp.StatusCode)
	}
	if resp := do(func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "sid", Value: "v"}) }); resp.StatusCode != http.StatusOK {
		t.Fatalf("a request with a session cookie: %d", resp.StatusCode)
	}
	close(release)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusOK {
			t.Fatalf("a held request: %d", c)
		}
	}
	if resp := do(nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("after the held requests ended: %d", resp.StatusCode)
	}
}
