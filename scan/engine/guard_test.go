package engine

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

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/internal/testscan"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/netguard"
)

// TestRegistrationOnLoopbackRefused: by default a scanner registration on
// a loopback adapter is refused when checked (by address or as
// localhost), its ping is refused when dialed, and a registration stored
// anyway makes scans fail without the adapter hearing of them; allowed,
// the same adapter answers. Built-in scanners keep working.
func TestRegistrationOnLoopbackRefused(t *testing.T) {
	r := newRig(t, nil)
	var hits atomic.Int32
	inner := testscan.Server(t, r.scanner)
	adapter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		hits.Add(1)
		inner.ServeHTTP(w, req)
	}))
	t.Cleanup(adapter.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(adapter.URL, "http://"))
	ctx := context.Background()
	for _, u := range []string{adapter.URL, "http://localhost:" + port, "http://[::1]:" + port, "http://169.254.169.254"} {
		err := r.eng.check(ScannerRegistration{Name: "x", URL: u})
		if !errors.Is(err, netguard.ErrForbiddenAddress) || !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), "url:") {
			t.Errorf("check(%s) = %v, want a url: error wrapping ErrForbiddenAddress", u, err)
		}
	}
	// Ping takes registrations that were not checked: the dial refuses.
	if _, err := r.eng.ping(ctx, ScannerRegistration{Name: "x", URL: "http://localhost:" + port}); !errors.Is(err, netguard.ErrForbiddenAddress) {
		t.Errorf("ping = %v, want ErrForbiddenAddress", err)
	}
	// Checked, the ping is refused before any dial, naming url.
	if _, err := r.eng.Ping(ctx, ScannerSpec{Name: "x", URL: "http://localhost:" + port}); !errors.Is(err, netguard.ErrForbiddenAddress) ||
		!strings.HasPrefix(err.Error(), "url:") {
		t.Errorf("Ping = %v, want a url: error wrapping ErrForbiddenAddress", err)
	}
	if err := r.eng.store.Update(ctx, func(tx meta.Tx) error {
		return Scanners.In(tx).Put(ScannerRegistration{Name: "inside", URL: adapter.URL})
	}); err != nil {
		t.Fatal(err)
	}
	d := r.push("other/app:v1")
	if err := r.eng.Enqueue(ctx, "other/app", d, "inside", TriggerManual); err != nil {
		t.Fatal(err)
	}
	rec := r.waitStatus("other/app", d, ScanError)
	if !strings.Contains(rec.Message, "forbidden address") {
		t.Errorf("scan record %+v, want a forbidden address", rec)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the loopback adapter got %d requests", n)
	}

	// The built-in scanner is not checked: it makes no connection.
	if err := r.eng.Enqueue(ctx, "other/app", d, "test", TriggerManual); err != nil {
		t.Fatal(err)
	}
	r.waitStatus("other/app", d, ScanSuccess)

	allowed, err := New(r.reg.Metadata, WithGuard(netguard.New(netguard.AllowNetworks(netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")))))
	if err != nil {
		t.Fatal(err)
	}
	if err := allowed.check(ScannerRegistration{Name: "x", URL: "http://localhost:" + port}); err != nil {
		t.Errorf("allowed: check = %v", err)
	}
	if _, err := allowed.Ping(ctx, ScannerSpec{Name: "x", URL: adapter.URL}); err != nil {
		t.Fatalf("allowed: Ping = %v", err)
	}
	eventually.True(t, "the allowed ping", func() bool { return hits.Load() > 0 })
}

// TestAdapterRedirectToInternalRefused: an allowed adapter that redirects
// to an address the guard refuses does not make the engine follow it.
func TestAdapterRedirectToInternalRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2: %v", err)
	}
	var innerHits atomic.Int32
	inner := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		innerHits.Add(1)
		_, _ = w.Write([]byte(`{}`))
	}))
	inner.Listener = l
	inner.Start()
	t.Cleanup(inner.Close)
	front := httptest.NewServer(http.RedirectHandler(inner.URL+"/api/v1/metadata", http.StatusFound))
	t.Cleanup(front.Close)
	// Only the front's address is allowed: it stands for a public adapter.
	e, err := New(testbolt.Open(t), WithGuard(netguard.New(netguard.AllowNetworks(netip.MustParsePrefix("127.0.0.1/32")))))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.check(ScannerRegistration{Name: "front", URL: front.URL}); err != nil {
		t.Fatal(err)
	}
	_, err = e.Ping(context.Background(), ScannerSpec{Name: "front", URL: front.URL})
	if !errors.Is(err, netguard.ErrForbiddenAddress) || !strings.Contains(err.Error(), "127.0.0.2") {
		t.Fatalf("Ping = %v, want ErrForbiddenAddress naming 127.0.0.2", err)
	}
	if innerHits.Load() != 0 {
		t.Fatalf("the internal server got %d requests", innerHits.Load())
	}
}
