package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/naming"
)

// Errors of the policy operations (wrapped with details). A missing
// policy or project is meta.ErrNotFound.
var (
	// ErrExists reports a policy name its project already uses.
	ErrExists = errors.New("webhook: policy exists")
	// ErrInvalid reports a bad policy; the message names the field as
	// the admin API spells it ("event_types[0]: …").
	ErrInvalid = errors.New("webhook: invalid policy")
)

// MaxTimeout bounds a target's Timeout.
const MaxTimeout = 300 * time.Second

// Policies keeps webhook policies: the rules of their names, ids and
// secrets for every caller, Go or HTTP. A policy's name is unique within
// its project (system policies, Project "", have a scope of their own);
// its id, given at creation, is never given again; deleting it deletes its
// delivery log and pending deliveries. Make it with NewPolicies.
type Policies struct {
	// store holds the policies, the delivery log and the job queue.
	store meta.Store
	now   func() time.Time
}

// PoliciesOption configures Policies made by NewPolicies.
type PoliciesOption func(*Policies)

// WithClock makes the Policies read the time from now (default
// time.Now): the creation and update times of policies, and the time of
// the events they record.
func WithClock(now func() time.Time) PoliciesOption {
	return func(ps *Policies) { ps.now = now }
}

// NewPolicies returns the webhook policies kept in store. A nil store or
// clock is an error.
func NewPolicies(store meta.Store, opts ...PoliciesOption) (*Policies, error) {
	ps := &Policies{store: store, now: time.Now}
	for _, o := range opts {
		o(ps)
	}
	switch {
	case store == nil:
		return nil, errors.New("webhook: policies: no store")
	case ps.now == nil:
		return nil, errors.New("webhook: policies: WithClock(nil)")
	}
	return ps, nil
}

// Validate checks a policy's name, patterns, event types and targets.
func Validate(p Policy) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	if err := naming.CheckName(p.Name); err != nil {
		return bad("name: %v", err)
	}
	if p.Repositories != "" && !doublestar.ValidatePattern(p.Repositories) {
		return bad("repositories: %q is not a valid pattern", p.Repositories)
	}
	if len(p.EventTypes) == 0 {
		return bad("event_types: at least one is required")
	}
	for i, t := range p.EventTypes {
		if !slices.Contains(events.Types, t) {
			return bad("event_types[%d]: %q is not one of %v", i, t, events.Types)
		}
	}
	if len(p.Targets) == 0 {
		return bad("targets: at least one is required")
	}
	for i, t := range p.Targets {
		u, err := url.Parse(t.Address)
		switch {
		case t.Type != "http" && t.Type != "slack":
			return bad("targets[%d].type: %q is not http or slack", i, t.Type)
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			return bad("targets[%d].address: %q is not an http(s) URL", i, t.Address)
		case t.Format != "" && t.Format != "default" && t.Format != "cloudevents":
			return bad("targets[%d].payload_format: %q is not default or cloudevents", i, t.Format)
		case t.Type == "slack" && t.Format == "cloudevents":
			return bad("targets[%d].payload_format: slack targets get Slack messages", i)
		case t.Timeout < 0 || t.Timeout > MaxTimeout:
			return bad("targets[%d].timeout_seconds: %v is not between 0 and %v", i, t.Timeout, MaxTimeout)
		}
	}
	return nil
}

// projectID is the ID of project's current incarnation (0 when it has no
// record: a host without accounts, or a project from before ids).
func projectID(tx meta.Tx, project string) (uint64, error) {
	p, err := accounts.Projects.In(tx).Get(project)
	if errors.Is(err, meta.ErrNotFound) {
		return 0, nil
	}
	return p.ID, err
}

// current reports whether p belongs to its project's current incarnation
// (system policies always do).
func current(tx meta.Tx, p Policy) (bool, error) {
	if p.Project == "" {
		return true, nil
	}
	id, err := projectID(tx, p.Project)
	return id == p.ProjectID, err
}

