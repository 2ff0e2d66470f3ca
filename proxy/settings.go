package proxy

import (
	"errors"
	"fmt"
	"time"

	"github.com/berthreg/berth/meta"
)

// MaxUpstreams bounds the upstream registries of a project.
const MaxUpstreams = 8

// DefaultTTL is how long a cached tag is served before it is revalidated
// with a HEAD, when a project sets none.
const DefaultTTL = 5 * time.Minute

// Settings make a project a pull-through cache.
type Settings struct {
	// Project is the project's name.
	Project string `json:"project"`
	// Upstreams are the registry endpoints (replication.Registries, by
	// name) the project caches, in the order they are tried: a pull that
	// misses fetches from the first that answers.
	Upstreams []string `json:"upstreams"`
	// TTL is how long a cached tag is served before a HEAD to the
	// upstream revalidates it (0: DefaultTTL). Digests are never
	// revalidated.
	TTL time.Duration `json:"ttl,omitempty"`
	// UpdatedAt is when they were last set.
	UpdatedAt time.Time `json:"updatedAt"`
}

// ttl is the settings' time to live.
func (s Settings) ttl() time.Duration {
	if s.TTL > 0 {
		return s.TTL
	}
	return DefaultTTL
}

// Errors of the settings methods.
var (
	// ErrInvalid reports settings that fail their checks.
	ErrInvalid = errors.New("proxy: invalid settings")
	// ErrNotFound reports a missing project or registry endpoint.
	ErrNotFound = errors.New("proxy: not found")
)

// check reports what is wrong with s, naming the field.
func (s Settings) check() error {
	switch {
	case len(s.Upstreams) == 0:
		return fmt.Errorf("%w: upstreams: at least one registry endpoint", ErrInvalid)
	case len(s.Upstreams) > MaxUpstreams:
		return fmt.Errorf("%w: upstreams: %d, at most %d", ErrInvalid, len(s.Upstreams), MaxUpstreams)
	case s.TTL < 0:
		return fmt.Errorf("%w: ttl: must not be negative", ErrInvalid)
	}
	seen := map[string]bool{}
	for i, u := range s.Upstreams {
		if u == "" || seen[u] {
			return fmt.Errorf("%w: upstreams[%d]: empty or repeated", ErrInvalid, i)
		}
		seen[u] = true
	}
	return nil
}

// settings are the stored settings, one record per proxy project.
var settings = meta.RecordType[Settings]{Kind: "proxySettings", Key: func(s Settings) string { return s.Project }}
