package server

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/quota"
)

// How the collectors that read the store at scrape time bound their
// cost: each reads at most once a ttl (the registry's contents and
// quotas a minute, the job queue every 15 s), one read at a time, for at
// most scrapeReadTimeout; a scrape waits for a read it started up to
// scrapeWait, then answers with the values read before while the read
// finishes for the next scrape.
const (
	inventoryTTL      = time.Minute
	queueTTL          = 15 * time.Second
	scrapeWait        = 2 * time.Second
	scrapeReadTimeout = 2 * time.Minute
)

// scrapeCache holds what a collector last read from the store.
type scrapeCache[T any] struct {
	what   string // named in the log when a read fails
	read   func(context.Context) (T, error)
	ttl    time.Duration
	wait   time.Duration
	now    func() time.Time
	logger *slog.Logger

	mu      sync.Mutex
	val     T
	have    bool
	readAt  time.Time     // when the last read started
	running chan struct{} // closed when the read in progress ends; nil: none
}

// newScrapeCache is the cache of read, read at most once a ttl.
func newScrapeCache[T any](what string, ttl time.Duration, logger *slog.Logger, read func(context.Context) (T, error)) *scrapeCache[T] {
	return &scrapeCache[T]{what: what, read: read, ttl: ttl, wait: scrapeWait, now: time.Now, logger: logger}
}

// get returns the last values read (have is false before the first read
// succeeds), reading them again first when they are older than the ttl
// (and no read is running) and that read ends within the wait.
func (c *scrapeCache[T]) get() (val T, have bool) {
	c.mu.Lock()
	if c.running == nil && (c.readAt.IsZero() || c.now().Sub(c.readAt) >= c.ttl) {
		c.readAt = c.now()
		c.running = make(chan struct{})
		go c.refresh(c.running)
	}
	running := c.running
	c.mu.Unlock()
	if running != nil {
		t := time.NewTimer(c.wait)
		select {
		case <-running:
		case <-t.C:
		}
		t.Stop()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.val, c.have
}

// refresh reads the values and closes done.
func (c *scrapeCache[T]) refresh(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeReadTimeout)
	defer cancel()
	v, err := c.read(ctx)
	c.mu.Lock()
	if err == nil {
		c.val, c.have = v, true
	}
	c.running = nil
	c.mu.Unlock()
	close(done)
	if err != nil {
		c.logger.Warn("metrics: reading "+c.what+" failed; the last values are served", "err", err)
	}
}

// inventory is what the registry holds.
type inventory struct {
	repositories, manifests int
}

// inventoryPage is how many repositories one transaction of a count
// reads (with their manifests).
const inventoryPage = 256

// countInventory counts the repositories and manifests of store, a page
// of repositories per read-only transaction.
func countInventory(ctx context.Context, store meta.Store) (inventory, error) {
	var inv inventory
	after := ""
	for {
		var repos []string
		err := store.View(ctx, func(tx meta.Tx) error {
			var err error
			if repos, err = tx.Repositories().List(after, inventoryPage); err != nil {
				return err
			}
			for _, repo := range repos {
				n, err := countManifests(tx, repo)
				if err != nil {
					return err
				}
				inv.manifests += n
			}
			return nil
		})
		if err != nil {
			return inventory{}, err
		}
		inv.repositories += len(repos)
		if len(repos) < inventoryPage {
			return inv, nil
		}
		after = repos[len(repos)-1]
	}
}

// countManifests counts the manifests of repo.
func countManifests(tx meta.Tx, repo string) (int, error) {
	n := 0
	var after digest.Digest
	for {
		page, err := tx.Manifests().List(repo, after, 1024)
		if err != nil {
			return n, err
		}
		n += len(page)
		if len(page) < 1024 {
			return n, nil
		}
		after = page[len(page)-1]
	}
}

// inventoryCollector publishes the registry's repositories and
// manifests, counted at most once a minute.
type inventoryCollector struct {
	cache                   *scrapeCache[inventory]
	repositories, manifests *prometheus.Desc
}

func (c *inventoryCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.repositories
	ch <- c.manifests
}

func (c *inventoryCollector) Collect(ch chan<- prometheus.Metric) {
	inv, ok := c.cache.get()
	if !ok {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.repositories, prometheus.GaugeValue, float64(inv.repositories))
	ch <- prometheus.MustNewConstMetric(c.manifests, prometheus.GaugeValue, float64(inv.manifests))
}

// quotaCollector publishes every project's storage usage and limit,
// read at most once a minute.
type quotaCollector struct {
	cache       *scrapeCache[[]quota.Quota]
	used, limit *prometheus.Desc
}

func (c *quotaCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.used
	ch <- c.limit
}

func (c *quotaCollector) Collect(ch chan<- prometheus.Metric) {
	qs, _ := c.cache.get()
	for _, q := range qs {
		ch <- prometheus.MustNewConstMetric(c.used, prometheus.GaugeValue, float64(q.Used), q.Project)
		if q.Limit != quota.Unlimited {
			ch <- prometheus.MustNewConstMetric(c.limit, prometheus.GaugeValue, float64(q.Limit), q.Project)
		}
	}
}

// inventoryMetrics registers with reg the collectors of what store
// holds: its repositories and manifests and, when quotas is not nil,
// every project's usage and limit.
func inventoryMetrics(reg prometheus.Registerer, store meta.Store, quotas *quota.Service, logger *slog.Logger) error {
	cs := []prometheus.Collector{&inventoryCollector{
		cache: newScrapeCache("the repositories and manifests", inventoryTTL, logger, func(ctx context.Context) (inventory, error) {
			return countInventory(ctx, store)
		}),
		repositories: prometheus.NewDesc("berth_registry_repositories", "Repositories in the registry (counted at most once a minute).", nil, nil),
		manifests: prometheus.NewDesc("berth_registry_manifests",
			"Manifests in the registry: images, indexes and the manifests they list, signatures and other referrers, each counted once per repository (at most once a minute).", nil, nil),
	}}
	if quotas != nil {
		cs = append(cs, &quotaCollector{
			cache: newScrapeCache("the quotas", inventoryTTL, logger, quotas.All),
			used: prometheus.NewDesc("berth_quota_used_bytes",
				"Storage each project uses, as its quota counts it (read at most once a minute).", []string{"project"}, nil),
			limit: prometheus.NewDesc("berth_quota_limit_bytes",
				"Storage limit of each project that has one (read at most once a minute).", []string{"project"}, nil),
		})
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("WithRegisterer: %w", err)
		}
	}
	return nil
}
