package server

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthreg/berth/internal/eventually"
)

// TestStalledBodyIsCut: with http.bodyIdleTimeout set, an anonymous upload
// whose body stops sending is cut and its connection closed, instead of
// staying open for good.
func TestStalledBodyIsCut(t *testing.T) {
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.BodyIdleTimeout = 200 * time.Millisecond
	host := serve(t, cfg)
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The login form is read before any credentials are checked.
	fmt.Fprintf(conn, "POST /c/login HTTP/1.1\r\nHost: r\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nprincipal=a")
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	if b, err := io.ReadAll(conn); err != nil {
		t.Fatalf("a stalled body's connection stayed open: %v (read %q)", err, b)
	}
}

// TestAnonymousRequestsAreCapped: with http.maxAnonymousRequests 2 and two
// requests without credentials held open (stalled login bodies), a third
// is refused 503 with Retry-After, while a request with credentials and
// the health and readiness probes get through.
func TestAnonymousRequestsAreCapped(t *testing.T) {
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.MaxAnonymousRequests = 2
	host := serve(t, cfg)
	var conns []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "POST /c/login HTTP/1.1\r\nHost: r\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nprincipal=a")
	}
	var once sync.Once
	closeAll := func() {
		once.Do(func() {
			for _, c := range conns {
				c.Close()
			}
		})
	}
	defer closeAll()
	// The held requests are in flight once a third is refused.
	var resp *http.Response
	eventually.True(t, "a third request without credentials refused", func() bool {
		var err error
		resp, err = http.Get("http://" + host + "/v2/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable
	})
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("a third request without credentials: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// The probes pass the cap: a busy registry is neither dead nor unready.
	for _, probe := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get("http://" + host + probe)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s with the anonymous requests capped: %d, want 200", probe, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+host+"/v2/", nil)
	req.SetBasicAuth("admin", "wrong")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || strings.Contains(string(body), "UNAVAILABLE") {
		t.Fatalf("a request with credentials: %d %s (want the guard's 401)", resp.StatusCode, body)
	}
	closeAll()
}
