package api

import (
	"context"

	"github.com/berthreg/berth/meta"
)

// Replicator runs the replication policies the API stores
// (replication.Engine implements it).
type Replicator interface {
	// CheckEndpoint and CheckPolicy report what is wrong with a record,
	// naming the field ("url: …").
	CheckEndpoint(rec meta.RegistryEndpoint) error
	CheckPolicy(tx meta.Tx, rec meta.ReplicationPolicy) error
	// Ping checks that an endpoint answers with its credentials accepted.
	Ping(ctx context.Context, rec meta.RegistryEndpoint) error
	// Start begins a manual execution of a policy.
	Start(ctx context.Context, policy string) (meta.ReplicationExecution, error)
	// Stop stops an execution (replication.ErrFinal when it has ended).
	Stop(ctx context.Context, id uint64) error
	// Retry runs an execution's failed tasks again and says how many.
	Retry(ctx context.Context, id uint64) (int, error)
	// Saved and Deleted are told of policy changes (schedules).
	Saved(rec meta.ReplicationPolicy) error
	Deleted(policy string)
}

// WithReplication serves registry endpoints, replication policies,
// executions and tasks (/registries, /replication/…) run by r.
func WithReplication(r Replicator) Option { return func(h *Handler) { h.replication = r } }
