package events

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/berthreg/berth/internal/harborq"
	"github.com/berthreg/berth/meta"
)

// ErrBadQuery reports an audit log query that cannot be answered; the
// message names the parameter as the admin API spells it ("q: …").
var ErrBadQuery = errors.New("events: bad audit query")

// Bounds of an audit log query.
const (
	// MaxAuditScan bounds the events one query examines: a filtered page
	// that finds too few matches within it ends early, with a cursor to
	// continue (AuditPage.Next).
	MaxAuditScan = 10000
	// MaxAuditSkip bounds the matches a query passes over: its cursor's
	// Skip plus the entries of the pages before Page.
	MaxAuditSkip = 1 << 30
)

// AuditEntry is what the audit log shows of an event.
type AuditEntry struct {
	// Seq is the event's sequence number.
	Seq uint64
	// Time is when it happened.
	Time time.Time
	// Username is the operator.
	Username string
	// Operation is the event type.
	Operation string
	// ResourceType is Harbor's resource type (AuditResourceType).
	ResourceType string
	// Resource names what the event is about (AuditResource).
	Resource string
	// Project is the project it happened in, if any.
	Project string
	// Result is "success" or "failure".
	Result string
}

// AuditResourceType is Harbor's resource_type of e: "artifact",
// "repository", or the part of its type after the first '_' in lower case
// ("project" for CREATE_PROJECT).
func AuditResourceType(e meta.Event) string {
	switch {
	case e.Digest != "" || e.Tag != "":
		return "artifact"
	case e.Repository != "":
		return "repository"
	}
	t := strings.ToLower(e.Type)
	if _, after, ok := strings.Cut(t, "_"); ok {
		return after
	}
	return t
}

// AuditEntryOf is the audit log entry of e; an event without a result
// succeeded.
func AuditEntryOf(e meta.Event) AuditEntry {
	result := e.Result
	if result == "" {
		result = "success"
	}
	return AuditEntry{Seq: e.Seq, Time: e.Time, Username: e.Operator, Operation: e.Type, ResourceType: AuditResourceType(e),
		Resource: AuditResource(e), Project: e.Project, Result: result}
}

// AuditFilter keeps the audit entries that meet every one of its
// conditions; the zero value keeps every entry.
type AuditFilter struct {
	q harborq.Query
}

// auditKeys are the fields a filter condition may name.
var auditKeys = []string{"username", "operation", "resource_type", "resource", "project_name"}

// ParseAuditFilter reads Harbor's q: comma-separated key=value conditions
// on username, operation, resource_type, resource and project_name (Berth),
// exact, or key=~text for a substring. A malformed q is ErrBadQuery.
func ParseAuditFilter(q string) (AuditFilter, error) {
	parsed, err := harborq.Parse(q, auditKeys...)
	if err != nil {
		return AuditFilter{}, fmt.Errorf("%w: %w", ErrBadQuery, err)
	}
	return AuditFilter{parsed}, nil
}

// Empty reports whether f keeps every entry.
func (f AuditFilter) Empty() bool { return f.q.Empty() }

// Match reports whether a meets every condition of f.
func (f AuditFilter) Match(a AuditEntry) bool {
	return f.q.Match(func(key string) string {
		switch key {
		case "username":
			return a.Username
		case "operation":
			return a.Operation
		case "resource_type":
			return a.ResourceType
		case "resource":
			return a.Resource
		case "project_name":
			return a.Project
		}
		return ""
	})
}

// AuditQuery asks for one page of the audit log, newest first.
type AuditQuery struct {
	// Filter is Harbor's q (see ParseAuditFilter); "" keeps everything.
	Filter string
	// Project, when set, keeps that project's events only.
	Project string
	// Page (from 1) and Size (from 1 to MaxAuditScan) select the page.
	Page, Size int
	// Before and Skip are the cursor of an AuditPage's Next: the walk
	// goes on below sequence number Before (0: from the newest event),
	// first passing over Skip matches.
	Before uint64
	Skip   int
}

// AuditPage is one page of the audit log.
type AuditPage struct {
	// Entries are the page's entries, newest first.
	Entries []AuditEntry
	// Total, for an unfiltered query, is the span of the log's sequence
	// numbers, from its oldest kept event to its last: its number of
	// events, or more when sequence numbers have gaps (see ReadAudit);
	// -1 when unknown (a filtered or continued query).
	Total int64
	// More reports a next page by number (Page+1), for an unfiltered
	// query; it may hold fewer than Size entries (even none) when the
	// log has gaps.
	More bool
	// Next, when not 0, continues a filtered query: the same query with
	// Page 1, Before Next and Skip NextSkip. A page may hold fewer entries
	// than Size (even none) and still have a Next.
	Next     uint64
	NextSkip int
}

// validate checks q's page and cursor.
func (q AuditQuery) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadQuery, fmt.Sprintf(format, args...))
	}
	switch {
	case q.Page < 1:
		return bad("page: %d is not a positive integer", q.Page)
	case q.Size < 1 || q.Size > MaxAuditScan:
		return bad("page_size: %d is not between 1 and %d", q.Size, MaxAuditScan)
	case q.Skip < 0 || q.Skip > MaxAuditSkip:
		return bad("skip: %d is not an integer from 0 to %d", q.Skip, MaxAuditSkip)
	case q.Page-1 > (MaxAuditSkip-q.Skip)/q.Size:
		return bad("page: %d is beyond the %d entries a page may skip", q.Page, MaxAuditSkip)
	}
	return nil
}

