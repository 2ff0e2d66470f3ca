package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"

	"github.com/berthreg/berth/artifact"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/registry/inproc"
	"github.com/berthreg/berth/retention"
	"github.com/berthreg/berth/ui"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthreg/berth/api"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/preheat"
	"github.com/berthreg/berth/proxy"
	"github.com/berthreg/berth/ratelimit"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/scan/cveexport"
	"github.com/berthreg/berth/scan/engine"
	"github.com/berthreg/berth/storage"
)

// ErrClosed is what Run returns after Close.
var ErrClosed = errors.New("server: closed")

// Server is a complete registry: the distribution API, the token service,
// the admin API, browser sessions and health (Handler), and the work
// behind them (Run). Create it with New.
type Server struct {
	handler  http.Handler
	bg       *background
	scanning *scanning
	// caches fills the pull-through cache projects.
	caches   *proxy.Service
	store    meta.Store
	ownStore bool // opened by New, closed by Close
	serving  serving
	tracing  tracing
	// accounts, projectScans and retention are what Accounts,
	// ProjectScans and Retention hand the host (the first two nil with
	// auth.disabled).
	accounts     *accounts.Manager
	projectScans *engine.ProjectSettings
	retention    *retention.Service

	mu      sync.Mutex
	running bool
	closed  bool
	stop    context.CancelFunc
	done    chan struct{}
}

// New builds the server cfg describes, with the parts opts bring instead
// of those cfg selects. It opens the storage and reaches it once, opens
// the metadata store, creates the consumers' cursors, applies the stored
// schedules and, with auth on, makes sure the admin and the library
// project exist; ctx bounds that work only. An invalid cfg, or options
// that contradict it, is an error naming the offending key.
func New(ctx context.Context, cfg Config, opts ...Option) (*Server, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := o.check(cfg); err != nil {
		return nil, err
	}
	logger := o.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	metrics := o.registry
	if metrics == nil {
		metrics = prometheus.NewRegistry()
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("dataDir: %w", err)
	}
	driver, err := o.storage(ctx, cfg)
	if err != nil {
		return nil, err
	}
	traces, err := newTracing(cfg.Tracing, o.tracer)
	if err != nil {
		return nil, err
	}
	if driver, err = observeStorage(metrics, driver, traces); err != nil {
		return nil, err
	}
	tlsConfig, err := newTLS(cfg.TLS, logger)
	if err != nil {
		return nil, err
	}
	s := &Server{store: o.store, serving: serving{tls: tlsConfig, readHeaderTimeout: cfg.HTTP.ReadHeaderTimeout,
		shutdownTimeout: cfg.ShutdownTimeout, logger: logger}, tracing: traces}
	if s.store == nil {
		if s.store, err = openMetadata(ctx, cfg, logger); err != nil {
			return nil, err
		}
		s.ownStore = true
	}
	if err := s.build(ctx, cfg, o, driver, metrics, logger); err != nil {
		s.release()
		return nil, err
	}
	return s, nil
}

// check refuses options that contradict cfg.
func (o options) check(cfg Config) error {
	if o.driver != nil {
		switch {
		case cfg.Storage.Driver != "fs":
			return fmt.Errorf("config: storage.driver %q conflicts with WithStorage, which brings the driver", cfg.Storage.Driver)
		case cfg.Storage.FS != FSConfig{}:
			return errors.New("config: storage.fs is set, but WithStorage brings the driver")
		}
	}
	if o.store != nil && cfg.Metadata.Driver != "bolt" {
		return fmt.Errorf("config: metadata.driver %q conflicts with WithStore, which brings the store", cfg.Metadata.Driver)
	}
	if o.authn != nil {
		switch {
		case cfg.Auth.Disabled:
			return errors.New("config: auth.disabled is true, but WithAuthenticator brings an authenticator")
		case cfg.Auth.LDAP.URL != "":
			return errors.New("config: auth.ldap.url is set, but WithAuthenticator replaces the accounts it is a source of")
		case cfg.Auth.RecheckTokens:
			return errors.New("config: auth.recheckTokens needs the server's accounts, which WithAuthenticator replaces")
		}
	}
	if o.builtinScanner == nil && cfg.Scan.Builtin != nil && *cfg.Scan.Builtin {
		return errors.New("config: scan.builtin is true, but no built-in scanner is compiled in (server.WithBuiltinScanner)")
	}
	return nil
}

