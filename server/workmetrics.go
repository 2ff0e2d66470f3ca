package server

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/replication"
	"github.com/berthreg/berth/scan/engine"
	"github.com/berthreg/berth/webhook"
)

// observers publish the background work to the metrics: the job
// runner's attempts, webhook deliveries, replication tasks and scans.
type observers struct {
	jobs        func(jobs.Attempt)
	webhook     func(webhook.Observation)
	replication func(replication.TaskAttempt)
	scan        func(engine.ScanAttempt)
}

// newObservers registers the background work's collectors with reg and
// returns the observers that feed them.
func newObservers(reg prometheus.Registerer) (observers, error) {
	var (
		o   observers
		err error
	)
	if o.jobs, err = jobMetrics(reg); err != nil {
		return o, err
	}
	deliveries := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "berth_webhook_deliveries_total",
		Help: "Webhook delivery requests by target type (http, slack) and result (delivered; failed: no answer, 408, 429 or 5xx, retried; rejected: another status or a refused address, not retried)."},
		[]string{"type", "result"})
	deliveryTook := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "berth_webhook_delivery_duration_seconds",
		Help: "How long webhook delivery requests took, by target type.", Buckets: prometheus.DefBuckets}, []string{"type"})
	tasks := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "berth_replication_task_attempts_total",
		Help: "Replication task attempts by operation (copy, deletion) and outcome (succeeded, retried, interrupted, parked, failed)."},
		[]string{"operation", "outcome"})
	taskTook := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "berth_replication_task_duration_seconds",
		Help: "How long replication task attempts ran, by operation.", Buckets: jobBuckets}, []string{"operation"})
	sent := prometheus.NewCounter(prometheus.CounterOpts{Name: "berth_replication_sent_bytes_total",
		Help: "Bytes replication tasks sent to destination registries."})
	scans := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "berth_scan_attempts_total",
		Help: "Vulnerability scan attempts by result (succeeded, retried, failed, interrupted, gone)."}, []string{"result"})
	scanTook := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "berth_scan_duration_seconds",
		Help: "How long vulnerability scan attempts ran.", Buckets: jobBuckets})
	for _, c := range []prometheus.Collector{deliveries, deliveryTook, tasks, taskTook, sent, scans, scanTook} {
		if err := reg.Register(c); err != nil {
			return o, fmt.Errorf("WithRegisterer: %w", err)
		}
	}
	o.webhook = func(d webhook.Observation) {
		deliveries.WithLabelValues(d.TargetType, d.Result).Inc()
		deliveryTook.WithLabelValues(d.TargetType).Observe(d.Took.Seconds())
	}
	o.replication = func(a replication.TaskAttempt) {
		tasks.WithLabelValues(a.Operation, a.Outcome).Inc()
		taskTook.WithLabelValues(a.Operation).Observe(a.Took.Seconds())
		sent.Add(float64(a.Bytes))
	}
	o.scan = func(a engine.ScanAttempt) {
		scans.WithLabelValues(a.Result).Inc()
		scanTook.Observe(a.Took.Seconds())
	}
	return o, nil
}
