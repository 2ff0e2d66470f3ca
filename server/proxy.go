package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/generation"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/netguard"
	"github.com/berthreg/berth/proxy"
	"github.com/berthreg/berth/registry/inproc"
	"github.com/berthreg/berth/registry/naming"
	"github.com/prometheus/client_golang/prometheus"
)

// ProxyConfig makes proxy cache projects answer as registry mirrors
// (each project's upstreams are set through the admin API:
// /projects/{p}/proxy).
type ProxyConfig struct {
	// Mirrors maps a registry host, as containerd names it in its ?ns=
	// parameter ("docker.io"), to the cache project that mirrors it
	// ("dockerhub"): a pull of /v2/library/nginx/manifests/1.27?ns=docker.io
	// is answered from dockerhub/library/nginx
	// (BERTH_PROXY_MIRRORS=docker.io=dockerhub,ghcr.io=ghcr).
	Mirrors map[string]string `yaml:"mirrors"`
	// DefaultMirror is the cache project a pull without ?ns= goes to
	// unless its repository is one of this registry's: Docker's
	// registry-mirrors, for Docker Hub (BERTH_PROXY_DEFAULT_MIRROR).
	DefaultMirror string `yaml:"defaultMirror"`
	// ExpireAfter is how long a cached artifact stays without being
	// pulled (default 168h, Harbor's 7 days; BERTH_PROXY_EXPIRE_AFTER).
	ExpireAfter time.Duration `yaml:"expireAfter"`
	// ExpireSchedule is when the caches are swept of what expired, a
	// cron spec with seconds (default "0 30 3 * * *", daily at 03:30;
	// BERTH_PROXY_EXPIRE_SCHEDULE; empty for never).
	ExpireSchedule string `yaml:"expireSchedule"`
	// UpstreamFetches bounds the blobs fetched at once from each upstream
	// registry endpoint (default 8, 0 for no bound;
	// BERTH_PROXY_UPSTREAM_FETCHES).
	UpstreamFetches int `yaml:"upstreamFetches"`
	// UpstreamBandwidth bounds the bytes per second moved from each
	// upstream registry endpoint (0, the default, for no limit;
	// BERTH_PROXY_UPSTREAM_BANDWIDTH).
	UpstreamBandwidth int `yaml:"upstreamBandwidth"`
}

// validate checks the mirror settings.
func (c ProxyConfig) validate() error {
	for ns, project := range c.Mirrors {
		if err := naming.CheckName(project); err != nil || strings.Contains(project, "/") {
			return fmt.Errorf("config: proxy.mirrors[%s]: %q is not a project name", ns, project)
		}
	}
	if c.UpstreamFetches < 0 || c.UpstreamBandwidth < 0 {
		return fmt.Errorf("config: proxy.upstreamFetches and proxy.upstreamBandwidth must not be negative")
	}
	if c.ExpireAfter < 0 {
		return fmt.Errorf("config: proxy.expireAfter %s must not be negative", c.ExpireAfter)
	}
	if c.DefaultMirror != "" {
		if err := naming.CheckName(c.DefaultMirror); err != nil || strings.Contains(c.DefaultMirror, "/") {
			return fmt.Errorf("config: proxy.defaultMirror: %q is not a project name", c.DefaultMirror)
		}
	}
	return nil
}

// addProxyJob registers the caches' expiry job on runner, on c's
// schedule.
func addProxyJob(runner *jobs.Runner, c ProxyConfig, caches *proxy.Service) error {
	runner.Handle(proxy.ExpireJobKind, caches.ExpireJob(), jobs.KindOptions{Limit: 1, MaxAttempts: 3})
	if c.ExpireSchedule == "" {
		return nil
	}
	spec := jobs.Spec{Kind: proxy.ExpireJobKind, Payload: proxy.ExpirePayload{After: c.ExpireAfter}}
	if err := runner.Schedule("proxy-expire", c.ExpireSchedule, spec); err != nil {
		return fmt.Errorf("config: proxy.expireSchedule: %w", err)
	}
	return nil
}

// mirrors are c's mirrors as package proxy serves them.
func (c ProxyConfig) mirrors() proxy.Mirrors {
	return proxy.Mirrors{ByNamespace: c.Mirrors, Default: c.DefaultMirror}
}

// repositoryIn reports whether repo is a repository in store.
func repositoryIn(store meta.Store) func(ctx context.Context, repo string) bool {
	return func(ctx context.Context, repo string) bool {
		err := store.View(meta.AllowCachedReads(ctx), func(tx meta.Tx) error {
			_, err := tx.Repositories().Get(repo)
			return err
		})
		return err == nil
	}
}

// proxyPrincipal is who the proxy cache's own writes into this registry
// are made as.
var proxyPrincipal = auth.Principal{Name: "proxy-cache", Kind: auth.User, Admin: true}

// lateHandler reaches a handler built after what needs to reach it: the
// proxy cache writes into the registry it is the upstream of. h is set
// once, before anything is served.
type lateHandler struct{ h http.Handler }

func (l *lateHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { l.h.ServeHTTP(w, r) }

// openProxy is the pull-through cache service over store, writing into
// the registry local will reach, fetching through outbound, spooling
// blobs under the data directory, publishing its fetches to metrics.
func openProxy(cfg Config, store meta.Store, local *lateHandler, watcher *generation.Watcher, outbound *netguard.Guard, metrics prometheus.Registerer, logger *slog.Logger) (*proxy.Service, error) {
	observe, err := proxyMetrics(metrics)
	if err != nil {
		return nil, err
	}
	spool := filepath.Join(cfg.DataDir, "proxy-spool")
	if err := os.RemoveAll(spool); err != nil { // what a stopped process left
		return nil, fmt.Errorf("proxy: %w", err)
	}
	if err := os.MkdirAll(spool, 0o700); err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	rt := inproc.New(local, inproc.WithContext(func(ctx context.Context) context.Context {
		return auth.WithPrincipal(ctx, proxyPrincipal)
	}))
	return proxy.New(store, rt, proxy.WithSpoolDir(spool), proxy.WithOutboundGuard(outbound), proxy.WithLogger(logger), proxy.WithObserver(observe), proxy.WithWatcher(watcher),
		proxy.WithUpstreamLimits(cfg.Proxy.UpstreamFetches, cfg.Proxy.UpstreamBandwidth))
}
