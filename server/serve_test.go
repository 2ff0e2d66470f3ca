package server

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/berthreg/berth/server/builtinscan"
)

// serve runs a server built from cfg (and opts) on a loopback port until
// the test ends, with events.externalHost its address, and returns that
// host:port.
func serve(t *testing.T, cfg Config, opts ...Option) string {
	t.Helper()
	host, _ := serveServer(t, cfg, opts...)
	return host
}

// serveServer is serve returning the server too.
func serveServer(t *testing.T, cfg Config, opts ...Option) (string, *Server) {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	host := ts.Listener.Addr().String()
	cfg.Events.ExternalHost = host
	srv := start(t, cfg, append([]Option{WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(ts.Close) // before the server's own cleanup: requests end first
	return host, srv
}

// start builds a server from cfg, with the built-in scanner as the
// example server has it, and runs its background work until the test
// ends, then closes it.
func start(t testing.TB, cfg Config, opts ...Option) *Server {
	t.Helper()
	srv, err := New(t.Context(), cfg, append([]Option{WithBuiltinScanner(builtinscan.New)}, opts...)...)
	if err != nil {
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
	return srv
}
