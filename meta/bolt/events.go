package bolt

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/berthreg/berth/meta"
)

// Buckets of the event log and its consumers' cursors. Events are keyed by
// their 8-byte big-endian sequence number, so the log reads in order; they
// hold JSON, like the other records that are not on the registry's hot
// path.
var (
	bucketEvents  = []byte("events")
	bucketCursors = []byte("cursors")
)

func seqKey(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// events is the meta.Events view of a transaction.
type events struct{ t *tx }

// Events returns the event log view of the transaction.
func (t *tx) Events() meta.Events { return events{t} }

// Cursors returns the event log consumers' cursors.
func (t *tx) Cursors() meta.Table[meta.Cursor] {
	return table[meta.Cursor]{t, bucketCursors, "cursor", func(c meta.Cursor) string { return c.Name }}
}

// Append adds e with the next sequence number.
func (ev events) Append(e meta.Event) (uint64, error) {
	if err := ev.t.writable("append event"); err != nil {
		return 0, err
	}
	b := ev.t.top(bucketEvents)
	seq, err := b.NextSequence()
	if err != nil {
		return 0, fmt.Errorf("meta/bolt: append event: %w", err)
	}
	e.Seq = seq
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC()
	raw, err := json.Marshal(e)
	if err == nil {
		err = b.Put(seqKey(seq), raw)
	}
	if err != nil {
		return 0, fmt.Errorf("meta/bolt: append event: %w", err)
	}
	return seq, nil
}

func decodeEvent(k, raw []byte) (meta.Event, error) {
	var e meta.Event
	if err := json.Unmarshal(raw, &e); err != nil || len(k) != 8 || e.Seq != binary.BigEndian.Uint64(k) {
		return e, fmt.Errorf("meta/bolt: event %x: corrupt record (%v)", k, err)
	}
	return e, nil
}

// List returns up to limit events after sequence number after.
func (ev events) List(after uint64, limit int) ([]meta.Event, error) {
	if err := ev.t.live(); err != nil {
		return nil, err
	}
	var out []meta.Event
	err := page(ev.t.top(bucketEvents), seqKey(after), limit, func(k, raw []byte) error {
		e, err := decodeEvent(k, raw)
		if err == nil {
			out = append(out, e)
		}
		return err
	})
	return out, err
}

// Last returns the highest sequence number appended.
func (ev events) Last() (uint64, error) {
	if err := ev.t.live(); err != nil {
		return 0, err
	}
	return ev.t.top(bucketEvents).Sequence(), nil
}

// Purge deletes up to limit of the oldest events before t with Seq <= upTo.
func (ev events) Purge(before time.Time, upTo uint64, limit int) (int, error) {
	if err := ev.t.writable("purge events"); err != nil {
		return 0, err
	}
	c := ev.t.top(bucketEvents).Cursor()
	n := 0
	for k, raw := c.First(); k != nil && (limit <= 0 || n < limit); k, raw = c.First() {
		e, err := decodeEvent(k, raw)
		if err != nil {
			return n, err
		}
		if e.Seq > upTo || !e.Time.Before(before) {
			break
		}
		if err := c.Delete(); err != nil {
			return n, fmt.Errorf("meta/bolt: purge events: %w", err)
		}
		n++
	}
	return n, nil
}

// Backward walks the log newest first from below before.
func (ev events) Backward(before uint64, limit, maxScan int, match func(meta.Event) bool) (meta.EventPage, error) {
	var p meta.EventPage
	if err := ev.t.live(); err != nil {
		return p, err
	}
	c := ev.t.top(bucketEvents).Cursor()
	var k, raw []byte
	if before == 0 {
		k, raw = c.Last()
	} else if k, _ = c.Seek(seqKey(before)); k == nil {
		k, raw = c.Last() // every event is below before
	} else {
		k, raw = c.Prev() // Seek found before itself or the first event above it
	}
	for ; k != nil; k, raw = c.Prev() {
		if (limit > 0 && len(p.Events) >= limit) || (maxScan > 0 && p.Scanned >= maxScan) {
			return p, nil // Next is the last event examined: more lie below
		}
		e, err := decodeEvent(k, raw)
		if err != nil {
			return p, err
		}
		p.Scanned++
		p.Next = e.Seq
		if match == nil || match(e) {
			p.Events = append(p.Events, e)
		}
	}
	p.Next = 0 // the oldest event was examined
	return p, nil
}
