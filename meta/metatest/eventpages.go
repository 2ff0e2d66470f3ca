package metatest

import (
	"reflect"
	"testing"

	"github.com/berthreg/berth/meta"
)

// testEventsBackward checks the newest-first walk: order, the filter
// applied while walking, a page ending at limit or at maxScan with a Next
// that continues without losing or repeating an event, the start of the
// log, and purged events skipped.
func testEventsBackward(t *testing.T, s meta.Store) {
	var seqs []uint64
	update(t, s, func(tx meta.Tx) error {
		for i := range 20 {
			typ := "PUSH_ARTIFACT"
			if i%4 == 0 {
				typ = "LOGIN"
			}
			seq, err := tx.Events().Append(meta.Event{Type: typ, Time: at(i)})
			check(t, "Append", err)
			seqs = append(seqs, seq)
		}
		return nil
	})
	seqsOf := func(es []meta.Event) []uint64 {
		out := []uint64{}
		for _, e := range es {
			out = append(out, e.Seq)
		}
		return out
	}
	rev := func(ns ...int) []uint64 { // seqs[ns...], in the order given
		out := []uint64{}
		for _, n := range ns {
			out = append(out, seqs[n])
		}
		return out
	}
	backward := func(before uint64, limit, maxScan int, match func(meta.Event) bool) meta.EventPage {
		t.Helper()
		var p meta.EventPage
		view(t, s, func(tx meta.Tx) error {
			var err error
			p, err = tx.Events().Backward(before, limit, maxScan, match)
			check(t, "Backward", err)
			return nil
		})
		return p
	}
	logins := func(e meta.Event) bool { return e.Type == "LOGIN" }

	// Newest first, limited; Next continues where the page ended.
	p := backward(0, 3, 0, nil)
	if got := seqsOf(p.Events); !reflect.DeepEqual(got, rev(19, 18, 17)) || p.Next != seqs[17] || p.Scanned != 3 {
		t.Fatalf("Backward(0, 3) = %v next %d scanned %d; want %v next %d scanned 3", got, p.Next, p.Scanned, rev(19, 18, 17), seqs[17])
	}
	p = backward(p.Next, 2, 0, nil)
	if got := seqsOf(p.Events); !reflect.DeepEqual(got, rev(16, 15)) {
		t.Fatalf("the next page = %v, want %v", got, rev(16, 15))
	}
	// The filter applies while walking: limit counts matches.
	p = backward(0, 2, 0, logins)
	if got := seqsOf(p.Events); !reflect.DeepEqual(got, rev(16, 12)) || p.Next != seqs[12] || p.Scanned != 8 {
		t.Fatalf("logins, 2: %v next %d scanned %d; want %v next %d scanned 8", got, p.Next, p.Scanned, rev(16, 12), seqs[12])
	}
	// maxScan ends a page early, with a Next that loses nothing.
	p = backward(0, 10, 5, logins)
	if got := seqsOf(p.Events); !reflect.DeepEqual(got, rev(16)) || p.Next != seqs[15] || p.Scanned != 5 {
		t.Fatalf("logins, scan 5: %v next %d scanned %d; want %v next %d", got, p.Next, p.Scanned, rev(16), seqs[15])
	}
	var all []uint64
	for before := uint64(0); ; {
		p := backward(before, 10, 3, logins)
		if p.Scanned > 3 {
			t.Fatalf("scanned %d of at most 3", p.Scanned)
		}
		all = append(all, seqsOf(p.Events)...)
		if p.Next == 0 {
			break
		}
		before = p.Next
	}
	if !reflect.DeepEqual(all, rev(16, 12, 8, 4, 0)) {
		t.Fatalf("walking every page of logins: %v, want %v", all, rev(16, 12, 8, 4, 0))
	}
	// The start of the log ends the walk: Next is 0.
	p = backward(seqs[2], 10, 0, nil)
	if got := seqsOf(p.Events); !reflect.DeepEqual(got, rev(1, 0)) || p.Next != 0 {
		t.Fatalf("below the third event: %v next %d, want %v next 0", got, p.Next, rev(1, 0))
	}
	// Purged events are gone from the walk.
	update(t, s, func(tx meta.Tx) error {
		n, err := tx.Events().Purge(at(10), seqs[19], 0)
		check(t, "Purge", err)
		if n != 10 {
			t.Errorf("Purge = %d, want 10", n)
		}
		return nil
	})
	p = backward(seqs[12], 10, 0, nil)
	if got := seqsOf(p.Events); !reflect.DeepEqual(got, rev(11, 10)) || p.Next != 0 {
		t.Fatalf("after a purge: %v next %d, want %v next 0", got, p.Next, rev(11, 10))
	}
}
