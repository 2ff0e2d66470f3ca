package main

import (
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// serve runs the example server built from cfg on a loopback port until
// the test ends, with events.externalHost its address, and returns that
// host:port.
func serve(t *testing.T, cfg Config) string {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	host := ts.Listener.Addr().String()
	cfg.Events.ExternalHost = host
	srv, cleanup, err := build(t.Context(), cfg, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		ts.Close()
		t.Fatal(err)
	}
	ts.Config.Handler = srv.Handler
	ts.Start()
	t.Cleanup(func() { ts.Close(); cleanup() })
	return host
}