// get loads policy name of project; a policy left by an earlier project of
// the same name is not found.
func get(tx meta.Tx, project, name string) (Policy, error) {
	p, err := PolicyRecords.In(tx).Get(PolicyKey(project, name))
	if err != nil {
		return p, err
	}
	if ok, err := current(tx, p); err != nil || !ok {
		return Policy{}, firstErr(err, fmt.Errorf("webhook: policy %s of project %q: %w", name, project, meta.ErrNotFound))
	}
	return p, nil
}

// firstErr is err if set, else fallback.
func firstErr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}

// operator is the account acting in ctx, for the events recorded.
func operator(ctx context.Context) string {
	if p, ok := auth.PrincipalFrom(ctx); ok {
		return p.Name
	}
	return ""
}

// Create validates p and stores it as a new policy of p.Project, which
// must exist: it gets its id (the sequence number of the event recording
// the creation), its project's ID, and CreatedAt and UpdatedAt. ErrExists
// when the project has a policy of that name.
func (ps *Policies) Create(ctx context.Context, p Policy) (Policy, error) {
	if err := Validate(p); err != nil {
		return p, err
	}
	now := ps.now().UTC()
	p.CreatedAt, p.UpdatedAt = now, now
	err := ps.store.Update(ctx, func(tx meta.Tx) error {
		p.ProjectID = 0
		if p.Project != "" {
			proj, err := accounts.Projects.In(tx).Get(p.Project)
			if err != nil {
				return fmt.Errorf("webhook: project %s: %w", p.Project, err)
			}
			p.ProjectID = proj.ID
		}
		old, err := PolicyRecords.In(tx).Get(p.Key())
		switch {
		case err == nil:
			ok, err := current(tx, old)
			if err != nil {
				return err
			}
			if ok {
				return fmt.Errorf("%w: %s", ErrExists, p.Name)
			}
			// Left by an earlier project of the same name: it goes now.
			if err := deletePolicy(tx, old, now); err != nil {
				return err
			}
		case !errors.Is(err, meta.ErrNotFound):
			return err
		}
		seq, err := tx.Events().Append(meta.Event{Type: events.CreateWebhookPolicy, Time: now, Operator: orStr(p.CreatedBy, operator(ctx)),
			Project: p.Project, Resource: p.Name, Result: "success"})
		if err != nil {
			return err
		}
		p.ID = seq
		return PolicyRecords.In(tx).Put(p)
	})
	return p, err
}

// orStr is s if set, else fallback.
func orStr(s, fallback string) string {
	if s != "" {
		return s
	}
	return fallback
}

// Get returns policy name of project ("" for a system policy), or
// meta.ErrNotFound.
func (ps *Policies) Get(ctx context.Context, project, name string) (Policy, error) {
	var p Policy
	err := ps.store.View(ctx, func(tx meta.Tx) error {
		var err error
		p, err = get(tx, project, name)
		return err
	})
	return p, err
}

// List returns the policies of project ("" for the system policies), in
// name order.
func (ps *Policies) List(ctx context.Context, project string) ([]Policy, error) {
	var out []Policy
	err := ps.store.View(ctx, func(tx meta.Tx) error {
		after := ""
		if project != "" {
			after = project + "/"
		}
		all, err := PolicyRecords.In(tx).List(after, 0)
		if err != nil {
			return err
		}
		for _, p := range all {
			if project != "" && !strings.HasPrefix(p.Key(), project+"/") {
				break
			}
			if p.Project != project {
				continue
			}
			if ok, err := current(tx, p); err != nil {
				return err
			} else if ok {
				out = append(out, p)
			}
		}
		return nil
	})
	return out, err
}

// Keep says, for one target of an Update, which secrets the caller did
// not give: those are taken from the stored target with the same address,
// and dropped when the address is new (a secret is never sent to an
// address it was not given for).
type Keep struct {
	// Secret and AuthHeader keep the target's stored Secret and
	// AuthHeader instead of the update's.
	Secret, AuthHeader bool
}

