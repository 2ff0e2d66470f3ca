package server

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthreg/berth/jobs"
)

// jobBuckets are the job attempts' duration buckets, in seconds: from a
// webhook delivery to a garbage collection or a large replication.
var jobBuckets = []float64{.01, .05, .1, .5, 1, 5, 10, 30, 60, 300, 900, 3600}

// jobMetrics returns the observer that publishes the job runner's
// attempts to reg: by kind and outcome, their durations, and the dead
// letters they left.
func jobMetrics(reg prometheus.Registerer) (func(jobs.Attempt), error) {
	attempts := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "berth_jobs_attempts_total",
		Help: "Job attempts this instance ended, by kind and outcome (succeeded, retried, given_back, dead, lost, expired)."}, []string{"kind", "outcome"})
	took := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "berth_jobs_attempt_duration_seconds",
		Help: "How long job attempts ran, by kind.", Buckets: jobBuckets}, []string{"kind"})
	dead := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "berth_jobs_dead_letters_total",
		Help: "Jobs this instance left dead (dead letters: their last attempt failed, failed for good, or expired), by kind."}, []string{"kind"})
	for _, c := range []prometheus.Collector{attempts, took, dead} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("WithRegisterer: %w", err)
		}
	}
	return func(a jobs.Attempt) {
		attempts.WithLabelValues(a.Kind, string(a.Outcome)).Inc()
		switch a.Outcome {
		case jobs.Dead, jobs.Expired:
			dead.WithLabelValues(a.Kind).Inc()
		}
		if a.Outcome != jobs.Expired {
			took.WithLabelValues(a.Kind).Observe(a.Took.Seconds())
		}
	}, nil
}

// queueStates are the states the queue collector counts jobs in.
var queueStates = []string{"due", "delayed", "running", "dead"}

// queueCollector publishes the job queue's depth and the age of its
// oldest due job by kind, read at most every 15 s (jobs.Queue.Stats). A
// kind seen once stays, at zero, so that its series do not vanish.
type queueCollector struct {
	cache       *scrapeCache[[]jobs.KindStats]
	now         func() time.Time
	queued, age *prometheus.Desc

	mu   sync.Mutex
	seen map[string]bool
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.queued
	ch <- c.age
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	stats, _ := c.cache.get()
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	byKind := map[string]jobs.KindStats{}
	for _, s := range stats {
		byKind[s.Kind] = s
		c.seen[s.Kind] = true
	}
	for kind := range c.seen {
		s := byKind[kind]
		for i, n := range []int{s.Due, s.Delayed, s.Running, s.Dead} {
			ch <- prometheus.MustNewConstMetric(c.queued, prometheus.GaugeValue, float64(n), kind, queueStates[i])
		}
		age := 0.0
		if !s.OldestDue.IsZero() {
			age = max(now.Sub(s.OldestDue).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, age, kind)
	}
}

// queueMetrics registers with reg the collector of q's depth by kind
// and state and its oldest due job's age by kind.
func queueMetrics(reg prometheus.Registerer, q *jobs.Queue, logger *slog.Logger) error {
	if err := reg.Register(newQueueCollector(q, logger)); err != nil {
		return fmt.Errorf("WithRegisterer: %w", err)
	}
	return nil
}

// newQueueCollector is the collector of q's depth and age.
func newQueueCollector(q *jobs.Queue, logger *slog.Logger) *queueCollector {
	return &queueCollector{
		cache: newScrapeCache("the job queue", queueTTL, logger, func(ctx context.Context) ([]jobs.KindStats, error) {
			return q.Stats(ctx, time.Now())
		}),
		now: time.Now,
		queued: prometheus.NewDesc("berth_jobs_queued",
			"Jobs in the queue by kind and state: due (pending and due: the backlog), delayed (pending until a backoff or a set time), running, dead (dead letters kept until pruned or retried); read at most every 15 s.",
			[]string{"kind", "state"}, nil),
		age: prometheus.NewDesc("berth_jobs_oldest_due_age_seconds",
			"How long the longest-waiting due job of each kind has been due (0: none due).", []string{"kind"}, nil),
		seen: map[string]bool{},
	}
}
