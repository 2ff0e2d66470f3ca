package accounts

import (
	"errors"
	"testing"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/meta"
)

// TestAuditLogRules: who reads which audit log, for a Go caller as for the
// admin API: the whole log is for administrators; a project's log is for
// those who may read its members, and starts at the project's creation, so
// a project re-created under a deleted one's name does not show its
// predecessor's events.
func TestAuditLogRules(t *testing.T) {
	m, adm, alice, bob := readFixture(t)
	ctx := t.Context()
	// An earlier project "again", deleted, then a new one with alice as
	// its guest.
	if err := m.CreateProject(ctx, adm, "again", false); err != nil {
		t.Fatal(err)
	}
	if _, err := m.AddMember(ctx, adm, "again", "user", "bob", rbac.Guest); err != nil {
		t.Fatal(err)
	}
	if err := m.DeleteProject(ctx, "again"); err != nil {
		t.Fatal(err)
	}
	if err := m.CreateProject(ctx, adm, "again", false); err != nil {
		t.Fatal(err)
	}
	if _, err := m.AddMember(ctx, adm, "again", "user", "alice", rbac.Guest); err != nil {
		t.Fatal(err)
	}
	all := events.AuditQuery{Page: 1, Size: 100}
	page, err := m.AuditLog(ctx, adm, all)
	if err != nil || page.Total < 10 {
		t.Fatalf("the whole log for an administrator: %+v, %v", page, err)
	}
	for _, p := range []auth.Principal{alice, auth.AnonymousPrincipal} {
		if _, err := m.AuditLog(ctx, p, all); !errors.Is(err, ErrForbidden) {
			t.Errorf("%q reads the whole log: %v, want ErrForbidden", p.Name, err)
		}
	}

	again := events.AuditQuery{Project: "again", Page: 1, Size: 100}
	page, err = m.AuditLog(ctx, adm, again)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range page.Entries {
		got = append(got, e.Operation+" "+e.Resource)
	}
	if len(got) != 2 || got[0] != "CHANGE_MEMBER user:alice" || got[1] != "CREATE_PROJECT again" {
		t.Errorf("the log of the re-created project: %q, want its own two events", got)
	}
	if page, err := m.AuditLog(ctx, alice, again); err != nil || len(page.Entries) != 2 {
		t.Errorf("a guest of the re-created project reads its log: %+v, %v", page, err)
	}
	if _, err := m.AuditLog(ctx, bob, events.AuditQuery{Project: "open", Page: 1, Size: 10}); !errors.Is(err, ErrForbidden) {
		t.Errorf("a non-member reads a public project's log: %v, want ErrForbidden", err)
	}
	if page, err := m.AuditLog(ctx, alice, events.AuditQuery{Project: "team", Page: 1, Size: 100}); err != nil || len(page.Entries) == 0 {
		t.Errorf("a project admin reads its log: %+v, %v", page, err)
	}
	for _, project := range []string{"team", "nosuch", "again"} {
		if _, err := m.AuditLog(ctx, bob, events.AuditQuery{Project: project, Page: 1, Size: 10}); !errors.Is(err, meta.ErrNotFound) {
			t.Errorf("bob reads the log of %s: %v, want meta.ErrNotFound", project, err)
		}
	}
	if _, err := m.AuditLog(ctx, adm, events.AuditQuery{Filter: "nonsense", Page: 1, Size: 10}); !errors.Is(err, events.ErrBadQuery) {
		t.Errorf("a bad filter: %v, want events.ErrBadQuery", err)
	}

	if _, err := m.PurgeAudit(ctx, alice, 0); !errors.Is(err, ErrForbidden) {
		t.Errorf("alice purges: %v, want ErrForbidden", err)
	}
	if _, err := m.PurgeAudit(ctx, adm, -time.Hour); !errors.Is(err, ErrInvalid) {
		t.Errorf("a negative retention: %v, want ErrInvalid", err)
	}
	if n, err := m.PurgeAudit(ctx, adm, time.Hour); err != nil || n != 0 {
		t.Errorf("purging what is older than an hour: %d, %v", n, err)
	}
	if n, err := m.PurgeAudit(ctx, adm, 0); err != nil || n == 0 {
		t.Errorf("purging everything: %d, %v", n, err)
	}
	if page, _ := m.AuditLog(ctx, adm, all); len(page.Entries) != 0 {
		t.Errorf("after purging everything: %d entries", len(page.Entries))
	}
}
