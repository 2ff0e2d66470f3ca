package accounts

import (
	"context"
	"fmt"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/meta"
)

// AuditLog reads one page of the audit log for p (see events.ReadAudit
// for the paging), with the rule of who reads what:
//
//   - the whole log (q.Project ""): system administrators only;
//   - a project's log: whoever may see the project and read its members
//     (its members, robots granted it, administrators), and only the
//     events of the project's current incarnation, from its creation on:
//     what an earlier, deleted project of the same name did is not shown.
//
// A project p may not see is meta.ErrNotFound like a missing one; a log p
// may not read is ErrForbidden; a bad query is events.ErrBadQuery. The
// project is looked up and the log read in one transaction.
func (m *Manager) AuditLog(ctx context.Context, p auth.Principal, q events.AuditQuery) (events.AuditPage, error) {
	if q.Project == "" && !admin(p) {
		return events.AuditPage{}, fmt.Errorf("%w: only system administrators read the whole audit log", ErrForbidden)
	}
	var page events.AuditPage
	err := m.store.View(ctx, func(tx meta.Tx) error {
		var since uint64
		if q.Project != "" {
			proj, err := m.projectFor(tx, p, q.Project)
			if err != nil {
				return err
			}
			ok, err := m.authz.Can(p, proj.Name, rbac.ResourceMember, rbac.ActionRead)
			if err != nil {
				return err
			}
			if !ok || p.Kind == auth.Anonymous {
				return fmt.Errorf("%w: %s may not read the audit log of project %s", ErrForbidden, p.Name, proj.Name)
			}
			since = proj.ID
		}
		var err error
		page, err = events.ReadAudit(tx, q, since)
		return err
	})
	return page, err
}

// PurgeAudit deletes, for p, the events older than olderThan that every
// consumer of the event log has handled (events.Purge), and returns how
// many it deleted: the audit log's retention, for system administrators
// only (else ErrForbidden). A negative olderThan is ErrInvalid.
func (m *Manager) PurgeAudit(ctx context.Context, p auth.Principal, olderThan time.Duration) (int, error) {
	if !admin(p) {
		return 0, fmt.Errorf("%w: only system administrators purge the audit log", ErrForbidden)
	}
	if olderThan < 0 {
		return 0, fmt.Errorf("%w: audit retention %v is negative", ErrInvalid, olderThan)
	}
	return events.Purge(ctx, m.store, m.now().Add(-olderThan))
}
