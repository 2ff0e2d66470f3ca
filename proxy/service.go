package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"
	"golang.org/x/time/rate"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/generation"
	"github.com/berthreg/berth/internal/fillcache"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/netguard"
	"github.com/berthreg/berth/registry/naming"
	"github.com/berthreg/berth/replication"
)

// Service fills pull-through caches: it is the registry's Upstream. Make
// one with New.
type Service struct {
	store    meta.Store
	local    http.RoundTripper
	guard    *netguard.Guard
	spoolDir string
	timeout  time.Duration
	now      func() time.Time
	logger   *slog.Logger
	observer func(Observation)

	// caches holds each project's settings (zero: no cache) once the
	// watcher polled (live); without a watcher every pull reads them.
	watcher *generation.Watcher
	caches  *fillcache.Cache[string, Settings]
	live    atomic.Bool
	// perUpstream bounds each upstream endpoint's blob fetches at once
	// (0: no bound) and bandwidth (0: none); limits holds their state.
	perUpstream int
	bandwidth   int
	endpoints   map[string]*endpoint
	// checked remembers when each cached tag was last found current
	// upstream: repo:tag → when.
	mu      sync.Mutex
	checked map[string]time.Time
	// fills are the blob fetches in progress, by repository and digest.
	fills map[string]*fill
	// base is the context of the fetches, which outlive the requests
	// that start them; Close cancels it and waits for them (running).
	base    context.Context
	stop    context.CancelFunc
	running sync.WaitGroup
	closed  bool
}

// Option configures a Service made by New.
type Option func(*Service)

// WithOutboundGuard checks the addresses upstream connections go to with
// g (default: a guard that allows no internal address).
func WithOutboundGuard(g *netguard.Guard) Option { return func(s *Service) { s.guard = g } }

// WithSpoolDir keeps the blobs being fetched in dir (default: the
// system's temporary directory).
func WithSpoolDir(dir string) Option { return func(s *Service) { s.spoolDir = dir } }

// WithWatcher keeps the projects' settings in memory, forgotten when w
// sees Generation move (another instance's change applies here within
// w's bound; this instance's at once).
func WithWatcher(w *generation.Watcher) Option { return func(s *Service) { s.watcher = w } }

// Generation is the change counter bumped with every settings change.
const Generation = "proxy.settings"

// WithUpstreamLimits bounds, for each upstream registry endpoint, the
// blobs fetched from it at once (fetches beyond wait their turn; 0: no
// bound) and the bytes per second all of its requests move together (0:
// no limit).
func WithUpstreamLimits(fetches, bytesPerSecond int) Option {
	return func(s *Service) { s.perUpstream, s.bandwidth = fetches, bytesPerSecond }
}

// endpoint is what the Service keeps of one upstream registry endpoint:
// how to reach it, made once per version of its record (so that its
// connections are reused), the token transports of its repositories,
// and its limits' state.
type endpoint struct {
	rec    replication.Registry
	remote replication.Remote
	// tokens are the authenticated transports by repository, reused
	// (go-containerregistry renews a token that expires); bounded.
	tokens  map[string]http.RoundTripper
	fetches chan struct{} // nil: no bound
	rate    *rate.Limiter // nil: no limit
}

// maxTokens bounds the token transports kept per endpoint.
const maxTokens = 1000

// endpointOf returns the Service's state of endpoint rec, reaching it
// anew when rec changed (its limits' state stays).
func (s *Service) endpointOf(rec replication.Registry) (*endpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.endpoints[rec.Name]
	if ok && old.rec == rec {
		return old, nil
	}
	e := &endpoint{rec: rec, tokens: map[string]http.RoundTripper{}}
	switch {
	case ok:
		e.fetches, e.rate = old.fetches, old.rate
	default:
		if s.perUpstream > 0 {
			e.fetches = make(chan struct{}, s.perUpstream)
		}
		if s.bandwidth > 0 {
			e.rate = replication.NewBandwidth(s.bandwidth)
		}
	}
	var err error
	if e.remote, err = replication.RemoteOf(rec, replication.WithGuard(s.guard)); err != nil {
		return nil, err
	}
	if e.rate != nil {
		e.remote.Transport = replication.LimitShared(e.remote.Transport, e.rate)
	}
	s.endpoints[rec.Name] = e
	return e, nil
}

// tokenTransport is the transport that reaches u's repository with a
// pull token: made once per repository, and reused.
func (s *Service) tokenTransport(ctx context.Context, u upstream) (http.RoundTripper, error) {
	key := u.repo.RepositoryStr()
	s.mu.Lock()
	rt, ok := u.endpoint.tokens[key]
	s.mu.Unlock()
	if ok {
		return rt, nil
	}
	rt, err := transport.NewWithContext(ctx, u.repo.Registry, u.endpoint.remote.Auth, u.endpoint.remote.Transport,
		[]string{u.repo.Scope(transport.PullScope)})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if len(u.endpoint.tokens) >= maxTokens {
		clear(u.endpoint.tokens)
	}
	u.endpoint.tokens[key] = rt
	s.mu.Unlock()
	return rt, nil
}

