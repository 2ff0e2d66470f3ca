package replication

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/netguard"
)

// loopback lets the tests' registries on 127.0.0.1 be endpoints.
var loopback = netguard.New(netguard.AllowNetworks(netip.MustParsePrefix("127.0.0.0/8")))

// TestEndpointOnLoopbackRefused: by default an endpoint on a loopback
// address is refused when it is checked (by address or by the name
// localhost) and, stored anyway, when it is dialed: its ping, and the
// tasks of a policy pushing to it, never reach it; the tasks fail at once
// instead of waiting for it.
func TestEndpointOnLoopbackRefused(t *testing.T) {
	r := newRigWith(t, []EngineOption{WithOutboundGuard(nil)})
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		hits.Add(1)
		r.dst.Handler.ServeHTTP(w, req)
	}))
	t.Cleanup(target.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(target.URL, "http://"))
	for _, u := range []string{target.URL, "http://localhost:" + port, "https://[::ffff:127.0.0.1]:" + port, "http://169.254.169.254"} {
		err := CheckEndpoint(Registry{Name: "x", URL: u}, WithGuard(r.eng.guard))
		if !errors.Is(err, netguard.ErrForbiddenAddress) || !strings.HasPrefix(err.Error(), "url:") {
			t.Errorf("CheckEndpoint(%s) = %v, want a url: error wrapping ErrForbiddenAddress", u, err)
		}
	}
	push(t, r.src.Host, "team/a:v1")
	// Stored anyway (a record from before the check), it is refused.
	r.put(func(tx meta.Tx) error {
		return Registries.In(tx).Put(Registry{Name: "inside", URL: target.URL})
	})
	for _, dst := range []string{"inside"} {
		r.policy(PolicyRecord{Name: "p-" + dst, Destination: dst, TaskAttempts: 3})
		e := r.wait(r.start("p-" + dst))
		if e.Status != StatusFailed {
			t.Fatalf("%s: execution %+v, want failed", dst, e)
		}
		for _, task := range r.tasks(e.ID) {
			if task.Attempts != 1 || !strings.Contains(task.Error, "forbidden address") {
				t.Errorf("%s: task %+v, want one attempt refused as a forbidden address", dst, task)
			}
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the loopback registry got %d requests", n)
	}

	// Allowed, the same endpoint works.
	allowed, err := NewEngine(r.src.Metadata, r.eng.queue, WithOutboundGuard(loopback))
	if err != nil {
		t.Fatal(err)
	}
	if err := allowed.Ping(context.Background(), Registry{Name: "x", URL: "http://localhost:" + port}); err != nil {
		t.Fatalf("allowed: %v", err)
	}
	if hits.Load() == 0 {
		t.Fatal("the allowed ping reached nothing")
	}
}

// TestEndpointTokenRealmChecked: an allowed registry whose token service
// (the realm of its challenge) is on an address the guard refuses cannot
// make the engine call it: the check is on every connection, not only
// the endpoint's own address.
func TestEndpointTokenRealmChecked(t *testing.T) {
	var tokenHits atomic.Int32
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		tokenHits.Add(1)
		_, _ = w.Write([]byte(`{"token":"t"}`))
	}))
	t.Cleanup(tokens.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(tokens.URL, "http://"))
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2: %v", err)
	}
	front := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="http://localhost:`+port+`/token",service="x"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	front.Listener = l
	front.Start()
	t.Cleanup(front.Close)
	// Only the front's address is allowed: it stands for a public
	// registry; its realm names a host that resolves to loopback.
	g := netguard.New(netguard.AllowNetworks(netip.MustParsePrefix("127.0.0.2/32")))
	err = Ping(context.Background(), Registry{Name: "front", URL: front.URL, Username: "u", Password: "p"}, WithGuard(g))
	if !errors.Is(err, netguard.ErrForbiddenAddress) {
		t.Fatalf("Ping = %v, want ErrForbiddenAddress", err)
	}
	if tokenHits.Load() != 0 {
		t.Fatalf("the internal token service got %d requests", tokenHits.Load())
	}
}
