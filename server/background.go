package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/berthreg/berth/label"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/gc"
	"github.com/berthreg/berth/generation"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/netguard"
	"github.com/berthreg/berth/proxy"
	"github.com/berthreg/berth/registry/inproc"
	"github.com/berthreg/berth/replication"
	"github.com/berthreg/berth/scan/engine"
	"github.com/berthreg/berth/storage"
	"github.com/berthreg/berth/webhook"
)

// Scheduled maintenance: the audit log purge and the delivery log prune,
// which keeps deliveries as long as the job queue keeps finished jobs.
const (
	auditPurgeJob     = "audit.purge"
	deliveryPruneJob  = "webhook.prune"
	deliveryRetention = 7 * 24 * time.Hour
	syslogConsumer    = "audit-syslog"
)

// replicationPrincipal is who the replication engine acts as on this
// registry (an administrator: policies are managed by administrators).
var replicationPrincipal = auth.Principal{Name: "replication", Kind: auth.User, Admin: true}

// background is the server's work besides answering requests: recording
// events, consuming them, running jobs.
type background struct {
	store    meta.Store
	logger   *slog.Logger
	lease    time.Duration // events.jobLease: jobs' and Func consumers' leases
	bell     *events.Bell  // rings when events are appended
	recorder *events.Recorder
	pulls    bool // the recorder samples pulls: run its batcher
	runner   *jobs.Runner
	queue    *jobs.Queue
	outbound *netguard.Guard
	// schedules are the stored schedules of system jobs (collection,
	// scan-all), changed through the admin API.
	schedules *jobs.Schedules
	// consumers read the event log, each with its cursor.
	consumers []*events.Consumer
	// watcher reloads what this instance holds in memory (the policy,
	// the stored schedules) when another instance sharing the store
	// changed it (metadata.refresh).
	watcher *generation.Watcher
	// tasks run beside the others until the server stops (the pull
	// times' writer).
	tasks []func(context.Context) error
	// observe publishes the work to the metrics.
	observe observers
}

// newWatcher is the watcher of the generation counters of store, which
// reloads what the server holds in memory when another instance changes
// it (metadata.refresh).
func newWatcher(cfg Config, store meta.Store, logger *slog.Logger) (*generation.Watcher, error) {
	w, err := generation.NewWatcher(store, generation.WithInterval(cfg.Metadata.Refresh),
		generation.WithResync(resyncEvery), generation.WithLogger(logger))
	if err != nil {
		return nil, fmt.Errorf("config: metadata.refresh: %w", err)
	}
	return w, nil
}

// resyncEvery is how often the watcher reloads everything whether a
// change counter moved or not: the bound for changes made without a bump
// (an older version of the server during a rolling upgrade, a host
// writing the records itself).
const resyncEvery = time.Minute

