package preheat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/netguard"
	"github.com/berthreg/berth/scan"
)

// Bounds of what the Service keeps and runs.
const (
	// MaxInstances bounds the provider instances.
	MaxInstances = 100
	// MaxPoliciesPerProject bounds a project's policies.
	MaxPoliciesPerProject = 100
	// MaxTasksPerExecution bounds the artifacts one execution preheats:
	// the first ones in repository and tag order; the execution's status
	// message says how many were left out.
	MaxTasksPerExecution = 5000
	// MaxExecutionsPerPolicy is how many executions of a policy are
	// kept: planning a new one deletes the oldest ended ones beyond it
	// (Harbor keeps 50 too), with their tasks and logs.
	MaxExecutionsPerPolicy = 50
	// MaxTaskLogBytes bounds a task's log; older lines give way.
	MaxTaskLogBytes = 64 << 10
	// MaxNameLength bounds instance and policy names (naming.CheckName).
	MaxNameLength = 64
	// MaxDescriptionLength bounds descriptions.
	MaxDescriptionLength = 1024
	// MaxLabels bounds a policy's label filter, MaxLabelLength a label.
	MaxLabels      = 20
	MaxLabelLength = 128
	// MaxPatternLength bounds the repository and tag patterns.
	MaxPatternLength = 255
	// MaxEndpointLength bounds an instance's endpoint URL, and
	// MaxAuthValueLength each of its credentials.
	MaxEndpointLength  = 2048
	MaxAuthValueLength = 4096
	// PingTimeout bounds a health check of an instance.
	PingTimeout = 30 * time.Second
	// DefaultPollInterval is how long a task waits between two reads of
	// its provider job's status, and DefaultTaskTimeout how long after
	// its start a task still unfinished fails (Harbor's 10 s and 30 min);
	// see WithPolling.
	DefaultPollInterval = 10 * time.Second
	DefaultTaskTimeout  = 30 * time.Minute
	// TaskAttempts is how many times a task's request to the provider is
	// tried (through the job queue's backoff) before the task fails.
	TaskAttempts = 3
)

// Artifact is one tagged artifact of a repository, as Artifacts lists it.
type Artifact struct {
	// Repository is the repository's full name ("team/app").
	Repository string
	// Tag is the tag; Digest the manifest it points at.
	Tag    string
	Digest string
	// MediaType is the manifest's media type; ArtifactType its artifact
	// type, else its config's media type (meta.Manifest.ArtifactType).
	// Only images (and image indexes) are preheated, as in Harbor.
	MediaType    string
	ArtifactType string
}

// Artifacts is what the Service needs to know of the registry's
// artifacts to select them: the server implements it over the metadata
// store and the label, trust and scan packages. Methods are called
// outside any transaction of the store.
type Artifacts interface {
	// Repositories returns the full names of project's repositories.
	Repositories(ctx context.Context, project string) ([]string, error)
	// Tagged returns every tag of repository with the artifact it points
	// at (none for a repository that does not exist).
	Tagged(ctx context.Context, repository string) ([]Artifact, error)
	// Labels returns the names of the labels attached to the artifact.
	Labels(ctx context.Context, repository, digest string) ([]string, error)
	// Signed reports whether the artifact carries a signature that
	// verifies (package trust's check).
	Signed(ctx context.Context, repository, digest string) (bool, error)
	// Severity returns the highest severity the artifact's latest
	// successful scan found ("" or "None" when it found nothing), and
	// scanned false when it has no successful scan.
	Severity(ctx context.Context, repository, digest string) (severity scan.Severity, scanned bool, err error)
}

// Service is P2P preheat's rules and runs for every caller, Go or HTTP
// (the admin API only translates): provider instances (system
// administrators), policies, executions, tasks and their logs (project
// administrators), the jobs that run executions, the schedules and the
// event trigger. Make it with New; its exported methods are safe for
// concurrent use.
type Service struct {
	store     meta.Store
	queue     *jobs.Queue
	artifacts Artifacts

	vendors   map[string]Factory
	guard     *netguard.Guard
	creds     func(ctx context.Context, repository string) (map[string]string, error)
	registry  string
	logger    *slog.Logger
	now       func() time.Time
	scheduler *jobs.Runner
	poll      time.Duration
	timeout   time.Duration
	// secureRT and insecureRT are the providers' shared transports (see
	// transports).
	secureRT, insecureRT http.RoundTripper
}

// Option configures a Service made by New.
type Option func(*Service)

