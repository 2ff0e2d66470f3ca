package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/berthreg/berth/bench/internal/stats"
	"github.com/opencontainers/go-digest"
)

// bench carries what scenarios share.
type bench struct {
	cfg    config
	c      *client
	prefix string // repository name prefix unique to this run

	// The watched processes (nil when not asked for) and the database
	// monitor (nil without -db-dsn).
	server, db, lb, store *procGroup
	mon                   *dbMonitor

	// large is the blob push-mono left behind, reused by pull.
	large     *largeBlob
	largeRepo string
	// tagsRepo is the repository tags-list filled, reused by tags-page.
	tagsRepo string
}

// scenario collects one scenario's results.
type scenario struct {
	ctx  context.Context
	b    *bench
	res  *ScenarioResult
	errs *errorLog
}

const (
	higher = "higher"
	lower  = "lower"
)

func (s *scenario) metric(name, label string, value float64, unit, better string) {
	s.res.Metrics = append(s.res.Metrics, Metric{Name: name, Label: label, Value: value, Unit: unit, Better: better})
}

func (s *scenario) detail(key string, v any) {
	if s.res.Details == nil {
		s.res.Details = map[string]any{}
	}
	s.res.Details[key] = v
}

func (b *bench) runScenario(ctx context.Context, name string) ScenarioResult {
	res := ScenarioResult{Name: name}
	s := &scenario{ctx: ctx, b: b, res: &res, errs: &errorLog{}}
	if b.server != nil {
		b.server.beginScenario()
	}
	r0 := b.readCPU()
	t0 := time.Now()
	switch name {
	case "idle":
		b.idle(ctx, s)
	case "push-mono":
		b.pushMono(ctx, s)
	case "push-chunked":
		b.pushChunked(ctx, s)
	case "pull":
		b.pull(ctx, s)
	case "small-push":
		b.smallPush(ctx, s)
	case "manifest-push":
		b.manifestPush(ctx, s)
	case "manifest-get":
		b.manifestGet(ctx, s)
	case "push-contended":
		b.pushContended(ctx, s)
	case "tags-list":
		b.tagsList(ctx, s)
	case "tags-page":
		b.tagsPage(ctx, s)
	case "catalog":
		b.catalog(ctx, s)
	default:
		s.errs.add(fmt.Errorf("unknown scenario %q", name))
	}
	res.Seconds = time.Since(t0).Seconds()
	r1 := b.readCPU()
	d := since(r0, r1)
	res.ServerCPUSeconds, res.DBCPUSeconds, res.LBCPUSeconds, res.StoreCPUSeconds = d.server, d.db, d.lb, d.store
	for _, g := range []struct {
		p      *procGroup
		before float64
		after  float64
	}{{b.server, r0.server, r1.server}, {b.db, r0.db, r1.db}, {b.lb, r0.lb, r1.lb}, {b.store, r0.store, r1.store}} {
		if g.p != nil && (g.before < 0 || g.after < 0) {
			s.errs.add(fmt.Errorf("%s %v: a process vanished", g.p.name, g.p.pids))
		}
	}
	if b.server != nil {
		res.ServerPeakRSSBytes = b.server.endScenario()
	}
	if res.DB != nil {
		trimDB(res.DB)
	}
	res.Errors = s.errs.n.Load()
	res.ErrorSamples = s.errs.samples
	return res
}

