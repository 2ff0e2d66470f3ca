// Command registry is Berth's example registry server: package server on
// fs storage and bbolt metadata under ./data, configured by an optional
// YAML file and BERTH_* environment variables. Run it with
//
//	go run ./examples/registry
//
// and push to 127.0.0.1:5000.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthreg/berth/server"
	"github.com/berthreg/berth/server/builtinscan"
)

func main() {
	if err := run(os.Args[1:], os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "registry:", err)
		os.Exit(1)
	}
}

func run(args []string, getenv func(string) string) error {
	fset := flag.NewFlagSet("registry", flag.ContinueOnError)
	configPath := fset.String("config", getenv("BERTH_CONFIG"), "YAML config file (optional; BERTH_CONFIG)")
	addr := fset.String("addr", "", "listen address, overrides config (default 127.0.0.1:5000)")
	dataDir := fset.String("data", "", "data directory, overrides config (default ./data)")
	if err := fset.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(*configPath, getenv)
	if err != nil {
		return err
	}
	if *addr != "" {
		cfg.Addr = *addr
	}
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}
	logger := newLogger(cfg.LogLevel)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	metrics := prometheus.NewRegistry()
	reg, err := server.New(ctx, cfg, server.WithLogger(logger), server.WithRegisterer(metrics),
		server.WithBuiltinScanner(builtinscan.New))
	if err != nil {
		return err
	}
	defer reg.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	if cfg.DebugAddr != "" {
		dbg, err := startDebug(cfg.DebugAddr, metrics, reg.Handler(), logger)
		if err != nil {
			return fmt.Errorf("debugAddr: %w", err)
		}
		defer dbg.Close()
	}
	// The background work outlives the signal: it stops once the
	// requests in flight are done (the deferred Close).
	go func() { _ = reg.Run(context.Background()) }()
	scheme := "http"
	if reg.TLSConfig() != nil {
		scheme = "https"
	}
	logger.Info("berth registry listening", "addr", ln.Addr().String(), "scheme", scheme, "data", cfg.DataDir, "storage", cfg.Storage.Driver)
	if !cfg.Auth.Disabled && !cfg.Portal.Off {
		logger.Info("web portal", "url", scheme+"://"+ln.Addr().String()+"/")
	}
	go func() {
		<-ctx.Done()
		logger.Info("shutting down")
	}()
	if err := reg.Serve(ctx, ln); err != nil {
		return err
	}
	logger.Info("shut down")
	return nil
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(strings.ToUpper(level)))
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}
