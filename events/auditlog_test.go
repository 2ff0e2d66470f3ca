package events

import (
	"errors"
	"fmt"
	"testing"

	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/meta"
)

// TestReadAudit: a Go caller pages the audit log as the admin API does:
// by position without a filter, by a bounded walk with a cursor with one,
// a project's events from its creation on; bad queries are ErrBadQuery.
func TestReadAudit(t *testing.T) {
	s := teststores.Open(t)
	var teamSince uint64
	err := s.Update(t.Context(), func(tx meta.Tx) error {
		for i := range 25 {
			e := meta.Event{Type: PushArtifact, Operator: "ci", Project: "team", Repository: "team/app", Tag: fmt.Sprint(i)}
			if i%10 == 3 {
				e = meta.Event{Type: DeleteUser, Operator: fmt.Sprint("admin", i), Resource: "carol"}
			}
			seq, err := tx.Events().Append(e)
			if err != nil {
				return err
			}
			if i == 20 {
				teamSince = seq
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	read := func(q AuditQuery, since uint64) AuditPage {
		t.Helper()
		var p AuditPage
		if err := s.View(t.Context(), func(tx meta.Tx) error {
			var err error
			p, err = ReadAudit(tx, q, since)
			return err
		}); err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		return p
	}

	p := read(AuditQuery{Page: 2, Size: 10}, 0)
	if p.Total != 25 || !p.More || len(p.Entries) != 10 || p.Entries[0].Resource != "team/app:14" || p.Entries[0].ResourceType != "artifact" {
		t.Errorf("unfiltered page 2: %+v", p)
	}
	if p = read(AuditQuery{Page: 3, Size: 10}, 0); p.More || len(p.Entries) != 5 {
		t.Errorf("unfiltered page 3: %d entries, more %v", len(p.Entries), p.More)
	}

	p = read(AuditQuery{Filter: "operation=DELETE_USER,resource_type=user", Page: 1, Size: 2}, 0)
	if p.Total != -1 || len(p.Entries) != 2 || p.Entries[0].Username != "admin23" || p.Entries[1].Username != "admin13" || p.Next == 0 {
		t.Fatalf("filtered page 1: %+v", p)
	}
	if p = read(AuditQuery{Filter: "operation=DELETE_USER", Page: 1, Size: 2, Before: p.Next}, 0); len(p.Entries) != 1 || p.Entries[0].Username != "admin3" {
		t.Errorf("continued from the cursor: %+v", p)
	}
	if p = read(AuditQuery{Filter: "operation=DELETE_USER", Page: 2, Size: 2}, 0); len(p.Entries) != 1 || p.Entries[0].Username != "admin3" {
		t.Errorf("filtered page 2: %+v", p)
	}

	p = read(AuditQuery{Project: "team", Page: 1, Size: 100}, teamSince)
	if len(p.Entries) != 4 || p.Entries[3].Resource != "team/app:20" {
		t.Errorf("team's log from its creation: %+v", p.Entries)
	}
	if p = read(AuditQuery{Project: "team", Filter: "resource=~app:2", Page: 1, Size: 100}, 0); len(p.Entries) != 5 {
		t.Errorf("team's log from the start, resource=~app:2: %d entries", len(p.Entries))
	}

	for _, q := range []AuditQuery{
		{Filter: "nonsense", Page: 1, Size: 10},
		{Page: 0, Size: 10},
		{Page: 1, Size: 0},
		{Page: 1, Size: MaxAuditScan + 1},
		{Page: 1, Size: 10, Skip: -1},
		{Page: 1, Size: 10, Skip: MaxAuditSkip + 1},
		{Page: MaxAuditSkip, Size: 100},
		{Filter: "operation=LOGIN", Page: 999999999999999999, Size: 100},
	} {
		err := s.View(t.Context(), func(tx meta.Tx) error { _, err := ReadAudit(tx, q, 0); return err })
		if !errors.Is(err, ErrBadQuery) {
			t.Errorf("%+v: %v, want ErrBadQuery", q, err)
		}
	}
}
