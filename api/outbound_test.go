package api

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/berthreg/berth/netguard"
	"github.com/berthreg/berth/replication"
	"github.com/berthreg/berth/scan/engine"
)

// loopbackAllowed lets the tests' registries and adapters on 127.0.0.1
// be endpoints and registrations.
var loopbackAllowed = netguard.New(netguard.AllowNetworks(netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")))

// TestOutboundToLoopbackRefused: with the engines' default guard, a
// registry endpoint or scanner registration on a loopback address is a
// 400 naming url, and its ping reaches nothing.
func TestOutboundToLoopbackRefused(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)

	repl := newReplicationAPI(t, replication.WithOutboundGuard(nil))
	wantMention(t, repl.admin, "POST", "/registries", `{"name":"inside","url":"`+srv.URL+`"}`, 400, "url")
	wantMention(t, repl.admin, "POST", "/registries/ping", `{"url":"`+srv.URL+`"}`, 400, "url")
	wantMention(t, repl.admin, "POST", "/registries", `{"name":"meta","url":"http://169.254.169.254"}`, 400, "url")

	sc := newScanAPI(t, engine.WithGuard(nil))
	wantMention(t, sc.admin, "POST", "/scanners", `{"name":"inside","url":"`+srv.URL+`"}`, 400, "url")
	wantMention(t, sc.admin, "POST", "/scanners/ping", `{"name":"inside","url":"http://localhost:1"}`, 400, "url")
	if hits.Load() != 0 {
		t.Fatalf("the loopback server got %d requests", hits.Load())
	}
}