// storage is the driver WithStorage brought or the one cfg selects,
// reached once so that a wrong bucket, endpoint or credential fails here
// with the driver named, not on the first push.
func (o options) storage(ctx context.Context, cfg Config) (storage.Driver, error) {
	d, name := o.driver, "WithStorage"
	if d == nil {
		var err error
		if d, err = openStorage(ctx, cfg.Storage, cfg.DataDir); err != nil {
			return nil, err
		}
		name = "storage." + cfg.Storage.Driver
	}
	if _, err := d.List(ctx, "", "", 1); err != nil {
		return nil, fmt.Errorf("%s: storage is not usable: %w", name, err)
	}
	return d, nil
}

// build assembles the server in dependency order: the background work
// without the registry, the auth, the registry handler, then what reaches
// the registry in process (replication, scanning) and the admin API over
// all of them.
func (s *Server) build(ctx context.Context, cfg Config, o options, driver storage.Driver, metrics prometheus.Registerer, logger *slog.Logger) error {
	raw, err := observeStore(metrics, s.store, s.tracing)
	if err != nil {
		return err
	}
	watcher, err := newWatcher(cfg, raw, logger)
	if err != nil {
		return err
	}
	pol, err := openPolicies(cfg, raw, driver, watcher, logger)
	if err != nil {
		return err
	}
	store := pol.store
	if err := inventoryMetrics(metrics, store, pol.quotas, logger); err != nil {
		return err
	}
	bg, err := newBackground(ctx, cfg, store, watcher, driver, metrics, s.tracing, logger)
	if err != nil {
		return err
	}
	if err := pol.addJobs(ctx, bg, cfg); err != nil {
		return err
	}
	s.bg = bg
	s.retention = pol.retention
	// The pull-through caches write into the registry handler built below.
	local := &lateHandler{}
	caches, err := openProxy(cfg, store, local, bg.watcher, bg.outbound, metrics, logger)
	if err != nil {
		return err
	}
	if err := addProxyJob(bg.runner, cfg.Proxy, caches); err != nil {
		return err
	}
	s.caches = caches
	var access authParts
	if !cfg.Auth.Disabled {
		if access, err = setupAuth(ctx, cfg, store, o.authn, bg.watcher, logger, append(pol.cleanups, caches.DeleteProject, preheat.DeleteProject)...); err != nil {
			return err
		}
	} else {
		logger.Warn("auth.disabled: the registry is open to anyone who can reach it")
	}
	gate, err := scanGate(store, bg.watcher)
	if err != nil {
		return err
	}
	// Anonymous mounts link any blob by digest: only without auth, where
	// everyone can pull everything anyway, are they on by default.
	anonymousMount := cfg.Auth.Disabled && (cfg.Registry.AnonymousMount == nil || *cfg.Registry.AnonymousMount)
	deletes := cfg.Registry.Deletes == nil || *cfg.Registry.Deletes
	h, err := registry.New(driver, store,
		registry.WithLogger(logger),
		registry.WithMaxManifestSize(cfg.Registry.MaxManifestSize),
		registry.WithMaxBlobSize(cfg.Registry.MaxBlobSize),
		registry.WithSparseManifests(cfg.Registry.SparseManifests),
		registry.WithAnonymousMount(anonymousMount),
		registry.WithDeletes(deletes),
		registry.WithHooks(registry.Chain(access.hooks, principalHooks(), caches.Hooks(), bg.recorder.Hooks(), gate.Hooks(), pol.hooks())),
		registry.WithUpstream(caches),
	)
	if err != nil {
		return err
	}
	local.h = h
	repl, err := bg.addReplication(ctx, cfg, h)
	if err != nil {
		return err
	}
	p2p, err := bg.addPreheat(ctx, cfg.registryURL(), pol.trust, access.preheatToken)
	if err != nil {
		return err
	}
	if s.scanning, err = setupScanning(ctx, cfg, store, bg.queue, bg.runner, h, access.scannerToken, o.builtinScanner, bg.outbound, logger,
		engine.WithObserver(bg.observe.scan)); err != nil {
		return err
	}
	// The schedules set through the admin API (collection, scan-all), as
	// stored, now that their jobs' handlers are registered.
	if err := bg.schedules.ApplyStored(ctx); err != nil {
		return err
	}
	if err := bg.consume(engine.ConsumerName, s.scanning.engine.Consume); err != nil {
		return err
	}
	if err := bg.addConsumers(cfg, o.consumers); err != nil {
		return err
	}
	if err := bg.init(ctx); err != nil {
		return err
	}
	var admin http.Handler
	if !cfg.Auth.Disabled {
		s.accounts = access.manager
		s.projectScans = engine.NewProjectSettings(store, engine.WithSettingsWatcher(bg.watcher))
		// The API's artifact writes go through the registry, as the
		// caller (the request's principal rides in its context).
		content, err := artifact.New(store, access.manager.Authorizer(), access.manager,
			artifact.WithRegistry(inproc.New(h)), artifact.WithContent(driver), artifact.WithImmutable(pol.immutable.Immutable))
		if err != nil {
			return err
		}
		exports, err := cveexport.New(store, bg.queue, access.manager, access.manager.Authorizer(),
			cveexport.WithPrincipals(access.manager.Principal), cveexport.WithLogger(logger))
		if err != nil {
			return err
		}
		exports.Register(bg.runner)
		admin = access.adminAPI(store, logger, api.WithArtifacts(content), api.WithCVEExport(exports), api.WithSystemInfo(systemInfo(cfg, s.scanning.engine != nil)), api.WithRateLimit(apiPrincipalAllowed), api.WithJobs(bg.queue), api.WithSchedules(bg.schedules),
			api.WithReplication(repl), api.WithScanning(s.scanning.engine), api.WithQuotas(pol.quotas), api.WithImmutable(pol.immutable), api.WithRetention(pol.retention), api.WithTrust(pol.trust), api.WithProxy(caches), api.WithPreheat(p2p),
			api.WithProjectScanSettings(s.projectScans))
		if err := access.provision(ctx, store, logger); err != nil {
			return err
		}
	}
	var limits *ratelimit.Limiter
	if len(cfg.HTTP.RateLimits) > 0 {
		if limits, err = ratelimit.New(cfg.HTTP.RateLimits); err != nil {
			return err
		}
	}
	var portal http.Handler
	if admin != nil && !cfg.Portal.Off {
		if portal, err = ui.New(admin, ui.WithLogger(logger)); err != nil {
			return err
		}
	}
	s.handler, err = routes(cfg, h, repositoryIn(store), access, admin, portal, newReadiness(store, driver, logger), metrics, limits, s.tracing)
	return err
}