// WithProvider registers vendor's Factory: instances of that vendor can
// be created and are reached through the providers f makes (the server
// registers "dragonfly" and "kraken").
func WithProvider(vendor string, f Factory) Option {
	return func(s *Service) { s.vendors[vendor] = f }
}

// WithOutboundGuard sets which addresses instances may be reached at
// (default: a nil guard, every global address and nothing internal):
// every provider's client dials through it, Insecure instances too.
func WithOutboundGuard(g *netguard.Guard) Option { return func(s *Service) { s.guard = g } }

// WithPullCredentials sets how the headers a provider pulls an artifact
// with are made: fn returns them for repository (a bearer token granting
// pull on it alone, short-lived), called when the task asks the provider.
// Default: none (the provider pulls anonymously).
func WithPullCredentials(fn func(ctx context.Context, repository string) (map[string]string, error)) Option {
	return func(s *Service) { s.creds = fn }
}

// WithRegistryURL sets this registry's external base URL, from which
// providers pull ("https://registry.example"): a task's Image.URL is
// "<base>/v2/<repository>/manifests/<tag>". Without it, tasks fail.
func WithRegistryURL(base string) Option {
	return func(s *Service) { s.registry = strings.TrimRight(base, "/") }
}

// WithLogger sets the logger that receives failures (default: none).
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.logger = l } }

// WithClock makes the Service read the time from now (default
// time.Now): record times, and the task timeout.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithScheduler sets the runner whose scheduler fires scheduled policies
// (saving or deleting a policy keeps it in step; ScheduleAll applies the
// stored ones). Default: none.
func WithScheduler(r *jobs.Runner) Option { return func(s *Service) { s.scheduler = r } }

// WithPolling sets how long a task waits between reads of its provider
// job's status (default DefaultPollInterval) and how long after its start
// an unfinished task fails (default DefaultTaskTimeout). Each read is a
// job of its own, due after the interval: no goroutine waits.
func WithPolling(interval, timeout time.Duration) Option {
	return func(s *Service) { s.poll, s.timeout = interval, timeout }
}

// New returns the Service over store, queueing its jobs on queue (which
// must keep them in store) and selecting artifacts through source.
func New(store meta.Store, queue *jobs.Queue, source Artifacts, opts ...Option) (*Service, error) {
	s := &Service{store: store, queue: queue, artifacts: source, vendors: map[string]Factory{},
		now: time.Now, poll: DefaultPollInterval, timeout: DefaultTaskTimeout}
	for _, o := range opts {
		o(s)
	}
	switch {
	case store == nil:
		return nil, errors.New("preheat: New: nil store")
	case queue == nil:
		return nil, errors.New("preheat: New: nil queue")
	case queue.Store() != store:
		return nil, errors.New("preheat: New: the queue keeps its jobs in another store")
	case source == nil:
		return nil, errors.New("preheat: New: nil Artifacts")
	case s.now == nil:
		return nil, errors.New("preheat: New: WithClock(nil)")
	case s.poll <= 0 || s.timeout <= 0:
		return nil, fmt.Errorf("preheat: New: WithPolling(%v, %v): both must be positive", s.poll, s.timeout)
	}
	for v, f := range s.vendors {
		if v == "" || f == nil {
			return nil, fmt.Errorf("preheat: New: WithProvider(%q, %v): needs a vendor name and a factory", v, f)
		}
	}
	if s.registry != "" {
		if u, err := url.Parse(s.registry); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("preheat: New: WithRegistryURL(%q): not an http(s) URL", s.registry)
		}
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	s.transports()
	return s, nil
}

// vendorNames returns the registered vendors, in name order.
func (s *Service) vendorNames() []string {
	return slices.Sorted(func(yield func(string) bool) {
		for v := range s.vendors {
			if !yield(v) {
				return
			}
		}
	})
}

// stamp is the time records are stamped with: UTC, to the microsecond
// (what every store keeps).
func (s *Service) stamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Page is a window of a listing: Limit items (0: all) after the first
// Offset.
type Page struct {
	// Offset is how many items to skip.
	Offset int
	// Limit caps the items returned (0: no cap).
	Limit int
}

// window returns the part of list that page selects, and len(list).
func window[T any](list []T, page Page) ([]T, int, error) {
	if page.Offset < 0 || page.Limit < 0 {
		return nil, 0, invalid("page", "offset and limit must not be negative")
	}
	start := min(page.Offset, len(list))
	end := len(list)
	if page.Limit > 0 && page.Limit < end-start {
		end = start + page.Limit
	}
	return list[start:end], len(list), nil
}
