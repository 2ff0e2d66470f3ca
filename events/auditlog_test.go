package events

import (
	"errors"
	"fmt"
	"testing"
	"time"

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

// gappedLog is an event log in memory whose sequence numbers have gaps
// where the test leaves them, as a backend whose rolled-back appends burn
// numbers (meta/postgres) leaves them, and its oldest events purged.
// meta/bolt cannot make such a log (its numbers are given again after a
// rollback, and its Purge removes the oldest events only) and the
// PostgreSQL backend needs a server, so the audit log's paging is tested
// on this fake; it implements meta.Events as meta/bolt does, every gap
// settled.
type gappedLog struct{ evs []meta.Event } // by Seq, ascending

func (g *gappedLog) Append(meta.Event) (uint64, error) { return 0, errors.New("gappedLog: read-only") }

func (g *gappedLog) List(after uint64, limit int) ([]meta.Event, error) {
	var out []meta.Event
	for _, e := range g.evs {
		if e.Seq > after && (limit <= 0 || len(out) < limit) {
			out = append(out, e)
		}
	}
	return out, nil
}

func (g *gappedLog) Last() (uint64, error) {
	if len(g.evs) == 0 {
		return 0, nil
	}
	return g.evs[len(g.evs)-1].Seq, nil
}

func (g *gappedLog) Purge(time.Time, uint64, int) (int, error) {
	return 0, errors.New("gappedLog: read-only")
}

func (g *gappedLog) Backward(before uint64, limit, maxScan int, match func(meta.Event) bool) (meta.EventPage, error) {
	var p meta.EventPage
	for i := len(g.evs) - 1; i >= 0; i-- {
		e := g.evs[i]
		if before != 0 && e.Seq >= before {
			continue
		}
		if (limit > 0 && len(p.Events) >= limit) || (maxScan > 0 && p.Scanned >= maxScan) {
			return p, nil
		}
		p.Scanned++
		p.Next = e.Seq
		if match == nil || match(e) {
			p.Events = append(p.Events, e)
		}
	}
	p.Next = 0
	return p, nil
}

// logTx is a transaction with only an event log: all ReadAudit reads.
type logTx struct {
	meta.Tx
	log meta.Events
}

func (t logTx) Events() meta.Events { return t.log }

// TestReadAuditWithGaps: on a log whose sequence numbers have gaps (a
// purged prefix, holes of one, of a few, and one wider than a page),
// unfiltered pages by number show every event once, newest first, for
// every page size: the ceil(Total/Size) pages that Total implies, and the
// pages followed by More, are the same and cover the log. Total is the
// span of the numbers (an upper bound of the count). Pages used to be
// computed as if the numbers had no gaps: a page ran past its window into
// the next, which showed the same events again.
func TestReadAuditWithGaps(t *testing.T) {
	gaps := map[uint64]bool{10: true, 11: true, 12: true, 20: true, 60: true, 79: true}
	for s := uint64(33); s <= 45; s++ {
		gaps[s] = true
	}
	log := &gappedLog{}
	var want []uint64 // newest first
	// 1 to 4 are purged, 80 is the last.
	for s := uint64(5); s <= 80; s++ {
		if !gaps[s] {
			log.evs = append(log.evs, meta.Event{Seq: s, Type: PushArtifact, Operator: "ci", Repository: "team/app", Tag: fmt.Sprint(s)})
			want = append([]uint64{s}, want...)
		}
	}
	tx := logTx{log: log}
	for size := 1; size <= 20; size++ {
		var byTotal, byMore []uint64
		first, err := ReadAudit(tx, AuditQuery{Page: 1, Size: size}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if first.Total != 76 {
			t.Fatalf("size %d: Total %d, want the span 76 (of %d events)", size, first.Total, len(want))
		}
		pages := int((first.Total + int64(size) - 1) / int64(size))
		for n := 1; n <= pages; n++ {
			p, err := ReadAudit(tx, AuditQuery{Page: n, Size: size}, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Entries) > size || p.More != (n < pages) || p.Total != first.Total {
				t.Errorf("size %d, page %d of %d: %d entries, More %v, Total %d", size, n, pages, len(p.Entries), p.More, p.Total)
			}
			for _, e := range p.Entries {
				byTotal = append(byTotal, e.Seq)
			}
		}
		for n := 1; ; n++ {
			p, err := ReadAudit(tx, AuditQuery{Page: n, Size: size}, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range p.Entries {
				byMore = append(byMore, e.Seq)
			}
			if !p.More {
				break
			}
		}
		if fmt.Sprint(byTotal) != fmt.Sprint(want) || fmt.Sprint(byMore) != fmt.Sprint(want) {
			t.Errorf("size %d: pages by Total show %v\npages by More show %v\nwant every event once, newest first: %v", size, byTotal, byMore, want)
		}
		if p, err := ReadAudit(tx, AuditQuery{Page: pages + 1, Size: size}, 0); err != nil || len(p.Entries) != 0 || p.More {
			t.Errorf("size %d: the page past the last: %+v, %v", size, p, err)
		}
	}
	// A filtered query walks the log and is not concerned by gaps.
	var walked []uint64
	q := AuditQuery{Filter: "operation=" + PushArtifact, Page: 1, Size: 7}
	for {
		p, err := ReadAudit(tx, q, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Entries {
			walked = append(walked, e.Seq)
		}
		if p.Next == 0 {
			break
		}
		q.Before, q.Skip = p.Next, p.NextSkip
	}
	if fmt.Sprint(walked) != fmt.Sprint(want) {
		t.Errorf("the filtered walk showed %v, want %v", walked, want)
	}
}
