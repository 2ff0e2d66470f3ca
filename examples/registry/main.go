// Command registry is Berth's example registry server: the distribution API
// on fs storage and bbolt metadata under ./data, configured by an optional
// YAML file and BERTH_* environment variables. Run it with
//
//	go run ./examples/registry
//
// and push to 127.0.0.1:5000.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthreg/berth/api"
	"github.com/berthreg/berth/auth/session"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/registry/httplimit"
	"github.com/berthreg/berth/storage"
	"github.com/berthreg/berth/storage/fs"
	"github.com/berthreg/berth/storage/memory"
	"github.com/berthreg/berth/storage/oss"
	"github.com/berthreg/berth/storage/s3"
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
	srv, cleanup, err := build(ctx, cfg, logger, metrics)
	if err != nil {
		return err
	}
	defer cleanup()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	if cfg.DebugAddr != "" {
		dbg, err := startDebug(cfg.DebugAddr, metrics, logger)
		if err != nil {
			return fmt.Errorf("debugAddr: %w", err)
		}
		defer dbg.Close()
	}
	logger.Info("berth registry listening", "addr", ln.Addr().String(), "data", cfg.DataDir, "storage", cfg.Storage.Driver)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(strings.ToUpper(level)))
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// build assembles storage, metadata and the registry handler into a server.
func build(ctx context.Context, cfg Config, logger *slog.Logger, metrics prometheus.Registerer) (*http.Server, func(), error) {
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("dataDir: %w", err)
	}
	var driver storage.Driver
	switch cfg.Storage.Driver {
	case "memory":
		driver = memory.New()
	case "s3":
		c := cfg.Storage.S3
		d, err := s3.New(ctx, s3.Config{
			Bucket: c.Bucket, Region: c.Region, Endpoint: c.Endpoint,
			AccessKey: c.AccessKey, SecretKey: c.SecretKey, RootDirectory: c.RootDirectory,
			PartSize: c.PartSize, StorageClass: c.StorageClass,
			ServerSideEncryption: c.ServerSideEncryption, KMSKeyID: c.KMSKeyID,
			RedirectExpiry: c.RedirectExpiry, MaxConcurrency: c.MaxConcurrency, MaxAttempts: c.MaxAttempts,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("storage.s3: %w", err)
		}
		driver = d
	case "oss":
		c := cfg.Storage.OSS
		d, err := oss.New(ctx, oss.Config{
			AccessKeyID: c.AccessKeyID, AccessKeySecret: c.AccessKeySecret,
			Region: c.Region, Endpoint: c.Endpoint, Internal: c.Internal, Bucket: c.Bucket,
			Encrypt: c.Encrypt, EncryptionKMSKeyID: c.KMSKeyID, Secure: c.Secure,
			ChunkSize: c.ChunkSize, RootDirectory: c.RootDirectory, RedirectExpiry: c.RedirectExpiry,
			MaxConcurrency: c.MaxConcurrency, MaxAttempts: c.MaxAttempts,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("storage.oss: %w", err)
		}
		driver = d
	default:
		root := cfg.Storage.FS.RootDirectory
		if root == "" {
			root = filepath.Join(cfg.DataDir, "storage")
		}
		var opts []fs.Option
		if cfg.Storage.FS.NoSync {
			opts = append(opts, fs.WithoutSync())
		}
		d, err := fs.New(root, opts...)
		if err != nil {
			return nil, nil, fmt.Errorf("storage.fs.rootDirectory: %w", err)
		}
		driver = d
	}
	// Reach the storage once at start, so a wrong bucket, endpoint or
	// credential fails here with the driver named, not on the first push.
	if _, err := driver.List(ctx, "", "", 1); err != nil {
		return nil, nil, fmt.Errorf("storage.%s: storage is not usable: %w", cfg.Storage.Driver, err)
	}
	store, err := bolt.Open(filepath.Join(cfg.DataDir, "meta.db"))
	if err != nil {
		return nil, nil, fmt.Errorf("metadata: %w", err)
	}
	// Anonymous mounts link any blob by digest: only without auth, where
	// everyone can pull everything anyway, are they on by default.
	anonymousMount := cfg.Auth.Disabled && (cfg.Registry.AnonymousMount == nil || *cfg.Registry.AnonymousMount)
	deletes := cfg.Registry.Deletes == nil || *cfg.Registry.Deletes
	bg, err := setupBackground(ctx, cfg, store, driver, metrics, logger)
	if err != nil {
		_ = store.Close()
		return nil, nil, err
	}
	var access authParts
	if !cfg.Auth.Disabled {
		if access, err = setupAuth(ctx, cfg, store, logger, api.WithJobs(bg.queue), api.WithSchedules(bg.schedules), api.WithReplication(bg.replication),
			api.WithScanning(bg.scanning.engine)); err != nil {
			_ = store.Close()
			return nil, nil, err
		}
		bg.scanning.engine.Credentials = access.scannerToken
	} else {
		logger.Warn("auth.disabled: the registry is open to anyone who can reach it")
	}
	h, err := registry.New(
		registry.WithLogger(logger),
		registry.WithStorage(driver),
		registry.WithMetadata(store),
		registry.WithMaxManifestSize(cfg.Registry.MaxManifestSize),
		registry.WithMaxBlobSize(cfg.Registry.MaxBlobSize),
		registry.WithSparseManifests(cfg.Registry.SparseManifests),
		registry.WithAnonymousMount(anonymousMount),
		registry.WithDeletes(deletes),
		registry.WithHooks(registry.Chain(access.hooks, bg.hooks)),
	)
	if err != nil {
		_ = store.Close()
		return nil, nil, err
	}
	bg.local.h = h
	mux := http.NewServeMux()
	mux.Handle("/v2/", h)
	mux.Handle("/v2", h)
	if access.tokenPath != "" {
		mux.Handle(access.tokenPath, access.tokens)
	}
	if access.admin != nil {
		mux.Handle(api.Prefix+"/", access.admin)
		mux.Handle("/c/", access.admin) // sessions: /c/login, /c/log_out, /c/oidc/…
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("ok\n"))
	})
	// Outermost, so the body deadline reaches the server's connection.
	var handler http.Handler = mux
	if !cfg.Auth.Disabled { // without auth every request is anonymous: the cap would cap them all
		handler = httplimit.CapAnonymous(handler, cfg.HTTP.MaxAnonymousRequests,
			httplimit.WithCredentialCheck(httplimit.HasCredentials(session.DefaultCookie)))
	}
	handler = httplimit.IdleBodies(handler, cfg.HTTP.BodyIdleTimeout)
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	bgCtx, stopBackground := context.WithCancel(context.Background())
	waitBackground := bg.start(bgCtx)
	return srv, func() {
		stopBackground()
		waitBackground()
		_ = store.Close()
	}, nil
}
