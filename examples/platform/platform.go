package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/server"
	"github.com/berthreg/berth/server/builtinscan"
)

// Config is what the platform is started with.
type Config struct {
	// DataDir holds the registry's data (blobs and metadata).
	DataDir string
	// Host is the host:port the platform's builders and nodes reach it
	// at: the registry part of every image hub domain.
	Host string
	// OSVDB is the vulnerability database the built-in scanner reads ("":
	// none, every scan finds nothing).
	OSVDB string
	// Logger receives the registry's logs (nil: none).
	Logger *slog.Logger
}

// operator is the principal the platform's own Go code acts as in the
// registry: a system administrator of the platform's people, never a
// person who signs in.
var operator = auth.Principal{Name: "platform", Kind: auth.User, Admin: true}

// Platform is a small PaaS embedding Berth: its people sign in to the
// registry through its own authenticator, each tenant gets a project
// (the namespace of its image hub) with robots for its build system and
// its nodes, and pushes to a component's repository redeploy it.
type Platform struct {
	host   string
	people *People
	meta   *bolt.Store
	srv    *server.Server
	mux    *http.ServeMux
}

// New builds the platform and the registry inside it over cfg.DataDir;
// nothing runs until Run.
func New(ctx context.Context, cfg Config, people *People) (*Platform, error) {
	if cfg.Host == "" {
		return nil, errors.New("platform: Host is required")
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	rc := server.DefaultConfig()
	rc.DataDir = filepath.Join(cfg.DataDir, "registry")
	rc.Addr = cfg.Host
	rc.ExternalURL = "http://" + cfg.Host
	rc.Events.ExternalHost = cfg.Host
	rc.Scan.OSVDB = cfg.OSVDB
	// The platform opens the metadata store itself, to keep its own
	// records (components, deployments) beside the registry's.
	store, err := bolt.Open(filepath.Join(cfg.DataDir, "meta.db"))
	if err != nil {
		return nil, fmt.Errorf("platform: %w", err)
	}
	p := &Platform{host: cfg.Host, people: people, meta: store, mux: http.NewServeMux()}
	srv, err := server.New(ctx, rc,
		server.WithStore(store),
		server.WithAuthenticator(people),
		server.WithBuiltinScanner(builtinscan.New),
		server.WithConsumers(server.Consumer{Name: consumerName, Handler: p.consume()}),
		server.WithLogger(logger))
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("platform: registry: %w", err)
	}
	p.srv = srv
	p.routes()
	return p, nil
}

// Handler serves the platform's own API under /platform/ and the
// registry (/v2/, the token service, Berth's admin API and portal) at
// every other path, from one mux.
func (p *Platform) Handler() http.Handler { return p.mux }

// Run runs the registry's background work (scans, the platform's event
// consumer) until ctx ends.
func (p *Platform) Run(ctx context.Context) error { return p.srv.Run(ctx) }

// Close stops Run and closes the registry, then the store.
func (p *Platform) Close() error {
	return errors.Join(p.srv.Close(), p.meta.Close())
}