// mbps is decimal megabytes per second.
func mbps(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / 1e6 / d.Seconds()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (b *bench) pushMono(ctx context.Context, s *scenario) {
	blob, err := newLargeBlob(b.cfg.seed^0x1, b.cfg.blobSize)
	if err != nil {
		s.errs.add(err)
		return
	}
	repo := b.prefix + "/large"
	lctx, cancel := context.WithTimeout(ctx, largeTimeout)
	defer cancel()
	el := s.timed(func() {
		err = b.c.pushMonolithic(lctx, repo, blob.digest, blob.reader(0, blob.size), blob.size)
	})
	if err != nil {
		s.errs.add(fmt.Errorf("monolithic push: %w", err))
		return
	}
	b.large, b.largeRepo = blob, repo
	s.metric("blob_push_monolithic", fmt.Sprintf("blob push %s, POST+PUT", sizeLabel(blob.size)), mbps(blob.size, el), "MB/s", higher)
	s.res.Requests += 2
	s.cpuPer("blob_push_monolithic_cpu", "per GiB, monolithic push", float64(blob.size)/(1<<30), 1, "s/GiB")
	s.detail("seconds", el.Seconds())
	s.detail("digest", blob.digest.String())
}

func (b *bench) pushChunked(ctx context.Context, s *scenario) {
	blob, err := newLargeBlob(b.cfg.seed^0x2, b.cfg.blobSize)
	if err != nil {
		s.errs.add(err)
		return
	}
	lctx, cancel := context.WithTimeout(ctx, largeTimeout)
	defer cancel()
	var chunks int
	el := s.timed(func() {
		chunks, err = b.c.pushChunked(lctx, b.prefix+"/chunked", blob.digest, blob.size, b.cfg.chunkSize, blob.reader)
	})
	if err != nil {
		s.errs.add(fmt.Errorf("chunked push: %w", err))
		return
	}
	s.metric("blob_push_chunked", fmt.Sprintf("blob push %s, %s PATCH chunks", sizeLabel(blob.size), sizeLabel(b.cfg.chunkSize)),
		mbps(blob.size, el), "MB/s", higher)
	s.res.Requests += int64(chunks) + 2
	s.cpuPer("blob_push_chunked_cpu", "per GiB, chunked push", float64(blob.size)/(1<<30), 1, "s/GiB")
	s.detail("seconds", el.Seconds())
	s.detail("chunks", chunks)
}

func (b *bench) pull(ctx context.Context, s *scenario) {
	lctx, cancel := context.WithTimeout(ctx, largeTimeout)
	defer cancel()
	blob, repo := b.large, b.largeRepo
	if blob == nil { // push-mono did not run: push the blob untimed
		var err error
		if blob, err = newLargeBlob(b.cfg.seed^0x3, b.cfg.blobSize); err != nil {
			s.errs.add(err)
			return
		}
		repo = b.prefix + "/pull"
		if err := b.c.pushMonolithic(lctx, repo, blob.digest, blob.reader(0, blob.size), blob.size); err != nil {
			s.errs.add(fmt.Errorf("pull setup: %w", err))
			return
		}
	}
	var plain []float64
	var verified float64
	var pulled int64
	for i := range b.cfg.pullRepeat {
		verify := i == 0
		var n int64
		var err error
		el := s.timed(func() { n, err = b.c.pullBlob(lctx, repo, blob.digest, verify) })
		if err == nil && n != blob.size {
			err = fmt.Errorf("pulled %d bytes, want %d", n, blob.size)
		}
		if err != nil {
			s.errs.add(fmt.Errorf("pull %d: %w", i+1, err))
			continue
		}
		pulled += n
		s.res.Requests++
		if verify {
			verified = mbps(n, el)
		} else {
			plain = append(plain, mbps(n, el))
		}
	}
	if len(plain) == 0 && verified > 0 {
		plain = []float64{verified}
	}
	if len(plain) > 0 {
		s.metric("blob_pull", fmt.Sprintf("blob pull %s, read and discard", sizeLabel(blob.size)), stats.Median(plain), "MB/s", higher)
	}
	if verified > 0 {
		s.metric("blob_pull_verified", fmt.Sprintf("blob pull %s, client checks digest", sizeLabel(blob.size)), verified, "MB/s", higher)
	}
	s.cpuPer("blob_pull_cpu", "per GiB pulled", float64(pulled)/(1<<30), 1, "s/GiB")
	s.detail("pulls", b.cfg.pullRepeat)
}

// opContext bounds one small operation.
func (b *bench) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, b.cfg.requestTimeout)
}

