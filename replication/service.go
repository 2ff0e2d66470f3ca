package replication

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/berthreg/berth/meta"
)

// PingTimeout bounds a Service ping of an endpoint.
const PingTimeout = 30 * time.Second

// Service is replication's rules for every caller, Go or HTTP (the admin
// API calls it): it validates registry endpoints and policies, runs their
// transactions, and starts, stops, retries and lists executions. The
// rules: names follow CheckName and are never reused while taken
// (ErrExists); endpoints follow CheckEndpoint and policies CheckPolicy
// (ErrInvalid, a *FieldError naming the field); an endpoint a policy (or
// a WithRegistryUsers user) uses and a policy with an execution in
// progress are not deleted (ErrInUse);
// passwords are write-only: nothing the Service returns carries one.
// Create it with NewService.
type Service struct {
	store  meta.Store
	engine *Engine
	ping   func(context.Context, Registry) error
	users  []RegistryUser
}

// RegistryUser reports, in tx, what besides replication's policies uses
// endpoint name ("" for nothing): a proxy cache project, say.
type RegistryUser func(tx meta.Tx, name string) (string, error)

// WithRegistryUsers makes DeleteRegistry refuse (ErrInUse) an endpoint
// one of users says it uses.
func WithRegistryUsers(users ...RegistryUser) ServiceOption {
	return func(s *Service) { s.users = append(s.users, users...) }
}

// ServiceOption configures a Service.
type ServiceOption func(*Service)

// WithPing makes the Service ping endpoints with fn (default: the
// engine's Ping, through its guard).
func WithPing(fn func(ctx context.Context, rec Registry) error) ServiceOption {
	return func(s *Service) { s.ping = fn }
}

// NewService returns the Service over store, whose policies engine runs
// (the engine must run over store). Endpoints stored before endpoints had
// ids are given theirs.
func NewService(store meta.Store, engine *Engine, opts ...ServiceOption) (*Service, error) {
	switch {
	case store == nil:
		return nil, errors.New("replication: NewService: no store")
	case engine == nil:
		return nil, errors.New("replication: NewService: no engine")
	case engine.store != store:
		return nil, errors.New("replication: NewService: the engine runs over another store")
	}
	s := &Service{store: store, engine: engine, ping: engine.Ping}
	for _, o := range opts {
		o(s)
	}
	if s.ping == nil {
		return nil, errors.New("replication: NewService: WithPing(nil)")
	}
	if err := assignRegistryIDs(context.Background(), store); err != nil {
		return nil, fmt.Errorf("replication: NewService: %w", err)
	}
	return s, nil
}

// Page is a window of a listing: Limit items (0: all) after the first
// Offset.
type Page struct {
	// Offset is how many items to skip.
	Offset int
	// Limit caps the items returned (0: no cap).
	Limit int
}

// window returns the part of list that page selects, and len(list).
func window[T any](list []T, page Page) ([]T, int, error) {
	if page.Offset < 0 || page.Limit < 0 {
		return nil, 0, invalid("page", "offset and limit must not be negative")
	}
	start := min(page.Offset, len(list))
	end := len(list)
	if page.Limit > 0 && page.Limit < end-start {
		end = start + page.Limit
	}
	return list[start:end], len(list), nil
}

// now is the time records are stamped with.
func now() time.Time { return time.Now().UTC() }
