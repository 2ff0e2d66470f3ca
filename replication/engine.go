package replication

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/netguard"
	"github.com/berthreg/berth/registry/inproc"
)

// Job kinds and the event consumer's name.
const (
	// RunKind jobs plan an execution: they list what its policy selects
	// and create one task per artifact.
	RunKind = "replication.run"
	// TaskKind jobs copy or delete one artifact.
	TaskKind = "replication.task"
	// ConsumerName is the event-based trigger's cursor in the event log.
	ConsumerName = "replication"
)

// Engine runs replication policies stored in the metadata store as jobs:
// executions (planned by a RunKind job) made of tasks (one TaskKind job
// each). Make one with NewEngine, register it with a jobs.Runner; feed
// Consume to an events Consumer for event-based policies; WithScheduler
// keeps cron policies on the runner's scheduler.
type Engine struct {
	store       meta.Store
	queue       *jobs.Queue
	local       http.RoundTripper
	attempts    int
	blobRetries int
	scheduler   *jobs.Runner
	logger      *slog.Logger
	guard       *netguard.Guard
	observe     func(TaskAttempt)
	labels      func(tx meta.Tx, repo string, d digest.Digest) ([]string, error)

	mounts Mounts
	park   time.Duration
}

// EngineOption configures an Engine made by NewEngine.
type EngineOption func(*Engine)

// WithLocalTransport sets how the engine reaches this registry under the
// host name inproc.Host: an inproc.New transport over its handler
// (default: none; policies naming the local registry fail).
func WithLocalTransport(rt http.RoundTripper) EngineOption {
	return func(e *Engine) { e.local = rt }
}

// WithTaskAttempts sets a task's default number of attempts (default 10).
func WithTaskAttempts(n int) EngineOption { return func(e *Engine) { e.attempts = n } }

// WithBlobRetries sets the default retries of one request within an
// attempt (default 3; negative: none).
func WithBlobRetries(n int) EngineOption { return func(e *Engine) { e.blobRetries = n } }

// WithScheduler sets the runner whose scheduler fires scheduled policies
// (Saved and Deleted keep it in step; default: none).
func WithScheduler(r *jobs.Runner) EngineOption { return func(e *Engine) { e.scheduler = r } }

// WithLogger sets the logger that receives failures (default: none).
func WithLogger(l *slog.Logger) EngineOption { return func(e *Engine) { e.logger = l } }

// WithOutboundGuard sets which addresses registry endpoints may reach
// (default: every global address, nothing internal); the local
// transport's requests to this registry make no connection and are not
// checked.
func WithOutboundGuard(g *netguard.Guard) EngineOption { return func(e *Engine) { e.guard = g } }

// WithAttachedLabels lets the label filters of policies whose source is
// this registry match the labels attached to its artifacts: names
// returns, in a transaction of the engine's store, the names of those
// attached to manifest d of repository repo (label.Names does).
func WithAttachedLabels(names func(tx meta.Tx, repo string, d digest.Digest) ([]string, error)) EngineOption {
	return func(e *Engine) { e.labels = names }
}

// TaskAttempt is one attempt at a task, as an observer sees it.
type TaskAttempt struct {
	// Operation is the task's: "copy" or "deletion".
	Operation string
	// Outcome is what became of the task: "succeeded", "retried" (the
	// attempt failed; the queue runs it again), "interrupted" (the
	// runner is stopping), "parked" (the registry could not be reached
	// on the last attempt; the task waits for it) or "failed" (for good).
	Outcome string
	// Bytes counts what the attempt sent to the destination.
	Bytes int64
	// Took is how long the copy or deletion ran.
	Took time.Duration
}

// WithObserver makes the engine report every attempt at a task to f
// once it is recorded (how a host exports replication as metrics).
// Attempts of stopped or superseded tasks, which run nothing, are not
// reported. f must be quick and must not block.
func WithObserver(f func(TaskAttempt)) EngineOption { return func(e *Engine) { e.observe = f } }

// NewEngine returns the engine over store (policies, endpoints,
// executions and tasks) enqueueing its jobs on queue, which must keep
// them in the same store.
func NewEngine(store meta.Store, queue *jobs.Queue, opts ...EngineOption) (*Engine, error) {
	e := &Engine{store: store, queue: queue}
	for _, o := range opts {
		o(e)
	}
	switch {
	case store == nil:
		return nil, errors.New("replication: NewEngine: nil store")
	case queue == nil:
		return nil, errors.New("replication: NewEngine: nil queue")
	case queue.Store() != store:
		return nil, errors.New("replication: NewEngine: the queue keeps its jobs in another store")
	case e.attempts < 0:
		return nil, fmt.Errorf("replication: NewEngine: WithTaskAttempts(%d): negative", e.attempts)
	}
	if e.logger == nil {
		e.logger = slog.New(slog.DiscardHandler)
	}
	return e, nil
}

