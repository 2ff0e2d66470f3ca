package proxy

import (
	"context"
	"net/http"

	"github.com/berthreg/berth/registry"
)

// Hooks returns the registry hooks of the caches: a push into a cache
// (a blob upload or mount, a manifest) is refused, but for the Service's
// own; a delete in a cache forgets that its tags were checked, so that
// the next pull of one asks the upstream (on this instance: another
// answers from its memory of the check until the TTL passes).
func (s *Service) Hooks() registry.Hooks {
	return registry.Hooks{
		AfterDelete: func(_ context.Context, ev *registry.Event) { s.forgetChecked(ev.Repository) },
		BeforePush: func(ctx context.Context, ev *registry.Event) error {
			if isOwn(ctx) {
				return nil
			}
			st, _, ok, err := s.cacheOf(ctx, ev.Repository)
			if err != nil || !ok {
				return err
			}
			return registry.NewError(http.StatusForbidden, registry.CodeDenied,
				"project %s is a proxy cache of %v: it takes no pushes", st.Project, st.Upstreams)
		},
	}
}