// newBackground builds the event recorder and the job runner over store
// with the jobs that need neither the registry handler nor the accounts:
// webhook deliveries, garbage collection of driver (publishing its
// progress to metrics), the delivery log prune and the audit log purge.
func newBackground(ctx context.Context, cfg Config, store meta.Store, watcher *generation.Watcher, driver storage.Driver, metrics prometheus.Registerer, traces tracing, logger *slog.Logger) (*background, error) {
	ec := cfg.Events
	outbound, err := cfg.Outbound.guard()
	if err != nil {
		return nil, err
	}
	if traces.on() {
		// Webhook deliveries, replication, scanner adapters and the
		// proxy caches' upstreams get the caller's trace context.
		outbound = outbound.With(netguard.WithRoundTripper(traces.transport))
	}
	b := &background{store: store, watcher: watcher, logger: logger, lease: ec.JobLease, bell: &events.Bell{}, outbound: outbound}
	if b.observe, err = newObservers(metrics); err != nil {
		return nil, err
	}
	if b.recorder, err = events.NewRecorder(store, events.WithRecorderBell(b.bell),
		events.WithPullSample(ec.PullSample), events.WithRecorderLogger(logger)); err != nil {
		return nil, fmt.Errorf("config: events.pullSample: %w", err)
	}
	b.pulls = ec.PullSample > 0
	runnerOpts := []jobs.RunnerOption{jobs.WithLogger(logger), jobs.WithLease(ec.JobLease), jobs.WithObserver(b.observe.jobs)}
	if traces.on() {
		runnerOpts = append(runnerOpts, jobs.WithAttemptHook(traces.jobHook()))
	}
	if b.runner, err = jobs.NewRunner(store, runnerOpts...); err != nil {
		return nil, err
	}
	deliverer, err := webhook.NewDeliverer(store, cfg.webhookHost(), webhook.WithGuard(outbound), webhook.WithObserver(b.observe.webhook))
	if err != nil {
		return nil, err
	}
	b.runner.Handle(webhook.JobKind, deliverer, jobs.KindOptions{
		Limit: ec.WebhookConcurrency, MaxAttempts: ec.WebhookMaxAttempts, Backoff: ec.WebhookBackoff, MaxBackoff: ec.WebhookMaxBackoff,
	})
	if b.queue, err = jobs.NewQueue(store, jobs.WithNotify(b.runner.Wake)); err != nil {
		return nil, err
	}
	if err := queueMetrics(metrics, b.queue, logger); err != nil {
		return nil, err
	}
	observe, err := gcMetrics(metrics)
	if err != nil {
		return nil, err
	}
	gcJob, err := gc.NewJob(store, driver, gc.WithObserve(observe))
	if err != nil {
		return nil, err
	}
	b.runner.Handle(gc.JobKind, gcJob, jobs.KindOptions{Limit: 1, MaxAttempts: 3})
	if b.schedules, err = jobs.NewSchedules(store, []jobs.ScheduledJob{gc.ScheduledJob(), engine.ScanAllJob()}, jobs.WithScheduler(b.runner)); err != nil {
		return nil, err
	}
	if err := b.watcher.Watch(jobs.SchedulesGeneration, b.schedules.ApplyStored); err != nil {
		return nil, err
	}
	// The delivery log follows the job queue's retention of finished jobs.
	b.runner.Handle(deliveryPruneJob, jobs.HandlerFunc(func(ctx context.Context, _ meta.Job) error {
		_, err := webhook.PruneDeliveries(ctx, store, time.Now().Add(-deliveryRetention))
		return err
	}), jobs.KindOptions{Limit: 1, MaxAttempts: 3})
	if err := b.runner.Schedule("delivery-prune", "0 45 3 * * *", jobs.Spec{Kind: deliveryPruneJob}); err != nil {
		return nil, err
	}
	if ec.AuditRetention > 0 {
		keep := ec.AuditRetention
		b.runner.Handle(auditPurgeJob, jobs.HandlerFunc(func(ctx context.Context, _ meta.Job) error {
			n, err := events.Purge(ctx, store, time.Now().Add(-keep))
			if err == nil && n > 0 {
				logger.Info("audit log purged", "events", n, "older than", keep)
			}
			return err
		}), jobs.KindOptions{Limit: 1, MaxAttempts: 3})
		if err := b.runner.Schedule("audit-purge", ec.AuditPurgeSchedule, jobs.Spec{Kind: auditPurgeJob}); err != nil {
			return nil, fmt.Errorf("config: events.auditPurgeSchedule: %w", err)
		}
	}
	return b, nil
}

// consumerOptions are the options of every consumer the server runs:
// its bell, its logger, and events.jobLease as a Func consumer's lease
// (one knob for the leases of jobs and consumers).
func (b *background) consumerOptions() []events.ConsumerOption {
	return []events.ConsumerOption{events.WithBell(b.bell), events.WithLogger(b.logger), events.WithLease(b.lease)}
}

// consume adds a consumer of the event log that enqueues jobs in tx.
func (b *background) consume(name string, tx events.TxFunc) error {
	c, err := events.NewConsumer(b.store, name, tx, append(b.consumerOptions(), events.WithFrom(events.FromNow),
		events.WithDone(func([]meta.Event) { b.runner.Wake() }))...)
	if err != nil {
		return err
	}
	b.consumers = append(b.consumers, c)
	return nil
}

