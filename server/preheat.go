package server

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/label"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/preheat"
	"github.com/berthreg/berth/preheat/dragonfly"
	"github.com/berthreg/berth/preheat/kraken"
	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/engine"
	"github.com/berthreg/berth/trust"
)

// preheatSubject starts the token subject of a P2P provider's pulls
// ("berth-preheat:" and the repository): no account can be named so,
// since basic credentials cannot carry a colon in the name.
const preheatSubject = "berth-preheat:"

// preheatTokenLifetime is how long a provider's pull token lasts: long
// enough for a seed peer to fetch every layer of the artifact after the
// job was accepted.
const preheatTokenLifetime = 30 * time.Minute

// addPreheat builds the P2P preheat service over the store: Dragonfly
// and Kraken providers reached through the outbound guard, its jobs on
// the runner, its schedules kept in step across instances, and its
// consumer of push and scan events. registryURL is where providers pull
// from; pullToken (nil without auth) makes the bearer token of their
// pulls.
func (b *background) addPreheat(ctx context.Context, registryURL string, signatures *trust.Service,
	pullToken func(ctx context.Context, subject, repo string) (string, error)) (*preheat.Service, error) {
	opts := []preheat.Option{
		preheat.WithProvider(dragonfly.Vendor, dragonfly.New), preheat.WithProvider("kraken", kraken.New),
		preheat.WithOutboundGuard(b.outbound), preheat.WithRegistryURL(registryURL),
		preheat.WithScheduler(b.runner), preheat.WithLogger(b.logger),
	}
	if pullToken != nil {
		opts = append(opts, preheat.WithPullCredentials(func(ctx context.Context, repo string) (map[string]string, error) {
			t, err := pullToken(ctx, preheatSubject+repo, repo)
			return map[string]string{"Authorization": t}, err
		}))
	}
	svc, err := preheat.New(b.store, b.queue, preheatArtifacts{store: b.store, signatures: signatures}, opts...)
	if err != nil {
		return nil, err
	}
	svc.Register(b.runner, jobs.KindOptions{Limit: 4, Backoff: 5 * time.Second, MaxBackoff: time.Minute})
	if err := preheat.ScheduleAll(ctx, b.store, b.runner); err != nil {
		return nil, err
	}
	if err := b.watcher.Watch(preheat.PoliciesGeneration, func(ctx context.Context) error {
		return preheat.ScheduleAll(ctx, b.store, b.runner)
	}); err != nil {
		return nil, err
	}
	if err := b.consume(preheat.ConsumerName, svc.Consume); err != nil {
		return nil, err
	}
	return svc, nil
}

// preheatArtifacts is what preheat selects artifacts by, read from the
// store, the labels, content trust and the scan reports.
type preheatArtifacts struct {
	store      meta.Store
	signatures *trust.Service
}

// Repositories implements preheat.Artifacts.
func (a preheatArtifacts) Repositories(ctx context.Context, project string) ([]string, error) {
	var out []string
	err := a.store.View(ctx, func(tx meta.Tx) error {
		names, err := tx.Repositories().List(project+"/", 0)
		for _, n := range names {
			if !strings.HasPrefix(n, project+"/") {
				break
			}
			out = append(out, n)
		}
		return err
	})
	return out, err
}

// Tagged implements preheat.Artifacts.
func (a preheatArtifacts) Tagged(ctx context.Context, repo string) ([]preheat.Artifact, error) {
	var out []preheat.Artifact
	err := a.store.View(ctx, func(tx meta.Tx) error {
		tags, err := tx.Tags().List(repo, "", 0)
		if errors.Is(err, meta.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		for _, tag := range tags {
			d, err := tx.Tags().Get(repo, tag)
			if errors.Is(err, meta.ErrNotFound) {
				continue // deleted since the listing
			} else if err != nil {
				return err
			}
			m, err := tx.Manifests().Get(repo, d)
			if err != nil {
				return err
			}
			out = append(out, preheat.Artifact{Repository: repo, Tag: tag, Digest: d.String(), MediaType: m.MediaType, ArtifactType: m.ArtifactType})
		}
		return nil
	})
	return out, err
}

// Labels implements preheat.Artifacts.
func (a preheatArtifacts) Labels(ctx context.Context, repo, d string) ([]string, error) {
	var names []string
	err := a.store.View(ctx, func(tx meta.Tx) error {
		var err error
		names, err = label.Names(tx, repo, digest.Digest(d))
		return err
	})
	return names, err
}

// Signed implements preheat.Artifacts through content trust's check.
func (a preheatArtifacts) Signed(ctx context.Context, repo, d string) (bool, error) {
	return a.signatures.Signed(ctx, repo, digest.Digest(d))
}

// Severity implements preheat.Artifacts from the artifact's scan report.
func (a preheatArtifacts) Severity(ctx context.Context, repo, d string) (scan.Severity, bool, error) {
	var rec engine.ScanReport
	err := a.store.View(ctx, func(tx meta.Tx) error {
		var err error
		rec, err = engine.Reports.In(tx).Get(engine.ScanReportKey(repo, digest.Digest(d)))
		return err
	})
	switch {
	case errors.Is(err, meta.ErrNotFound):
		return "", false, nil
	case err != nil:
		return "", false, err
	case rec.Status != engine.ScanSuccess:
		return "", false, nil
	}
	return scan.Severity(rec.Severity), true, nil
}
