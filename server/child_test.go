package server

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/berthreg/berth/server/builtinscan"
)

// childEnv, set to "serve", makes the test binary a server instead of
// running tests: the tests that SIGKILL a server, or read its CPU time,
// run it as a child process.
const childEnv = "BERTH_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "serve" {
		if err := serveChild(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "server child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// childBinary is the program startServer runs: this test binary, which
// serves (serveChild) when childEnv says so.
func childBinary(t *testing.T) string {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// serveChild serves as a host program does: DefaultConfig with the
// BERTH_* environment, -addr and -data flags, New, Run and an http.Server
// on the listener, until it is killed.
func serveChild(args []string) error {
	fset := flag.NewFlagSet("server", flag.ContinueOnError)
	addr := fset.String("addr", "", "listen address")
	dataDir := fset.String("data", "", "data directory")
	if err := fset.Parse(args); err != nil {
		return err
	}
	cfg := DefaultConfig()
	if err := cfg.ApplyEnv(os.Getenv); err != nil {
		return err
	}
	if *addr != "" {
		cfg.Addr = *addr
	}
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(cfg.LogLevel)))
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx := context.Background()
	srv, err := New(ctx, cfg, WithLogger(logger), WithBuiltinScanner(builtinscan.New))
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	go func() { _ = srv.Run(ctx) }()
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout}
	return hs.Serve(ln)
}