// Update replaces the settings of the policy p.Project and p.Name name
// (its id, project ID, creator and creation time stay) after validating
// them, and returns the stored record. keep[i], when given, says which
// secrets of target i the caller left out (see Keep); a target without
// one takes its secrets as p gives them.
func (ps *Policies) Update(ctx context.Context, p Policy, keep []Keep) (Policy, error) {
	if err := Validate(p); err != nil {
		return p, err
	}
	p.Targets = slices.Clone(p.Targets)
	err := ps.store.Update(ctx, func(tx meta.Tx) error {
		old, err := get(tx, p.Project, p.Name)
		if err != nil {
			return err
		}
		for i := range min(len(keep), len(p.Targets)) {
			t := &p.Targets[i]
			prev, found := sameAddress(old.Targets, i, t.Address)
			if keep[i].Secret {
				t.Secret = ""
				if found {
					t.Secret = prev.Secret
				}
			}
			if keep[i].AuthHeader {
				t.AuthHeader = ""
				if found {
					t.AuthHeader = prev.AuthHeader
				}
			}
		}
		p.ID, p.ProjectID, p.CreatedBy, p.CreatedAt, p.UpdatedAt = old.ID, old.ProjectID, old.CreatedBy, old.CreatedAt, ps.now().UTC()
		return PolicyRecords.In(tx).Put(p)
	})
	return p, err
}

// sameAddress finds the stored target with address: the one at index i
// if it has it, else the first that does.
func sameAddress(targets []Target, i int, address string) (Target, bool) {
	if i < len(targets) && targets[i].Address == address {
		return targets[i], true
	}
	for _, t := range targets {
		if t.Address == address {
			return t, true
		}
	}
	return Target{}, false
}

// Delete deletes policy name of project with its delivery log and its
// delivery jobs (a running attempt is canceled: it records nothing).
func (ps *Policies) Delete(ctx context.Context, project, name string) error {
	return ps.store.Update(ctx, func(tx meta.Tx) error {
		p, err := get(tx, project, name)
		if err != nil {
			return err
		}
		now := ps.now().UTC()
		if err := deletePolicy(tx, p, now); err != nil {
			return err
		}
		_, err = tx.Events().Append(meta.Event{Type: events.DeleteWebhookPolicy, Time: now, Operator: operator(ctx),
			Project: project, Resource: name, Result: "success"})
		return err
	})
}

// Logged is a delivery log record with its job's state.
type Logged struct {
	Delivery
	// State is the delivery job's state ("" when the job was pruned).
	State meta.JobState
}

// Deliveries returns the delivery log of policy name of project, newest
// first: its own only, never that of a deleted policy of the same name.
func (ps *Policies) Deliveries(ctx context.Context, project, name string) ([]Logged, error) {
	var out []Logged
	err := ps.store.View(ctx, func(tx meta.Tx) error {
		p, err := get(tx, project, name)
		if err != nil {
			return err
		}
		all, err := DeliveryRecords.In(tx).List("", 0)
		if err != nil {
			return err
		}
		for _, d := range slices.Backward(all) {
			if !d.Of(p) {
				continue
			}
			l := Logged{Delivery: d}
			if j, err := tx.Jobs().Get(d.JobID); err == nil {
				l.State = j.State
			}
			out = append(out, l)
		}
		return nil
	})
	return out, err
}

// Redeliver sends delivery id of policy name of project again (see the
// function Redeliver); meta.ErrNotFound when the delivery is not the
// policy's.
func (ps *Policies) Redeliver(ctx context.Context, q *jobs.Queue, project, name, id string) (string, error) {
	err := ps.store.View(ctx, func(tx meta.Tx) error {
		p, err := get(tx, project, name)
		if err != nil {
			return err
		}
		d, err := DeliveryRecords.In(tx).Get(id)
		if err != nil {
			return err
		}
		if !d.Of(p) {
			return fmt.Errorf("webhook: delivery %s of policy %s: %w", id, name, meta.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return Redeliver(ctx, q, id)
}