// throughput records the metrics of a closed-loop run whose operations
// are reqPerOp requests each.
func (b *bench) throughput(s *scenario, name, label string, r loadResult, reqPerOp int64) {
	s.metric(name, label, r.rate(), "ops/s", higher)
	s.res.Requests += r.OK * reqPerOp
	s.cpuPer(name+"_cpu", "per op, "+label, float64(r.OK), 1e6, "µs")
	s.detail("ok", r.OK)
	s.detail("failed", r.Errors)
	s.detail("seconds", r.Elapsed.Seconds())
	s.detail("latency", r.Lat)
}

func (b *bench) smallPush(ctx context.Context, s *scenario) {
	repo := b.prefix + "/small"
	conc := b.cfg.concurrency
	rngs := make([]*rand.ChaCha8, conc)
	for w := range conc {
		var key [32]byte
		copy(key[:], randomBytes(b.cfg.seed^uint64(0x100+w), 32))
		rngs[w] = rand.NewChaCha8(key)
	}
	var fallbacks atomic.Int64
	var r loadResult
	s.timed(func() {
		r = runLoad(ctx, conc, b.cfg.duration, b.cfg.count, b.cfg.maxErrors, s.errs, func(ctx context.Context, w int, _ int64) error {
			data := make([]byte, b.cfg.smallSize) // fresh: the transport may still hold the last body
			_, _ = rngs[w].Read(data)
			octx, cancel := b.opContext(ctx)
			defer cancel()
			fell, err := b.c.pushSmall(octx, repo, digest.FromBytes(data), data)
			if fell {
				fallbacks.Add(1)
			}
			return err
		})
	})
	b.throughput(s, "small_blob_push", fmt.Sprintf("%s blob pushes, POST ?digest=, c=%d", sizeLabel(b.cfg.smallSize), conc), r, 1)
	s.res.Requests += fallbacks.Load()
	s.detail("post_put_fallbacks", fallbacks.Load())
}

// pushImage uploads img's config and layer to repo.
func (b *bench) pushImage(ctx context.Context, repo string, img *image) error {
	for _, blob := range [][]byte{img.config, img.layer} {
		octx, cancel := b.opContext(ctx)
		err := b.c.pushMonolithic(octx, repo, digest.FromBytes(blob), strings.NewReader(string(blob)), int64(len(blob)))
		cancel()
		if err != nil {
			return fmt.Errorf("push image blob to %s: %w", repo, err)
		}
	}
	return nil
}

func (b *bench) manifestPush(ctx context.Context, s *scenario) {
	repo := b.prefix + "/mpush"
	img, err := newImage(b.cfg.seed ^ 0x4)
	if err == nil {
		err = b.pushImage(ctx, repo, img)
	}
	if err != nil {
		s.errs.add(err)
		return
	}
	conc := b.cfg.concurrency
	var r loadResult
	s.timed(func() {
		r = runLoad(ctx, conc, b.cfg.duration, b.cfg.count, b.cfg.maxErrors, s.errs, func(ctx context.Context, _ int, seq int64) error {
			octx, cancel := b.opContext(ctx)
			defer cancel()
			return b.c.putManifest(octx, repo, fmt.Sprintf("p%08d", seq), mediaTypeManifest, img.manifest(fmt.Sprintf("push-%d", seq)))
		})
	})
	b.throughput(s, "manifest_push", fmt.Sprintf("manifest pushes, unique tags, c=%d", conc), r, 1)
}

// workerRands returns one random source per worker, determined by seed.
func workerRands(seed uint64, workers int) []*rand.Rand {
	rngs := make([]*rand.Rand, workers)
	for w := range workers {
		rngs[w] = rand.New(rand.NewPCG(seed, uint64(w)))
	}
	return rngs
}

// tagName is the i-th tag of a setup repository; zero padding keeps the
// lexical order numeric.
func tagName(i int) string { return fmt.Sprintf("t%06d", i) }

