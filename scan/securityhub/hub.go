package securityhub

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/meta"
)

// ErrInvalid reports a query the hub cannot answer (a *QueryError).
var ErrInvalid = errors.New("securityhub: invalid query")

// Hub serves the summary and the search over the records Record keeps.
// Make it with New; it is safe for concurrent use.
type Hub struct {
	store meta.Store
	// ttl is how long a count of the registry's artifacts is used.
	ttl time.Duration
	now func() time.Time

	mu        sync.Mutex
	counted   int64
	countedAt time.Time
}

// Option configures a Hub.
type Option func(*Hub) error

// WithArtifactCountTTL keeps the registry's artifact count (a walk of
// every repository's counters) for d before counting again (default 30
// seconds; 0 counts at every summary): the summary's total_artifact may
// lag other instances' pushes and deletes by that much. Negative d is an
// error.
func WithArtifactCountTTL(d time.Duration) Option {
	return func(h *Hub) error {
		if d < 0 {
			return fmt.Errorf("securityhub: WithArtifactCountTTL %s: negative", d)
		}
		h.ttl = d
		return nil
	}
}

// New returns the hub over store, which holds the records Record keeps.
func New(store meta.Store, opts ...Option) (*Hub, error) {
	if store == nil {
		return nil, errors.New("securityhub: New: nil store")
	}
	h := &Hub{store: store, ttl: 30 * time.Second, now: time.Now}
	for _, o := range opts {
		if err := o(h); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// artifactCount is the number of artifacts in the registry, counted at
// most every ttl.
func (h *Hub) artifactCount(ctx context.Context) (int64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ttl > 0 && !h.countedAt.IsZero() && h.now().Sub(h.countedAt) < h.ttl {
		return h.counted, nil
	}
	var n int64
	err := h.store.View(ctx, func(tx meta.Tx) error {
		n = 0
		after := ""
		for {
			names, err := tx.Repositories().List(after, 512)
			if err != nil {
				return err
			}
			for _, name := range names {
				st, err := tx.Repositories().Stats(name)
				if err != nil && !errors.Is(err, meta.ErrNotFound) {
					return err
				}
				n += int64(st.Artifacts)
			}
			if len(names) < 512 {
				return nil
			}
			after = names[len(names)-1]
		}
	})
	if err != nil {
		return 0, err
	}
	h.counted, h.countedAt = n, h.now()
	return n, nil
}

// projectIDs returns the ids of the projects named (0 for those that
// are gone), caching them in ids.
func projectIDs(tx meta.Tx, ids map[string]uint64, names ...string) error {
	for _, name := range names {
		if _, ok := ids[name]; ok {
			continue
		}
		p, err := accounts.Projects.In(tx).Get(name)
		switch {
		case errors.Is(err, meta.ErrNotFound):
		case err != nil:
			return err
		}
		ids[name] = p.ID
	}
	return nil
}

// projectByID returns the name of the project whose id is id ("" when
// none is): a walk of the projects.
func projectByID(tx meta.Tx, id uint64) (string, error) {
	after := ""
	for {
		page, err := accounts.Projects.In(tx).List(after, 256)
		if err != nil {
			return "", err
		}
		for _, p := range page {
			if p.ID == id {
				return p.Name, nil
			}
		}
		if len(page) < 256 {
			return "", nil
		}
		after = page[len(page)-1].Name
	}
}