// ReadAudit reads one page of the audit log in tx, paging in the store and
// never loading the log. A project's events are those from sequence
// number since on (its creation: an earlier project of the same name is
// not its past); since is ignored without q.Project. Who may read which
// events is for the caller to decide (accounts.Manager.AuditLog does).
//
//   - Unfiltered (no Filter, no Project, no cursor): Page and Size address
//     the log directly by sequence number: page n holds the events
//     numbered in the n-th window of Size numbers below the last, so
//     pages never repeat or miss an event, at a cost bounded by Size.
//     Sequence numbers increase but may have gaps (meta.Event.Seq: a
//     backend whose rolled-back appends burn numbers, such as
//     meta/postgres), so a page may hold fewer than Size entries, even
//     none, and Total, the span of the numbers, is the number of events
//     only when there are no gaps, and otherwise an upper bound: an exact
//     count would read the whole log on every page. The ceil(Total/Size)
//     pages it implies reach every event. On meta/bolt, whose numbers are
//     given again after a rollback and whose Purge removes the oldest
//     events only, there are no gaps and Total is exact.
//   - Otherwise the walk passes over Skip+(Page-1)*Size matches and
//     collects Size, examining at most MaxAuditScan events; when it stops
//     with more of the log below, Next and NextSkip say where to go on.
//
// A bad query is ErrBadQuery.
func ReadAudit(tx meta.Tx, q AuditQuery, since uint64) (AuditPage, error) {
	f, err := ParseAuditFilter(q.Filter)
	if err != nil {
		return AuditPage{}, err
	}
	if err := q.validate(); err != nil {
		return AuditPage{}, err
	}
	if q.Project == "" && f.Empty() && q.Before == 0 && q.Skip == 0 {
		return auditByPosition(tx.Events(), q.Page, q.Size)
	}
	keep := func(e meta.Event) bool {
		return (q.Project == "" || e.Project == q.Project && e.Seq >= since) && f.Match(AuditEntryOf(e))
	}
	return auditWalk(tx.Events(), q.Size, q.Before, q.Skip+(q.Page-1)*q.Size, keep)
}

// entries turns events into audit entries (never nil).
func entries(evs []meta.Event) []AuditEntry {
	out := make([]AuditEntry, 0, len(evs))
	for _, e := range evs {
		out = append(out, AuditEntryOf(e))
	}
	return out
}

// auditByPosition serves an unfiltered page by sequence number: page n
// shows the events numbered within the n-th window of size numbers below
// the log's last one (Events.Last), down to its oldest kept event. The
// windows tile the log's span, so paging shows every event once, with
// no work beyond the page however deep it lies; but sequence numbers may
// have gaps (a rolled-back append on a backend that burns numbers), so a
// page may hold fewer than size events, even none while later pages hold
// some. Total is the span, last-first+1: the number of events when the
// log has no gaps, an upper bound when it has (counting them would mean
// reading the whole log), and what the pages add up to: ceil(Total/size)
// pages reach every event.
func auditByPosition(ev meta.Events, num, size int) (AuditPage, error) {
	res := AuditPage{Entries: []AuditEntry{}}
	last, err := ev.Last()
	if err != nil {
		return res, err
	}
	oldest, err := ev.List(0, 1)
	if err != nil || len(oldest) == 0 || oldest[0].Seq > last {
		return res, err
	}
	first := oldest[0].Seq
	res.Total = int64(last - first + 1)
	skip := uint64(num-1) * uint64(size)
	if skip >= uint64(res.Total) {
		return res, nil
	}
	top := last - skip // the window is [top-size+1, top], at most down to first
	bottom := first
	if top-first+1 > uint64(size) {
		bottom = top - uint64(size) + 1
		res.More = true
	}
	// At most size events lie in the window: examining size below top+1
	// reaches its bottom, and whatever they take from the windows below
	// is left to those.
	p, err := ev.Backward(top+1, size, size, func(e meta.Event) bool { return e.Seq >= bottom })
	if err != nil {
		return res, err
	}
	res.Entries = entries(p.Events)
	return res, nil
}

// auditWalk serves a filtered page, or one continuing from a cursor: skip
// matches below before (0: from the newest) are passed over, then a page
// collected, all within MaxAuditScan events examined. When the budget runs
// out first, the cursor says where to go on and how many matches are
// still to skip.
func auditWalk(ev meta.Events, size int, before uint64, skip int, keep func(meta.Event) bool) (AuditPage, error) {
	res := AuditPage{Total: -1, Entries: []AuditEntry{}}
	budget := MaxAuditScan
	if skip > 0 {
		p, err := ev.Backward(before, skip, budget, keep)
		if err != nil {
			return res, err
		}
		budget -= p.Scanned
		skip -= len(p.Events)
		if p.Next == 0 {
			return res, nil // the log ends before the page
		}
		before = p.Next
		if skip > 0 || budget <= 0 {
			res.Next, res.NextSkip = before, skip
			return res, nil
		}
	}
	p, err := ev.Backward(before, size, budget, keep)
	if err != nil {
		return res, err
	}
	res.Entries, res.Next = entries(p.Events), p.Next
	return res, nil
}