// Handler serves everything: /v2/, the token service at a path
// auth.realm, the admin API at /api/v2.0/, browser sessions at /c/, the
// liveness check /healthz and the readiness check /readyz, with bodies
// that stall cut and requests without credentials capped
// (http.bodyIdleTimeout, http.maxAnonymousRequests). The http.Server
// around it should bound header reads (http.readHeaderTimeout).
func (s *Server) Handler() http.Handler { return s.handler }

// Run runs the background work (the job runner with its schedules, the
// event log's consumers, pull event recording) until ctx is done or Close
// is called, and returns nil then. Run it once; Handler serves without
// it, but jobs (webhook deliveries, replication, scans, garbage
// collection) wait for it.
func (s *Server) Run(ctx context.Context) error {
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return ErrClosed
	case s.running:
		s.mu.Unlock()
		return errors.New("server: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	defer close(done)
	s.running, s.stop, s.done = true, cancel, done
	s.mu.Unlock()
	return s.bg.run(ctx)
}

// Close stops Run, waits for it to return, and releases what New opened:
// the built-in scanner and the metadata store (not one WithStore brought).
// The Handler must not be used after Close.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	stop, done := s.stop, s.done
	s.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	return s.release()
}

// release closes the built-in scanner and an owned store, and flushes
// the traces of a tracer provider the server made.
func (s *Server) release() error {
	tctx, cancel := context.WithTimeout(context.Background(), tracingFlushTimeout)
	defer cancel()
	if err := s.tracing.close(tctx); err != nil {
		s.serving.logger.Warn("tracing: flushing the last spans", "err", err)
	}
	if s.caches != nil {
		_ = s.caches.Close()
	}
	s.scanning.close()
	if s.ownStore {
		return s.store.Close()
	}
	return nil
}
