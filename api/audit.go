package api

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/meta"
)

// auditLog is Harbor's AuditLog, plus Berth's result and project.
type auditLog struct {
	ID           uint64    `json:"id"`
	Resource     string    `json:"resource"`
	ResourceType string    `json:"resource_type"`
	Operation    string    `json:"operation"`
	Username     string    `json:"username"`
	OpTime       time.Time `json:"op_time"`
	Result       string    `json:"result"`
	Project      string    `json:"project_name,omitempty"`
}

// resourceType is Harbor's resource_type of an event.
func resourceType(e meta.Event) string {
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

func toAuditJSON(e meta.Event) auditLog {
	result := e.Result
	if result == "" {
		result = "success"
	}
	return auditLog{ID: e.Seq, Resource: events.AuditResource(e), ResourceType: resourceType(e), Operation: e.Type,
		Username: e.Operator, OpTime: e.Time, Result: result, Project: e.Project}
}

// auditQuery is Harbor's q: comma-separated key=value, on username,
// operation, resource_type, resource and (Berth) project, exact, or
// resource=~text for a substring.
func auditQuery(q string) (func(auditLog) bool, error) {
	type cond struct{ key, val string }
	var conds []cond
	for _, part := range strings.Split(q, ",") {
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok || !slices.Contains([]string{"username", "operation", "resource_type", "resource", "project_name"}, k) {
			return nil, badRequest("q: %q is not key=value on username, operation, resource_type, resource or project_name", part)
		}
		conds = append(conds, cond{k, v})
	}
	return func(a auditLog) bool {
		for _, c := range conds {
			got := map[string]string{"username": a.Username, "operation": a.Operation, "resource_type": a.ResourceType,
				"resource": a.Resource, "project_name": a.Project}[c.key]
			if sub, ok := strings.CutPrefix(c.val, "~"); ok {
				if !strings.Contains(got, sub) {
					return false
				}
			} else if got != c.val {
				return false
			}
		}
		return true
	}, nil
}

// maxAuditScan bounds the events one audit log request examines: a
// filtered page that finds too few matches within it ends early, with a
// Link to continue.
const maxAuditScan = 10000

// auditLogs serves the audit log, newest first: GET /audit-logs
// (administrators) and GET /projects/{project}/logs (its members who may
// read its members). It pages in the store, never loading the log:
//
//   - Unfiltered (no q, no project, no before): page and page_size address
//     the log directly; X-Total-Count is exact.
//   - Filtered: the walk skips (page-1)*page_size matches and collects
//     page_size, examining at most maxAuditScan events; X-Total-Count is
//     omitted. When the walk stops with more of the log below, the Link
//     rel="next" carries a cursor, before=<seq> and skip=<matches still
//     to pass over>, that continues the walk with page=1; so a page may
//     hold fewer items than page_size (even none) and still have a next
//     one.
func (h *Handler) auditLogs(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	project := r.PathValue("project")
	if project == "" {
		if err := adminOnly(p); err != nil {
			return err
		}
	} else if _, err := h.allowedOn(r, p, project, rbac.ResourceMember, rbac.ActionRead); err != nil {
		return err
	}
	q := r.URL.Query().Get("q")
	match, err := auditQuery(q)
	if err != nil {
		return err
	}
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	before, skip, err := auditCursor(r)
	if err != nil {
		return err
	}
	if pg.num-1 > (maxAuditSkip-skip)/pg.size {
		return badRequest("page: %d is beyond the %d entries a page may skip", pg.num, maxAuditSkip)
	}
	var res auditPage
	err = h.store.View(r.Context(), func(tx meta.Tx) error {
		if project == "" && q == "" && before == 0 && skip == 0 {
			res, err = auditByPosition(tx.Events(), pg)
			return err
		}
		var since uint64 // a project's log starts at its creation: an earlier project of its name is not its past
		if project != "" {
			p, err := accounts.Projects.In(tx).Get(project)
			if err != nil {
				return err
			}
			since = p.ID
		}
		keep := func(e meta.Event) bool {
			return (project == "" || e.Project == project && e.Seq >= since) && match(toAuditJSON(e))
		}
		res, err = auditWalk(tx.Events(), pg.size, before, skip+(pg.num-1)*pg.size, keep)
		return err
	})
	if err != nil {
		return err
	}
	list := make([]auditLog, 0, len(res.events))
	for _, e := range res.events {
		list = append(list, toAuditJSON(e))
	}
	setAuditLinks(w, r, pg, res)
	writeJSON(w, http.StatusOK, list)
	return nil
}

// auditCursor reads the cursor of a Link rel="next": before (a sequence
// number) and skip (matches below it still to pass over).
func auditCursor(r *http.Request) (before uint64, skip int, err error) {
	q := r.URL.Query()
	if v := q.Get("before"); v != "" {
		if before, err = strconv.ParseUint(v, 10, 64); err != nil || before == 0 {
			return 0, 0, badRequest("before: %q is not a positive integer (a cursor from a Link rel=\"next\")", v)
		}
	}
	if v := q.Get("skip"); v != "" {
		if skip, err = strconv.Atoi(v); err != nil || skip < 0 || skip > maxAuditSkip {
			return 0, 0, badRequest("skip: %q is not an integer from 0 to %d", v, maxAuditSkip)
		}
	}
	return before, skip, nil
}

// maxAuditSkip bounds the skip of a cursor; page numbers are bounded by
// what a page walk can skip anyway.
const maxAuditSkip = 1 << 30

// auditPage is the answer of one audit log request.
type auditPage struct {
	events []meta.Event
	// total is the number of events in the log, -1 when unknown.
	total int64
	// next, when not 0, continues the walk: before=next, skip=nextSkip.
	next     uint64
	nextSkip int
	// more reports a next page by number (unfiltered paging).
	more bool
}

// auditByPosition serves an unfiltered page: the log's sequence numbers
// run without holes from its oldest kept event (Purge removes the oldest
// only), so page n starts at a computed position.
func auditByPosition(ev meta.Events, pg page) (auditPage, error) {
	res := auditPage{total: 0}
	last, err := ev.Last()
	if err != nil {
		return res, err
	}
	oldest, err := ev.List(0, 1)
	if err != nil || len(oldest) == 0 {
		return res, err
	}
	first := oldest[0].Seq
	res.total = int64(last - first + 1)
	skip := uint64(pg.num-1) * uint64(pg.size)
	if skip >= uint64(res.total) {
		return res, nil
	}
	top := last - skip // the newest event of the page
	p, err := ev.Backward(top+1, pg.size, pg.size, nil)
	if err != nil {
		return res, err
	}
	res.events = p.Events
	res.more = top-first+1 > uint64(pg.size)
	return res, nil
}

// auditWalk serves a filtered page, or one continuing from a cursor: skip
// matches below before (0: from the newest) are passed over, then a page
// collected, all within maxAuditScan events examined. When the budget runs
// out first, the cursor says where to go on and how many matches are
// still to skip.
func auditWalk(ev meta.Events, size int, before uint64, skip int, keep func(meta.Event) bool) (auditPage, error) {
	res := auditPage{total: -1}
	budget := maxAuditScan
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
			res.next, res.nextSkip = before, skip
			return res, nil
		}
	}
	p, err := ev.Backward(before, size, budget, keep)
	if err != nil {
		return res, err
	}
	res.events, res.next = p.Events, p.Next
	return res, nil
}

