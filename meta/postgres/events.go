package postgres

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/berthreg/berth/meta"
)

// events is the meta.Events view of a transaction.
type events struct{ t *tx }

// Events returns the event log view of the transaction.
func (t *tx) Events() meta.Events { return events{t} }

func decodeEvent(seq int64, body []byte) (meta.Event, error) {
	var e meta.Event
	if err := json.Unmarshal(body, &e); err != nil {
		return e, fmt.Errorf("meta/postgres: event %d: corrupt record: %w", seq, err)
	}
	e.Seq, e.Time = uint64(seq), e.Time.UTC()
	return e, nil
}

// Append adds e with the next sequence number: one call of
// berth_event_append (see the package doc for the horizon it records).
func (ev events) Append(e meta.Event) (uint64, error) {
	if err := ev.t.writable("append event"); err != nil {
		return 0, err
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Seq, e.Time = 0, ts(e.Time)
	body, err := json.Marshal(e)
	if err != nil {
		return 0, fmt.Errorf("meta/postgres: append event: %w", err)
	}
	var seq int64
	if _, err := ev.t.one("append event", `SELECT berth_event_append($1, $2)`, []any{e.Time, body}, &seq); err != nil {
		return 0, err
	}
	return uint64(seq), nil
}

// List returns up to limit events after sequence number after, in order,
// stopping before the first gap that is not settled: a missing number
// below an event is settled when some event at or above it, in the page
// read, has a horizon at or below this transaction's snapshot xmin (then
// every transaction that could hold the missing number has ended, so it
// was rolled back or purged). So List never returns an event past a
// number that may still commit.
func (ev events) List(after uint64, limit int) ([]meta.Event, error) {
	if err := ev.t.live(); err != nil {
		return nil, err
	}
	from, ok := seqArg(after)
	if !ok {
		return nil, nil
	}
	type row struct {
		seq     int64
		settled bool
		body    []byte
	}
	var rows []row
	_, err := ev.t.run("list events", `
		SELECT seq, horizon <= pg_snapshot_xmin(pg_current_snapshot()), body
		FROM events WHERE seq > $1 ORDER BY seq LIMIT $2`, []any{from, limitArg(limit)}, func(r pgx.Rows) error {
		var x row
		err := r.Scan(&x.seq, &x.settled, &x.body)
		rows = append(rows, x)
		return err
	})
	if err != nil {
		return nil, err
	}
	// settles[i]: some event from i on settles the gaps below it.
	settles := make([]bool, len(rows)+1)
	for i := len(rows) - 1; i >= 0; i-- {
		settles[i] = settles[i+1] || rows[i].settled
	}
	var out []meta.Event
	prev := from
	for i, r := range rows {
		if r.seq != prev+1 && !settles[i] {
			break
		}
		e, err := decodeEvent(r.seq, r.body)
		if err != nil {
			return out, err
		}
		out = append(out, e)
		prev = r.seq
	}
	return out, nil
}

// Last returns the highest sequence number List reaches from the start
// of the log: below it, every number is an event or a settled gap; 0 when
// there is none (also when every event was purged). A consumer that
// starts from Last skips nothing that commits later.
//
// It finds S, the highest event whose horizon the snapshot's xmin has
// reached (every gap below S is settled), by walking the primary key down
// from the newest event, past the few that are not settled yet; then the
// end of the run of consecutive numbers from S.
func (ev events) Last() (uint64, error) {
	if err := ev.t.live(); err != nil {
		return 0, err
	}
	var last int64
	_, err := ev.t.one("last event", `
		WITH s AS (
			SELECT coalesce((SELECT seq FROM events WHERE horizon <= pg_snapshot_xmin(pg_current_snapshot())
				ORDER BY seq DESC LIMIT 1), 0) AS s
		),
		start AS (
			SELECT CASE WHEN s > 0 THEN s WHEN EXISTS (SELECT 1 FROM events WHERE seq = 1) THEN 1 ELSE 0 END AS st FROM s
		)
		SELECT coalesce((
			SELECT e.seq FROM events e, start
			WHERE start.st > 0 AND e.seq >= start.st AND NOT EXISTS (SELECT 1 FROM events n WHERE n.seq = e.seq + 1)
			ORDER BY e.seq LIMIT 1), 0)`, nil, &last)
	return uint64(last), err
}

// Purge deletes up to limit of the oldest events before t with Seq <=
// upTo: from the oldest on, stopping at the first that is not before t.
func (ev events) Purge(before time.Time, upTo uint64, limit int) (int, error) {
	if err := ev.t.writable("purge events"); err != nil {
		return 0, err
	}
	to, _ := seqArg(min(upTo, math.MaxInt64))
	tag, err := ev.t.run("purge events", `
		WITH stop AS (SELECT min(seq) AS s FROM events WHERE seq <= $1 AND time >= $2)
		DELETE FROM events WHERE seq IN (
			SELECT seq FROM events, stop WHERE seq <= $1 AND (stop.s IS NULL OR seq < stop.s)
			ORDER BY seq LIMIT $3)`, []any{to, ceilMicro(before), limitArg(limit)}, nil)
	return int(tag.RowsAffected()), err
}

// ceilMicro rounds t up to a microsecond: event times are kept in
// microseconds, so time < ceilMicro(t) exactly when the time is before t.
func ceilMicro(t time.Time) time.Time {
	if c := ts(t); c.Before(t) {
		return c.Add(time.Microsecond)
	}
	return ts(t)
}

// backwardChunk is how many events Backward reads per statement when
// neither limit nor maxScan bound it tighter.
const backwardChunk = 256

// Backward walks the log newest first from below before, reading it in
// chunks of at most backwardChunk events (and never more than maxScan).
// It shows every event of the snapshot: an audit query does not wait for
// gaps to settle.
func (ev events) Backward(before uint64, limit, maxScan int, match func(meta.Event) bool) (meta.EventPage, error) {
	var p meta.EventPage
	if err := ev.t.live(); err != nil {
		return p, err
	}
	below := int64(math.MaxInt64)
	if b, ok := seqArg(before); ok && before != 0 {
		below = b
	}
	for {
		n := backwardChunk
		if maxScan > 0 {
			n = min(n, maxScan-p.Scanned)
		}
		if match == nil && limit > 0 {
			n = min(n, limit-len(p.Events))
		}
		var chunk []meta.Event
		_, err := ev.t.run("walk events", `SELECT seq, body FROM events WHERE seq < $1 ORDER BY seq DESC LIMIT $2`,
			[]any{below, int64(n + 1)}, func(r pgx.Rows) error {
				var seq int64
				var body []byte
				if err := r.Scan(&seq, &body); err != nil {
					return err
				}
				e, err := decodeEvent(seq, body)
				chunk = append(chunk, e)
				return err
			})
		if err != nil {
			return p, err
		}
		for _, e := range chunk {
			if (limit > 0 && len(p.Events) >= limit) || (maxScan > 0 && p.Scanned >= maxScan) {
				return p, nil // Next is the last event examined: more lie below
			}
			p.Scanned++
			p.Next = e.Seq
			if match == nil || match(e) {
				p.Events = append(p.Events, e)
			}
		}
		if len(chunk) <= n {
			p.Next = 0 // the oldest event was examined
			return p, nil
		}
		below = int64(p.Next)
	}
}
