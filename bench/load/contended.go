package main

import (
	"context"
	"fmt"
	"time"
)

// idle measures what the servers spend doing nothing for -duration: job
// runners, event consumers and schedules polling, PostgreSQL's own
// background processes.
func (b *bench) idle(ctx context.Context, s *scenario) {
	d := b.cfg.duration
	if d <= 0 {
		d = 5 * time.Second
	}
	el := s.timed(func() {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	})
	s.cpuPer("idle_cpu", "per second idle", el.Seconds(), 1e3, "ms/s")
	s.detail("seconds", el.Seconds())
}

// requestsPerImage is what pushing one contended image takes: POST and
// PUT for the config and the layer, PUT for the manifest.
const requestsPerImage = 5

// pushContended has -contended-pushers clients push small images (a config
// and a layer of their own, pushed with POST and PUT as docker does, then
// a manifest under a new tag) into one repository, the case where every
// push writes the same repository's rows.
func (b *bench) pushContended(ctx context.Context, s *scenario) {
	repo := b.prefix + "/contended"
	conc := b.cfg.contended
	var r loadResult
	s.timed(func() {
		r = runLoad(ctx, conc, b.cfg.duration, b.cfg.count, b.cfg.maxErrors, s.errs, func(ctx context.Context, _ int, seq int64) error {
			img, err := newImage(b.cfg.seed ^ 0x8<<56 ^ uint64(seq))
			if err != nil {
				return err
			}
			if err := b.pushImage(ctx, repo, img); err != nil {
				return err
			}
			octx, cancel := b.opContext(ctx)
			defer cancel()
			return b.c.putManifest(octx, repo, fmt.Sprintf("c%08d", seq), mediaTypeManifest, img.manifest("contended"))
		})
	})
	label := fmt.Sprintf("image pushes into one repository (2 blobs with POST+PUT, manifest, new tag), c=%d", conc)
	b.throughput(s, "push_contended", label, r, requestsPerImage)
	s.detail("requests_per_image", requestsPerImage)
}

// tagsPage has -concurrency clients each fetch one tags/list page of
// -page-size tags, starting after a random tag of the -list-tags
// repository tags-list filled (or one of its own when tags-list did not
// run): the request a client paging through tags makes.
func (b *bench) tagsPage(ctx context.Context, s *scenario) {
	n := b.cfg.listTags
	repo := b.tagsRepo
	if repo == "" {
		repo = b.prefix + "/tagpage"
		if _, ok := b.setupTags(ctx, s, repo, n, b.cfg.seed^0x9); !ok {
			return
		}
	}
	path := "/v2/" + repo + "/tags/list"
	conc := b.cfg.concurrency
	rngs := workerRands(b.cfg.seed^0x9, conc)
	page := b.cfg.pageSize
	var r loadResult
	s.timed(func() {
		r = runLoad(ctx, conc, b.cfg.duration, b.cfg.count, b.cfg.maxErrors, s.errs, func(ctx context.Context, w int, _ int64) error {
			i := rngs[w].IntN(n)
			octx, cancel := b.opContext(ctx)
			defer cancel()
			u := b.c.listURL(path, page) + "&last=" + tagName(i)
			entries, _, err := b.c.fetchList(octx, u)
			if err != nil {
				return err
			}
			return checkPage(entries, i, n, page)
		})
	})
	b.throughput(s, "tags_page", fmt.Sprintf("tags/list pages of n=%d after a random tag of %d, c=%d", page, n, conc), r, 1)
}

// checkPage verifies a page of at most page tags after tagName(after) in
// a repository tagged tagName(0..n-1).
func checkPage(entries []string, after, n, page int) error {
	want := min(page, n-1-after)
	if len(entries) != want {
		return fmt.Errorf("page after %s: %d tags, want %d", tagName(after), len(entries), want)
	}
	for k, t := range entries {
		if t != tagName(after+1+k) {
			return fmt.Errorf("page after %s: tag %d is %q, want %q", tagName(after), k, t, tagName(after+1+k))
		}
	}
	return nil
}