// setupTags pushes n distinct manifests tagged tagName(0..n-1) into repo and
// returns their digests. It reports whether setup succeeded.
func (b *bench) setupTags(ctx context.Context, s *scenario, repo string, n int, seed uint64) ([]digest.Digest, bool) {
	img, err := newImage(seed)
	if err == nil {
		err = b.pushImage(ctx, repo, img)
	}
	if err != nil {
		s.errs.add(err)
		return nil, false
	}
	digests := make([]digest.Digest, n)
	before := s.errs.n.Load()
	t0 := time.Now()
	parallel(ctx, n, b.cfg.setupConc, b.cfg.maxErrors, s.errs, func(ctx context.Context, i int) error {
		body := img.manifest(fmt.Sprintf("%s-%d", repo, i))
		digests[i] = digest.FromBytes(body)
		octx, cancel := b.opContext(ctx)
		defer cancel()
		return b.c.putManifest(octx, repo, tagName(i), mediaTypeManifest, body)
	})
	s.detail("setup_seconds", time.Since(t0).Seconds())
	s.detail("setup_tags", n)
	return digests, s.errs.n.Load() == before && ctx.Err() == nil
}

func (b *bench) manifestGet(ctx context.Context, s *scenario) {
	repo := b.prefix + "/mget"
	n := b.cfg.getTags
	digests, ok := b.setupTags(ctx, s, repo, n, b.cfg.seed^0x5)
	if !ok {
		return
	}
	conc := b.cfg.getConc
	// Untimed: every tag getWarmup times, as a registry in service has
	// its pulled tags in its caches (behind a round-robin balancer each
	// pass reaches a tag on one instance of several).
	before := s.errs.n.Load()
	parallel(ctx, n*b.cfg.getWarmup, conc, b.cfg.maxErrors, s.errs, func(ctx context.Context, i int) error {
		octx, cancel := b.opContext(ctx)
		defer cancel()
		return b.c.getManifest(octx, repo, tagName(i%n), digests[i%n])
	})
	if s.errs.n.Load() != before || ctx.Err() != nil {
		return
	}
	rngs := workerRands(b.cfg.seed, conc)
	var r loadResult
	s.timed(func() {
		r = runLoad(ctx, conc, b.cfg.duration, b.cfg.count, b.cfg.maxErrors, s.errs, func(ctx context.Context, w int, _ int64) error {
			i := rngs[w].IntN(n)
			octx, cancel := b.opContext(ctx)
			defer cancel()
			return b.c.getManifest(octx, repo, tagName(i), digests[i])
		})
	})
	b.throughput(s, "manifest_get", fmt.Sprintf("manifest GETs by tag, %d tags, c=%d", n, conc), r, 1)
}

// measureListing times repeat paged walks from pagedURL and repeat single
// full-list requests built by fullURL(total), where total is the size of
// the first walk. check validates a walk's entries. Medians go to metrics
// named <name>_paged and <name>_full.
func (b *bench) measureListing(ctx context.Context, s *scenario, name, what string, pagedURL string,
	fullURL func(total int) string, check func([]string) error) {
	var paged, full []float64
	total, pages := -1, 0
	for range b.cfg.repeat {
		octx, cancel := b.opContext(ctx)
		var entries []string
		var np int
		var err error
		el := s.timed(func() { entries, np, err = b.c.walkList(octx, pagedURL) })
		cancel()
		if err == nil {
			err = check(entries)
		}
		if err == nil && total >= 0 && len(entries) != total {
			err = fmt.Errorf("paged walk returned %d entries, earlier %d", len(entries), total)
		}
		if err != nil {
			s.errs.add(fmt.Errorf("%s paged walk: %w", name, err))
			continue
		}
		total, pages = len(entries), np
		s.res.Requests += int64(np)
		paged = append(paged, ms(el))
	}
	if total < 0 {
		return
	}
	for range b.cfg.repeat {
		octx, cancel := b.opContext(ctx)
		var entries []string
		var err error
		el := s.timed(func() { entries, _, err = b.c.fetchList(octx, fullURL(total)) })
		cancel()
		if err == nil && len(entries) != total {
			err = fmt.Errorf("one request returned %d of %d entries", len(entries), total)
		}
		if err != nil {
			s.errs.add(fmt.Errorf("%s full list: %w", name, err))
			continue
		}
		s.res.Requests++
		full = append(full, ms(el))
	}
	if len(paged) > 0 {
		s.metric(name+"_paged", fmt.Sprintf("%s, paged walk n=%d (%d pages)", what, b.cfg.pageSize, pages), stats.Median(paged), "ms", lower)
	}
	if len(full) > 0 {
		s.metric(name+"_full", fmt.Sprintf("%s, one full-list request", what), stats.Median(full), "ms", lower)
	}
	s.detail("entries", total)
	s.detail("pages", pages)
}

