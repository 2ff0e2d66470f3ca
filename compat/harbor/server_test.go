package harbor

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/berthreg/berth/server"
	"golang.org/x/crypto/bcrypt"
)

// adminPassword is the test servers' administrator password.
const adminPassword = "admin-password"

// serve runs a whole Berth server (fs storage and bbolt under a
// temporary directory) on a loopback port until the test ends and
// returns its host:port.
func serve(t *testing.T) string {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Auth.AdminPassword = adminPassword
	cfg.Auth.HashCost = bcrypt.MinCost
	ts := httptest.NewUnstartedServer(nil)
	host := ts.Listener.Addr().String()
	cfg.Addr = host
	cfg.Events.ExternalHost = host
	srv, err := server.New(t.Context(), cfg, server.WithLogger(slog.New(slog.DiscardHandler)))
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
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(ts.Close) // runs first: requests end before the server closes
	return host
}
