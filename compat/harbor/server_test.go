package harbor

import (
	"log/slog"
	"testing"

	"github.com/berthreg/berth/internal/testserver"
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
	return testserver.Start(t, cfg, server.WithLogger(slog.New(slog.DiscardHandler)))
}