// setAuditLinks sets the paging headers of an audit log page.
func setAuditLinks(w http.ResponseWriter, r *http.Request, pg page, res auditPage) {
	if res.total >= 0 {
		w.Header().Set("X-Total-Count", strconv.FormatInt(res.total, 10))
	}
	link := func(num int, before uint64, skip int, rel string) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(num))
		q.Set("page_size", strconv.Itoa(pg.size))
		q.Del("before")
		q.Del("skip")
		if before != 0 {
			q.Set("before", strconv.FormatUint(before, 10))
		}
		if skip != 0 {
			q.Set("skip", strconv.Itoa(skip))
		}
		u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
		return fmt.Sprintf(`<%s>; rel="%s"`, u.String(), rel)
	}
	var links []string
	if pg.num > 1 && res.total >= 0 {
		links = append(links, link(pg.num-1, 0, 0, "prev"))
	}
	switch {
	case res.more:
		links = append(links, link(pg.num+1, 0, 0, "next"))
	case res.next != 0:
		links = append(links, link(1, res.next, res.nextSkip, "next"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, " , "))
	}
}

// purgeAudit is POST /system/purgeaudit {"audit_retention_hour": N}
// (administrators): events older than N hours that every consumer has
// handled are deleted now; the answer says how many.
func (h *Handler) purgeAudit(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := adminOnly(p); err != nil {
		return err
	}
	var req struct {
		Hours *int `json:"audit_retention_hour"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Hours == nil || *req.Hours < 0 {
		return badRequest("audit_retention_hour: a number of hours, 0 or more, is required")
	}
	n, err := events.Purge(r.Context(), h.store, time.Now().Add(-time.Duration(*req.Hours)*time.Hour))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"purged": strconv.Itoa(n)})
	return nil
}
