package server

import (
	"context"
	"time"

	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/preheat"
	"github.com/berthreg/berth/preheat/dragonfly"
	"github.com/berthreg/berth/preheat/kraken"
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
		preheat.WithProvider(dragonfly.Vendor, dragonfly.New), preheat.WithProvider(kraken.Vendor, kraken.New),
		preheat.WithOutboundGuard(b.outbound), preheat.WithRegistryURL(registryURL),
		preheat.WithScheduler(b.runner), preheat.WithLogger(b.logger),
	}
	if pullToken != nil {
		opts = append(opts, preheat.WithPullCredentials(func(ctx context.Context, repo string) (map[string]string, error) {
			t, err := pullToken(ctx, preheatSubject+repo, repo)
			return map[string]string{"Authorization": t}, err
		}))
	}
	svc, err := preheat.New(b.store, b.queue, preheat.StoreArtifacts(b.store, signatures.Signed), opts...)
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