// parkDelay is how long a task waits for an unreachable registry between
// tries: the task kind's MaxBackoff.
func (e *Engine) parkDelay() time.Duration {
	if e.park > 0 {
		return e.park
	}
	return time.Minute
}

func (e *Engine) log() *slog.Logger { return e.logger }

// Register makes r run the engine's jobs with task's options for tasks
// (Limit caps tasks across runners; MaxBackoff is also how long a task
// waits between tries of an unreachable registry once its attempts are
// used up).
func (e *Engine) Register(r *jobs.Runner, task jobs.KindOptions) {
	r.Handle(RunKind, jobs.HandlerFunc(e.plan), jobs.KindOptions{MaxAttempts: 5, Backoff: task.Backoff, MaxBackoff: task.MaxBackoff})
	r.Handle(TaskKind, jobs.HandlerFunc(e.task), task)
	e.park = task.MaxBackoff
}

// resolve turns a stored policy into a runnable Policy with the given
// bandwidth wrapper and byte counter on its destination.
func (e *Engine) resolve(tx meta.Tx, rec PolicyRecord, count *int64) (Policy, error) {
	p := Policy{
		Filter: Filter{Repositories: rec.Repositories, ExcludeRepositories: rec.ExcludeRepositories,
			Tags: rec.Tags, ExcludeTags: rec.ExcludeTags, Labels: rec.Labels, ArtifactTypes: rec.ArtifactTypes},
		Namespace: rec.Namespace, Flatten: rec.Flatten, Override: rec.Override, Mounts: &e.mounts,
	}
	retries := rec.BlobRetries
	if retries <= 0 {
		retries = e.blobRetries
	}
	switch {
	case retries < 0:
		retries = 0
	case retries == 0:
		retries = 3
	}
	// The speed limit applies on the remote side (the destination in push
	// mode, the source in pull mode), so each byte counts once.
	wrap := func(remoteSide, counted bool) func(http.RoundTripper) http.RoundTripper {
		return func(rt http.RoundTripper) http.RoundTripper {
			if remoteSide && rec.Speed > 0 {
				rt = Limit(rt, rec.Speed<<10)
			}
			if counted && count != nil {
				rt = &counter{rt: rt, n: count}
			}
			return rt
		}
	}
	side := func(name string, counted bool) (string, Endpoint, error) {
		var r Remote
		if name == "" {
			if e.local == nil {
				return "", Endpoint{}, fmt.Errorf("%w: this registry is not reachable (no WithLocalTransport)", ErrPolicy)
			}
			r = Remote{Host: inproc.Host, Insecure: true, Transport: e.local, Auth: authn.Anonymous}
		} else {
			ep, err := Registries.In(tx).Get(name)
			if err != nil {
				return "", Endpoint{}, fmt.Errorf("%w: registry %q: %w", ErrPolicy, name, err)
			}
			if r, err = RemoteOf(ep, WithGuard(e.guard)); err != nil {
				return "", Endpoint{}, fmt.Errorf("%w: registry %q: %w", ErrPolicy, name, err)
			}
		}
		ep := r.With(wrap(name != "", counted))
		ep.Options = append(ep.Options, remote.WithRetryBackoff(remote.Backoff{Duration: time.Second, Factor: 2, Jitter: 0.1, Steps: retries + 1}),
			remote.WithRetryStatusCodes(http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
				http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout))
		return r.Host, ep, nil
	}
	var err error
	if p.Source, p.SourceEndpoint, err = side(rec.Source, false); err != nil {
		return p, err
	}
	if rec.Source == "" && e.labels != nil {
		p.AttachedLabels = e.attachedLabels
	}
	p.Destination, p.DestinationEndpoint, err = side(rec.Destination, true)
	return p, err
}

// ErrPolicy reports a policy that cannot run as it stands.
var ErrPolicy = errors.New("replication: policy")

// attachedLabels reads the names of the labels attached to manifest d of
// repo of this registry (WithAttachedLabels).
func (e *Engine) attachedLabels(ctx context.Context, repo string, d digest.Digest) ([]string, error) {
	var names []string
	err := e.store.View(ctx, func(tx meta.Tx) error {
		var err error
		names, err = e.labels(tx, repo, d)
		return err
	})
	return names, err
}
