package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berthreg/berth/auth"
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

// auditLogs serves the audit log, newest first: GET /audit-logs
// (administrators) and GET /projects/{project}/logs (its members who may
// read its members).
func (h *Handler) auditLogs(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	project := r.PathValue("project")
	if project == "" {
		if err := adminOnly(p); err != nil {
			return err
		}
	} else if _, err := h.allowedOn(r, p, project, rbac.ResourceMember, rbac.ActionRead); err != nil {
		return err
	}
	match, err := auditQuery(r.URL.Query().Get("q"))
	if err != nil {
		return err
	}
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	var all []meta.Event
	var since uint64 // a project's log starts at its creation: an earlier project of its name is not its past
	if err := h.store.View(r.Context(), func(tx meta.Tx) error {
		if project != "" {
			p, err := tx.Projects().Get(project)
			if err != nil {
				return err
			}
			since = p.ID
		}
		var err error
		all, err = tx.Events().List(0, 0)
		return err
	}); err != nil {
		return err
	}
	var list []auditLog
	for _, e := range slices.Backward(all) {
		a := toAuditJSON(e)
		if (project == "" || e.Project == project && e.Seq >= since) && match(a) {
			list = append(list, a)
		}
	}
	writePage(w, r, pg, list)
	return nil
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