// WithTimeout bounds each upstream request but a blob's body (default 30
// seconds); a blob's fetch ends when its body stalls that long.
func WithTimeout(d time.Duration) Option { return func(s *Service) { s.timeout = d } }

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// Observation is one thing the Service did, for metrics: a manifest or
// blob fetched from an upstream (Err its failure, Bytes a blob's size),
// or a stale copy served because every upstream failed.
type Observation struct {
	// Kind is "manifest", "blob" or "stale".
	Kind string
	// Project is the cache; Upstream the registry endpoint asked.
	Project, Upstream string
	// Bytes is a fetched blob's size.
	Bytes int64
	// Err is the fetch's failure (nil: it succeeded).
	Err error
}

// WithObserver tells f what the Service does (default: nothing); f must
// not block.
func WithObserver(f func(Observation)) Option { return func(s *Service) { s.observer = f } }

// WithLogger sets the logger (default: none).
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.logger = l } }

func (s *Service) observe(o Observation) {
	if s.observer != nil {
		s.observer(o)
	}
}

// maxChecked bounds the revalidation times kept.
const maxChecked = 100000

// New returns the proxy service over store (the registry's metadata
// store: the projects' settings, the registry endpoints, what the caches
// hold). local reaches this registry in process (inproc's transport):
// what the caches fetch is written through it, with the request's
// context kept, which is how Hooks tells the Service's own pushes from
// others.
func New(store meta.Store, local http.RoundTripper, opts ...Option) (*Service, error) {
	s := &Service{store: store, local: local, spoolDir: os.TempDir(), timeout: 30 * time.Second, now: time.Now,
		logger: slog.New(slog.DiscardHandler), checked: map[string]time.Time{}, fills: map[string]*fill{},
		endpoints: map[string]*endpoint{}}
	s.base, s.stop = context.WithCancel(context.Background())
	s.caches = fillcache.New[string, Settings](10000)
	for _, o := range opts {
		o(s)
	}
	switch {
	case store == nil || local == nil:
		return nil, errors.New("proxy: New: nil store or local transport")
	case s.timeout <= 0:
		return nil, errors.New("proxy: New: WithTimeout must be positive")
	case s.perUpstream < 0 || s.bandwidth < 0:
		return nil, errors.New("proxy: New: WithUpstreamLimits must not be negative")
	}
	if s.watcher != nil {
		if err := fillcache.ResetOn(s.caches, &s.live, s.watcher, Generation); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Close stops the blob fetches in progress (their pulls fail; nothing
// is stored) and waits for them to end; pulls that would start one fail
// afterwards. Call it before closing the store.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.stop()
	s.running.Wait()
	return nil
}

// Settings returns project's settings, or ErrNotFound when it is no
// cache.
func (s *Service) Settings(ctx context.Context, project string) (Settings, error) {
	var st Settings
	err := s.store.View(ctx, func(tx meta.Tx) error {
		var err error
		st, err = settings.In(tx).Get(project)
		return meta.NotFoundAs(err, ErrNotFound, "project "+project+" is no proxy cache")
	})
	return st, err
}

// SetSettings makes a project (which must exist) a cache of the
// registry endpoints st names (which must exist), or changes its
// settings.
func (s *Service) SetSettings(ctx context.Context, st Settings) (Settings, error) {
	if err := st.check(); err != nil {
		return st, err
	}
	st.UpdatedAt = s.now().UTC()
	err := s.store.Update(ctx, func(tx meta.Tx) error {
		if _, err := accounts.Projects.In(tx).Get(st.Project); err != nil {
			return meta.NotFoundAs(err, ErrNotFound, "project "+st.Project)
		}
		for i, u := range st.Upstreams {
			if _, err := replication.Registries.In(tx).Get(u); err != nil {
				return meta.NotFoundAs(err, ErrNotFound, fmt.Sprintf("upstreams[%d]: registry endpoint %q", i, u))
			}
		}
		if err := settings.In(tx).Put(st); err != nil {
			return err
		}
		return generation.Bump(tx, Generation)
	})
	if err == nil {
		s.caches.Reset()
	}
	return st, err
}

// DeleteProject forgets a project's settings: accounts.WithProjectCleanup
// runs it when a project is deleted.
func (s *Service) DeleteProject(tx meta.Tx, project string, _ time.Time) error {
	if err := settings.In(tx).Delete(project); err != nil && !errors.Is(err, meta.ErrNotFound) {
		return err
	}
	return generation.Bump(tx, Generation)
}

// UsesRegistry reports, in tx, which cache project uses registry
// endpoint name as an upstream ("" for none): replication's
// WithRegistryUsers, so that an endpoint is not deleted from under a
// cache.
func UsesRegistry(tx meta.Tx, name string) (string, error) {
	all, err := settings.In(tx).List("", 0)
	if err != nil {
		return "", err
	}
	for _, st := range all {
		if slices.Contains(st.Upstreams, name) {
			return "proxy cache project " + st.Project, nil
		}
	}
	return "", nil
}

// cacheOf returns the settings of repo's project, ok false when it is no
// cache, and the repository's name upstream (without the project).
func (s *Service) cacheOf(ctx context.Context, repo string) (st Settings, upstreamRepo string, ok bool, err error) {
	project := naming.ProjectOf(repo)
	if project == repo {
		return st, "", false, nil
	}
	st, err = fillcache.Through(s.caches, &s.live, project, func() (Settings, error) {
		var st Settings
		err := s.store.View(meta.AllowCachedReads(ctx), func(tx meta.Tx) error {
			var err error
			st, err = settings.In(tx).Get(project)
			if errors.Is(err, meta.ErrNotFound) {
				return nil // no cache: the zero Settings
			}
			return err
		})
		return st, err
	})
	if err != nil || len(st.Upstreams) == 0 {
		return st, "", false, err
	}
	return st, repo[len(project)+1:], true, nil
}

// upstream is one upstream registry of a cache, for one repository.
type upstream struct {
	name     string
	repo     name.Repository
	opts     []remote.Option
	endpoint *endpoint
}

// upstreams resolves st's endpoints for upstreamRepo, skipping (and
// logging) those that no longer exist or cannot be used.
func (s *Service) upstreams(ctx context.Context, st Settings, upstreamRepo string) ([]upstream, error) {
	var recs []replication.Registry
	err := s.store.View(meta.AllowCachedReads(ctx), func(tx meta.Tx) error {
		for _, n := range st.Upstreams {
			rec, err := replication.Registries.In(tx).Get(n)
			if errors.Is(err, meta.ErrNotFound) {
				s.logger.WarnContext(ctx, "proxy: an upstream registry endpoint is gone", "project", st.Project, "registry", n)
				continue
			}
			if err != nil {
				return err
			}
			recs = append(recs, rec)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]upstream, 0, len(recs))
	for _, rec := range recs {
		e, err := s.endpointOf(rec)
		if err != nil {
			s.logger.WarnContext(ctx, "proxy: an upstream registry endpoint is unusable", "project", st.Project, "registry", rec.Name, "err", err)
			continue
		}
		var nopts []name.Option
		if e.remote.Insecure {
			nopts = append(nopts, name.Insecure)
		}
		r, err := name.NewRepository(upstreamHost(rec, e.remote.Host)+"/"+upstreamRepo, nopts...)
		if err != nil {
			return nil, fmt.Errorf("proxy: repository %s upstream: %w", upstreamRepo, err)
		}
		// No retries: a failing upstream gives way to the next one, or
		// to the cached copy, at once.
		out = append(out, upstream{name: rec.Name, repo: r, endpoint: e, opts: []remote.Option{
			remote.WithAuth(e.remote.Auth), remote.WithTransport(e.remote.Transport),
			remote.WithRetryStatusCodes(), remote.WithRetryPredicate(func(error) bool { return false })}})
	}
	return out, nil
}

// upstreamHost is the host a cache asks upstream repositories at: for
// Docker Hub (an endpoint of type docker-hub, or its web or registry
// addresses), its registry API, index.docker.io, where an official
// image's one-segment name gets its library/ (hub/nginx → library/nginx).
func upstreamHost(rec replication.Registry, host string) string {
	switch {
	case rec.Type == "docker-hub", host == "hub.docker.com", host == "docker.io", host == "registry-1.docker.io":
		return name.DefaultRegistry
	}
	return host
}

// wasChecked reports whether repo:tag was found current within ttl.
func (s *Service) wasChecked(repo, tag string, ttl time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.checked[repo+":"+tag]
	return ok && s.now().Sub(at) < ttl
}

// forgetChecked forgets the checks of repo's tags.
func (s *Service) forgetChecked(repo string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.checked {
		if strings.HasPrefix(k, repo+":") {
			delete(s.checked, k)
		}
	}
}

func (s *Service) noteChecked(repo, tag string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.checked) >= maxChecked {
		clear(s.checked)
	}
	s.checked[repo+":"+tag] = s.now()
}

// localTag returns the digest tag names in repo here ("" when none).
func (s *Service) localTag(ctx context.Context, repo, tag string) (digest.Digest, error) {
	var d digest.Digest
	err := s.store.View(meta.AllowCachedReads(ctx), func(tx meta.Tx) error {
		var err error
		d, err = tx.Tags().Get(repo, tag)
		if errors.Is(err, meta.ErrNotFound) {
			return nil
		}
		return err
	})
	return d, err
}