// addReplication builds the replication engine, which reaches this
// registry through local, registers its jobs and schedules and consumes
// the events of event-based policies; it returns the service the admin
// API manages replication through.
func (b *background) addReplication(ctx context.Context, cfg Config, local http.Handler) (*replication.Service, error) {
	e, err := replication.NewEngine(b.store, b.queue, replication.WithScheduler(b.runner), replication.WithLogger(b.logger),
		replication.WithAttachedLabels(label.Names),
		replication.WithTaskAttempts(cfg.Replication.TaskAttempts), replication.WithOutboundGuard(b.outbound), replication.WithObserver(b.observe.replication),
		replication.WithLocalTransport(inproc.New(local, inproc.WithContext(func(ctx context.Context) context.Context {
			return auth.WithPrincipal(ctx, replicationPrincipal)
		}))))
	if err != nil {
		return nil, err
	}
	e.Register(b.runner, jobs.KindOptions{Limit: cfg.Replication.Concurrency,
		Backoff: cfg.Replication.Backoff, MaxBackoff: cfg.Replication.MaxBackoff})
	if err := replication.ScheduleAll(ctx, b.store, b.runner); err != nil {
		return nil, fmt.Errorf("replication: %w", err)
	}
	if err := b.watcher.Watch(replication.PoliciesGeneration, func(ctx context.Context) error {
		return replication.ScheduleAll(ctx, b.store, b.runner)
	}); err != nil {
		return nil, err
	}
	if err := b.consume(replication.ConsumerName, e.Consume); err != nil {
		return nil, err
	}
	return replication.NewService(b.store, e, replication.WithRegistryUsers(proxy.UsesRegistry))
}

// addConsumers adds the webhook dispatcher, the syslog forwarder when
// events.syslog is set, and the host's consumers.
func (b *background) addConsumers(cfg Config, extra []Consumer) error {
	dispatcher, err := webhook.Dispatcher(b.store, b.bell, b.runner.Wake, b.consumerOptions()...)
	if err != nil {
		return err
	}
	b.consumers = append(b.consumers, dispatcher)
	if cfg.Events.Syslog != "" {
		fwd, err := syslogForwarder(b.store, cfg.Events.Syslog, b.consumerOptions()...)
		if err != nil {
			return err
		}
		b.consumers = append(b.consumers, fwd)
	}
	for i, c := range extra {
		if c.Name == "" || c.Handler == nil {
			return fmt.Errorf("WithConsumers: consumer %d (%q) needs a Name and a Handler (an events.Func or events.TxFunc)", i, c.Name)
		}
		for _, have := range b.consumers {
			if have.Name() == c.Name {
				return fmt.Errorf("WithConsumers: consumer name %q is taken", c.Name)
			}
		}
		ec, err := events.NewConsumer(b.store, c.Name, c.Handler, append(b.consumerOptions(), c.Options...)...)
		if err != nil {
			return fmt.Errorf("WithConsumers: consumer %d (%q): %w", i, c.Name, err)
		}
		b.consumers = append(b.consumers, ec)
	}
	return nil
}

// init creates the consumers' cursors, so that each sees every event
// appended from now on.
func (b *background) init(ctx context.Context) error {
	for _, c := range b.consumers {
		if err := c.Init(ctx); err != nil {
			return fmt.Errorf("events: consumer %s: %w", c.Name(), err)
		}
	}
	return nil
}

// run runs the recorder, the job runner, the consumers and the watcher
// until ctx is done; it returns their failures other than ctx's end.
func (b *background) run(ctx context.Context) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	do := func(f func(context.Context) error) {
		wg.Go(func() {
			if err := f(ctx); err != nil && ctx.Err() == nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	if b.pulls {
		do(b.recorder.Run)
	}
	do(b.runner.Run)
	for _, c := range b.consumers {
		do(c.Run)
	}
	do(b.watcher.Run)
	for _, f := range b.tasks {
		do(f)
	}
	wg.Wait()
	return errors.Join(errs...)
}