func (b *bench) tagsList(ctx context.Context, s *scenario) {
	repo := b.prefix + "/tags"
	n := b.cfg.listTags
	if _, ok := b.setupTags(ctx, s, repo, n, b.cfg.seed^0x6); !ok {
		return
	}
	b.tagsRepo = repo
	path := "/v2/" + repo + "/tags/list"
	b.measureListing(ctx, s, "tags_list", fmt.Sprintf("tags/list of %d tags", n),
		b.c.listURL(path, b.cfg.pageSize),
		func(int) string { return b.c.listURL(path, 0) },
		func(entries []string) error {
			got := slices.Clone(entries)
			slices.Sort(got)
			if len(got) != n {
				return fmt.Errorf("listed %d tags, want %d", len(got), n)
			}
			for i, t := range got {
				if t != tagName(i) {
					return fmt.Errorf("tag %d is %q, want %q", i, t, tagName(i))
				}
			}
			return nil
		})
}

func (b *bench) catalog(ctx context.Context, s *scenario) {
	n := b.cfg.catalogRepos
	src := b.prefix + "/catsrc"
	img, err := newImage(b.cfg.seed ^ 0x7)
	if err == nil {
		err = b.pushImage(ctx, src, img)
	}
	if err != nil {
		s.errs.add(err)
		return
	}
	body := img.manifest("catalog")
	repoName := func(i int) string { return fmt.Sprintf("%s/cat/r%06d", b.prefix, i) }
	before := s.errs.n.Load()
	t0 := time.Now()
	parallel(ctx, n, b.cfg.setupConc, b.cfg.maxErrors, s.errs, func(ctx context.Context, i int) error {
		octx, cancel := b.opContext(ctx)
		defer cancel()
		repo := repoName(i)
		if err := b.c.mountOrPush(octx, repo, src, img.configDesc.Digest, img.config); err != nil {
			return err
		}
		if err := b.c.mountOrPush(octx, repo, src, img.layerDesc.Digest, img.layer); err != nil {
			return err
		}
		return b.c.putManifest(octx, repo, "latest", mediaTypeManifest, body)
	})
	s.detail("setup_seconds", time.Since(t0).Seconds())
	s.detail("setup_repos", n)
	if s.errs.n.Load() != before || ctx.Err() != nil {
		return
	}
	b.measureListing(ctx, s, "catalog", fmt.Sprintf("_catalog of %d repos", n),
		b.c.listURL("/v2/_catalog", b.cfg.pageSize),
		func(total int) string { return b.c.listURL("/v2/_catalog", total) },
		func(entries []string) error {
			seen := 0
			for _, e := range entries {
				if strings.HasPrefix(e, b.prefix+"/cat/") {
					seen++
				}
			}
			if seen != n {
				return fmt.Errorf("catalog lists %d of the %d repositories created", seen, n)
			}
			return nil
		})
}

// sizeLabel prints a byte count in binary units.
func sizeLabel(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}
