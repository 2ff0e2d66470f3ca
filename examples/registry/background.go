package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/gc"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry"
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
)

// background is the server's work besides answering requests: recording
// events, dispatching them to webhooks, running jobs.
type background struct {
	// hooks record the registry's changes in the event log.
	hooks registry.Hooks
	// queue is the job queue, for the admin API.
	queue *jobs.Queue
	// bell rings when events are appended.
	bell *events.Bell

	// replication runs replication policies; its LocalTransport reaches
	// local, the registry handler once it is built.
	replication *replication.Engine
	local       lateHandler
	// scanning scans images and gates pulls.
	scanning *scanning

	// schedules are the stored schedules of system jobs (collection,
	// scan-all), applied to runner at start and changed through the API.
	schedules *jobs.Schedules

	recorder  *events.Recorder
	runner    *jobs.Runner
	consumers []*events.Consumer
}

// setupBackground builds the background work over store and driver (nil:
// no garbage collection), publishing metrics to metrics; the event log consumers' cursors exist and the
// stored collection schedule is set when it returns.
func setupBackground(ctx context.Context, cfg Config, store meta.Store, driver storage.Driver, metrics prometheus.Registerer, logger *slog.Logger) (*background, error) {
	ec := cfg.Events
	bell := &events.Bell{}
	b := &background{bell: bell}
	b.recorder = &events.Recorder{Store: store, Bell: bell, PullSample: ec.PullSample, Logger: logger}
	b.hooks = b.recorder.Hooks()
	b.runner = &jobs.Runner{Store: store, Logger: logger, Lease: ec.JobLease}
	host := ec.ExternalHost
	if host == "" {
		host = cfg.Addr
	}
	outbound, err := cfg.Outbound.guard()
	if err != nil {
		return nil, err
	}
	b.runner.Handle(webhook.JobKind, &webhook.Deliverer{Store: store, Host: host, Guard: outbound}, jobs.KindOptions{
		Limit: ec.WebhookConcurrency, MaxAttempts: ec.WebhookMaxAttempts, Backoff: ec.WebhookBackoff, MaxBackoff: ec.WebhookMaxBackoff,
	})
	b.queue = &jobs.Queue{Store: store, Notify: b.runner.Wake}
	scheduled := []jobs.ScheduledJob{engine.ScanAllJob()}
	if driver != nil {
		b.runner.Handle(gc.JobKind, &gc.Job{Store: store, Driver: driver, Observe: gcMetrics(metrics)}, jobs.KindOptions{Limit: 1, MaxAttempts: 3})
		scheduled = append(scheduled, gc.ScheduledJob())
	}
	if b.schedules, err = jobs.NewSchedules(store, scheduled, jobs.WithScheduler(b.runner)); err != nil {
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
	b.replication = &replication.Engine{Store: store, Queue: b.queue, Scheduler: b.runner, Logger: logger,
		TaskAttempts: cfg.Replication.TaskAttempts, Guard: outbound,
		LocalTransport: replication.HandlerTransport(&b.local, func(ctx context.Context) context.Context {
			return auth.WithPrincipal(ctx, replicationPrincipal)
		})}
	b.replication.Register(b.runner, jobs.KindOptions{Limit: cfg.Replication.Concurrency,
		Backoff: cfg.Replication.Backoff, MaxBackoff: cfg.Replication.MaxBackoff})
	if err := replication.ScheduleAll(ctx, store, b.runner); err != nil {
		return nil, fmt.Errorf("replication: %w", err)
	}
	b.consumers = append(b.consumers, &events.Consumer{Store: store, Name: replication.ConsumerName, From: events.FromNow,
		Tx: b.replication.Consume, Bell: bell, Logger: logger, Done: func([]meta.Event) { b.runner.Wake() }})
	if b.scanning, err = setupScanning(ctx, cfg, store, b.queue, b.runner, &b.local, outbound, logger); err != nil {
		return nil, err
	}
	b.hooks = registry.Chain(b.hooks, b.scanning.gate.Hooks())
	// The schedules set through the admin API, as stored.
	if err := b.schedules.ApplyStored(ctx); err != nil {
		return nil, err
	}
	b.consumers = append(b.consumers, &events.Consumer{Store: store, Name: engine.ConsumerName, From: events.FromNow,
		Tx: b.scanning.engine.Consume, Bell: bell, Logger: logger, Done: func([]meta.Event) { b.runner.Wake() }})
	dispatcher := webhook.Dispatcher(store, bell, b.runner.Wake)
	dispatcher.Logger = logger
	b.consumers = append(b.consumers, dispatcher)
	if ec.Syslog != "" {
		fwd, err := syslogForwarder(store, bell, ec.Syslog, logger)
		if err != nil {
			return nil, err
		}
		b.consumers = append(b.consumers, fwd)
	}
	for _, c := range b.consumers {
		if err := c.Init(ctx); err != nil {
			return nil, fmt.Errorf("events: consumer %s: %w", c.Name, err)
		}
	}
	return b, nil
}

// replicationPrincipal is who the replication engine acts as on this
// registry (an administrator: policies are managed by administrators).
var replicationPrincipal = auth.Principal{Name: "replication", Kind: auth.User, Admin: true}

// lateHandler serves with a handler set after it is handed out (the
// registry handler, built after the background work it hooks into).
type lateHandler struct{ h http.Handler }

func (l *lateHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if l.h == nil {
		http.Error(w, "registry not ready", http.StatusServiceUnavailable)
		return
	}
	l.h.ServeHTTP(w, r)
}

// start runs the background work until ctx is done; the returned function
// waits for it to stop.
func (b *background) start(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	if b.recorder.PullSample > 0 {
		wg.Go(func() { _ = b.recorder.Run(ctx) })
	}
	wg.Go(func() { _ = b.runner.Run(ctx) })
	for _, c := range b.consumers {
		wg.Go(func() { _ = c.Run(ctx) })
	}
	return func() {
		wg.Wait()
		b.scanning.close()
	}
}
