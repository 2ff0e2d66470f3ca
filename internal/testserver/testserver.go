// Package testserver runs whole Berth servers (package server) on
// loopback ports for tests outside package server: the portal's, the
// browser suite's and the Harbor-client compatibility module's.
package testserver

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/berthreg/berth/server"
)

// Start runs a server built from cfg and opts on a loopback port until
// the test ends, with cfg.Addr and cfg.Events.ExternalHost its address,
// and returns that host:port. Requests end before the server closes.
func Start(t testing.TB, cfg server.Config, opts ...server.Option) string {
	t.Helper()
	return StartWith(t, func(string) server.Config { return cfg }, opts...)
}

// StartWith is Start for a configuration that names the server's own
// address (an OpenID Connect redirect URL): config gets the host:port
// the server will listen on.
func StartWith(t testing.TB, config func(host string) server.Config, opts ...server.Option) string {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	host := ts.Listener.Addr().String()
	cfg := config(host)
	cfg.Addr = host
	cfg.Events.ExternalHost = host
	srv, err := server.New(t.Context(), cfg, opts...)
	if err != nil {
		ts.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(ts.Close) // runs first: requests end before the server closes
	return host
}
