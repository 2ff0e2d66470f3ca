package api

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/replication"
)

// Replicator runs the replication policies the API stores
// (replication.Engine implements it).
type Replicator interface {
	// CheckEndpoint and CheckPolicy report what is wrong with a record,
	// naming the field ("url: …").
	CheckEndpoint(rec replication.Registry) error
	CheckPolicy(tx meta.Tx, rec replication.PolicyRecord) error
	// Ping checks that an endpoint answers with its credentials accepted.
	Ping(ctx context.Context, rec replication.Registry) error
	// Start begins a manual execution of a policy.
	Start(ctx context.Context, policy string) (replication.Execution, error)
	// Stop stops an execution (replication.ErrFinal when it has ended).
	Stop(ctx context.Context, id uint64) error
	// Retry runs an execution's failed tasks again and says how many.
	Retry(ctx context.Context, id uint64) (int, error)
	// Saved and Deleted are told of policy changes (schedules).
	Saved(rec replication.PolicyRecord) error
	Deleted(policy string)
}

// WithReplication serves registry endpoints, replication policies,
// executions and tasks (/registries, /replication/…) run by r.
func WithReplication(r Replicator) Option { return func(h *Handler) { h.replication = r } }

// replicator refuses everyone but administrators (Harbor's registries
// and replication are theirs) and returns the Replicator, or 501 without
// one.
func (h *Handler) replicator(p auth.Principal) (Replicator, error) {
	if err := adminOnly(p); err != nil {
		return nil, err
	}
	if h.replication == nil {
		return nil, &apiError{status: http.StatusNotImplemented, code: "NOT_IMPLEMENTED", msg: "this server runs no replication"}
	}
	return h.replication, nil
}

// fieldQuery is Harbor's q over the given keys: comma-separated key=value
// (exact) or key=~text (substring). The matcher reads a record's values
// through get.
func fieldQuery(q string, keys ...string) (func(get func(key string) string) bool, error) {
	type cond struct{ key, val string }
	var conds []cond
	for part := range strings.SplitSeq(q, ",") {
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok || !slices.Contains(keys, k) {
			return nil, badRequest("q: %q is not key=value or key=~text on %s", part, strings.Join(keys, ", "))
		}
		conds = append(conds, cond{k, v})
	}
	return func(get func(string) string) bool {
		for _, c := range conds {
			got := get(c.key)
			if sub, ok := strings.CutPrefix(c.val, "~"); ok {
				if !strings.Contains(got, sub) {
					return false
				}
			} else if got != c.val {
				return false
			}
		}
		return true
	}, nil
}

// renameFields turns the field names a check's message starts with
// ("caCert: …", "source, destination: …") into the API's, by names;
// unknown ones are kept.
func renameFields(msg string, names func(field, rest string) string) string {
	prefix, rest, ok := strings.Cut(msg, ": ")
	if !ok {
		return msg
	}
	fields := strings.Split(prefix, ", ")
	for i, f := range fields {
		if n := names(f, rest); n != "" {
			fields[i] = n
		}
	}
	return strings.Join(fields, ", ") + ": " + rest
}
