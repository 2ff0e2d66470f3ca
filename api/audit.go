package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/events"
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

func toAuditJSON(e events.AuditEntry) auditLog {
	return auditLog{ID: e.Seq, Resource: e.Resource, ResourceType: e.ResourceType, Operation: e.Operation,
		Username: e.Username, OpTime: e.Time, Result: e.Result, Project: e.Project}
}

// auditLogs serves the audit log, newest first: GET /audit-logs
// (administrators) and GET /projects/{project}/logs (its members who may
// read its members); accounts.Manager's AuditLog says who reads what and
// events.ReadAudit pages in the store, never loading the log:
//
//   - Unfiltered (no q, no project, no before): page and page_size address
//     the log directly, by sequence number (the id of an entry): page n
//     holds the entries whose ids fall in the n-th window of page_size
//     ids below the newest. X-Total-Count is the span of the ids, oldest
//     kept to newest: Harbor's count of entries when ids have no gaps
//     (meta/bolt), an upper bound when they have (a backend whose
//     rolled-back appends burn ids, such as PostgreSQL), since counting
//     would read the whole log. Either way the ceil(X-Total-Count /
//     page_size) pages a client computes from it show every entry once;
//     with gaps some hold fewer than page_size, even none.
//   - Filtered: the walk skips (page-1)*page_size matches and collects
//     page_size, examining at most events.MaxAuditScan events;
//     X-Total-Count is omitted. When the walk stops with more of the log
//     below, the Link rel="next" carries a cursor, before=<seq> and
//     skip=<matches still to pass over>, that continues the walk with
//     page=1; so a page may hold fewer items than page_size (even none)
//     and still have a next one.
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
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	before, skip, err := auditCursor(r)
	if err != nil {
		return err
	}
	res, err := h.m.AuditLog(r.Context(), p, events.AuditQuery{Filter: q, Project: project, Page: pg.num, Size: pg.size, Before: before, Skip: skip})
	if err != nil {
		return err
	}
	list := make([]auditLog, 0, len(res.Entries))
	for _, e := range res.Entries {
		list = append(list, toAuditJSON(e))
	}
	setAuditLinks(w, r, pg, res)
	writeJSON(w, http.StatusOK, list)
	return nil
}

// auditCursor reads the cursor of a Link rel="next": before (a sequence
// number) and skip (matches below it still to pass over; its range is
// events.ReadAudit's to check).
func auditCursor(r *http.Request) (before uint64, skip int, err error) {
	q := r.URL.Query()
	if v := q.Get("before"); v != "" {
		if before, err = strconv.ParseUint(v, 10, 64); err != nil || before == 0 {
			return 0, 0, badRequest("before: %q is not a positive integer (a cursor from a Link rel=\"next\")", v)
		}
	}
	if v := q.Get("skip"); v != "" {
		if skip, err = strconv.Atoi(v); err != nil {
			return 0, 0, badRequest("skip: %q is not an integer from 0 to %d", v, events.MaxAuditSkip)
		}
	}
	return before, skip, nil
}

// setAuditLinks sets the paging headers of an audit log page.
func setAuditLinks(w http.ResponseWriter, r *http.Request, pg page, res events.AuditPage) {
	if res.Total >= 0 {
		w.Header().Set("X-Total-Count", strconv.FormatInt(res.Total, 10))
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
	if pg.num > 1 && res.Total >= 0 {
		links = append(links, link(pg.num-1, 0, 0, "prev"))
	}
	switch {
	case res.More:
		links = append(links, link(pg.num+1, 0, 0, "next"))
	case res.Next != 0:
		links = append(links, link(1, res.Next, res.NextSkip, "next"))
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
	n, err := h.m.PurgeAudit(r.Context(), p, time.Duration(*req.Hours)*time.Hour)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"purged": strconv.Itoa(n)})
	return nil
}
