package accounts

import (
	"context"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/meta"
)

// record appends e to the event log in tx, the change's own transaction,
// with the operator the context names (auth.WithPrincipal) unless e has
// one.
func record(ctx context.Context, tx meta.Tx, e meta.Event) error {
	if e.Operator == "" {
		if p, ok := auth.PrincipalFrom(ctx); ok {
			e.Operator = p.Name
		}
	}
	if e.Result == "" {
		e.Result = "success"
	}
	_, err := tx.Events().Append(e)
	return err
}

// RecordLogin appends a login (a session sign-in) to the event log, with
// its result: the audit trail of who signed in, and who failed to.
func (m *Manager) RecordLogin(ctx context.Context, name string, ok bool) error {
	result := "success"
	if !ok {
		result = "failure"
	}
	return m.store.Update(ctx, func(tx meta.Tx) error {
		return record(ctx, tx, meta.Event{Type: events.Login, Operator: name, Resource: name, Result: result})
	})
}
