package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/internal/harborq"
	"github.com/berthreg/berth/internal/outage"
	"github.com/berthreg/berth/label"
	"github.com/berthreg/berth/meta"
)

// WithLabels serves labels (/labels, and attaching them to artifacts)
// with s; without it they are served by a label.Service over the store
// New is given.
func WithLabels(s *label.Service) Option { return func(h *Handler) { h.labels = s } }

// defaultLabels makes the label service over store, unless WithLabels
// gave one (none without a store: the endpoints are 501).
func (h *Handler) defaultLabels(store meta.Store) {
	if h.labels != nil || store == nil || h.m == nil {
		return
	}
	h.labels, _ = label.New(store, h.m.Authorizer(), h.m)
}

// labelRoutes registers the label endpoints: Harbor's /labels and the
// artifact labels.
func (h *Handler) labelRoutes() {
	h.labelRoute("GET /labels", h.listLabels)
	h.labelRoute("POST /labels", h.createLabel)
	h.labelRoute("GET /labels/{label_id}", h.getLabel)
	h.labelRoute("PUT /labels/{label_id}", h.updateLabel)
	h.labelRoute("DELETE /labels/{label_id}", h.deleteLabel)
	const labels = "/projects/{project}/repositories/{repository}/artifacts/{reference}/labels"
	h.labelRoute("POST "+labels, h.attachLabel)
	h.labelRoute("DELETE "+labels+"/{label_id}", h.detachLabel)
}

// labelHandler is a label endpoint, given the label service.
type labelHandler func(svc *label.Service, w http.ResponseWriter, r *http.Request, p auth.Principal) error

// labelRoute registers a label endpoint: 501 without a label service,
// and the service's errors mapped to Harbor's answers.
func (h *Handler) labelRoute(pattern string, fn labelHandler) {
	h.route(pattern, func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		if h.labels == nil {
			return &apiError{status: http.StatusNotImplemented, code: "NOT_IMPLEMENTED", msg: "this server keeps no labels"}
		}
		return labelError(fn(h.labels, w, r, p))
	})
}

// labelJSON is Harbor's Label, with Berth's project_name (projects are
// addressed by name); project_id is the project's id.
type labelJSON struct {
	ID           int64     `json:"id,omitempty"`
	Name         string    `json:"name"`
	Description  string    `json:"description"`
	Color        string    `json:"color"`
	Scope        string    `json:"scope"`
	ProjectID    uint64    `json:"project_id"`
	ProjectName  string    `json:"project_name,omitempty"`
	CreationTime time.Time `json:"creation_time"`
	UpdateTime   time.Time `json:"update_time"`
	// Deleted is Harbor's; a label shown is never deleted.
	Deleted bool `json:"deleted"`
}

func toLabelJSON(l label.Label) labelJSON {
	return labelJSON{ID: l.ID, Name: l.Name, Description: l.Description, Color: l.Color, Scope: string(l.Scope),
		ProjectID: l.ProjectID, ProjectName: l.Project, CreationTime: l.CreatedAt, UpdateTime: l.UpdatedAt}
}

// label is the label a request body describes.
func (j labelJSON) label() label.Label {
	return label.Label{ID: j.ID, Name: j.Name, Description: j.Description, Color: j.Color, Scope: label.Scope(j.Scope),
		Project: j.ProjectName, ProjectID: j.ProjectID}
}

// labelError maps the label service's errors to Harbor's answers; a
// backend outage and anything else go on to toAPIError.
func labelError(err error) error {
	var in *label.InputError
	switch {
	case err == nil || outage.Is(err):
		return err
	case errors.As(err, &in):
		return badRequest("%s", in.Error())
	case errors.Is(err, label.ErrExists):
		return &apiError{status: http.StatusConflict, code: codeConflict, msg: err.Error()}
	case errors.Is(err, label.ErrForbidden):
		return &apiError{status: http.StatusForbidden, code: codeForbidden, msg: err.Error()}
	case errors.Is(err, label.ErrUnauthenticated):
		return &apiError{status: http.StatusUnauthorized, code: codeUnauthorized, msg: err.Error()}
	case errors.Is(err, meta.ErrNotFound):
		return notFound("%v", err)
	}
	return err
}

// labelID reads the label_id path value.
func labelID(r *http.Request) (int64, error) {
	v := r.PathValue("label_id")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 1 {
		return 0, badRequest("label_id: %q is not a positive integer", v)
	}
	return id, nil
}

// labelQuery reads GET /labels' filter: scope, project_id,
// project_name and name, or the same in q (name=~text is Harbor's
// fuzzy match; id, too, in q), and returns what the service filters and
// what is left for q to match.
func labelQuery(r *http.Request) (label.Filter, func(func(string) string) bool, error) {
	v := r.URL.Query()
	f := label.Filter{Scope: label.Scope(v.Get("scope")), Project: v.Get("project_name"), Name: v.Get("name")}
	if s := v.Get("project_id"); s != "" {
		id, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return f, nil, badRequest("project_id: %q is not a project id", s)
		}
		f.ProjectID = id
	}
	q, err := harborq.Parse(v.Get("q"), "name", "scope", "project_id", "project_name", "id")
	if err != nil {
		return f, nil, badRequest("%v", err)
	}
	for _, c := range q.Conds() {
		if c.Kind != harborq.Exact {
			continue
		}
		switch c.Key {
		case "scope":
			if f.Scope == "" {
				f.Scope = label.Scope(c.Value)
			}
		case "project_name":
			if f.Project == "" {
				f.Project = c.Value
			}
		case "project_id":
			if id, err := strconv.ParseUint(c.Value, 10, 64); err == nil && f.ProjectID == 0 {
				f.ProjectID = id
			}
		}
	}
	return f, q.Match, nil
}

// listLabels is GET /labels?scope=g|p&project_id=&project_name=&name=&q=:
// a page of the global labels (anybody), or of a project's (whoever
// sees it), in id order.
func (h *Handler) listLabels(svc *label.Service, w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	f, match, err := labelQuery(r)
	if err != nil {
		return err
	}
	ls, err := svc.List(r.Context(), p, f)
	if err != nil {
		return err
	}
	out := make([]labelJSON, 0, len(ls))
	for _, l := range ls {
		j := toLabelJSON(l)
		fields := map[string]string{"name": j.Name, "scope": j.Scope, "project_id": strconv.FormatUint(j.ProjectID, 10),
			"project_name": j.ProjectName, "id": strconv.FormatInt(j.ID, 10)}
		if match(func(key string) string { return fields[key] }) {
			out = append(out, j)
		}
	}
	writePage(w, r, pg, out)
	return nil
}

// createLabel is POST /labels: 201 with the label's Location.
func (h *Handler) createLabel(svc *label.Service, w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req labelJSON
	if err := decode(w, r, &req); err != nil {
		return err
	}
	l, err := svc.Create(r.Context(), p, req.label())
	if err != nil {
		return err
	}
	created(w, "/labels/"+strconv.FormatInt(l.ID, 10))
	return nil
}

// getLabel is GET /labels/{label_id}.
func (h *Handler) getLabel(svc *label.Service, w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := labelID(r)
	if err != nil {
		return err
	}
	l, err := svc.Get(r.Context(), p, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toLabelJSON(l))
	return nil
}

// updateLabel is PUT /labels/{label_id}: the name, description and
// color change; the scope and project stay.
func (h *Handler) updateLabel(svc *label.Service, w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := labelID(r)
	if err != nil {
		return err
	}
	var req labelJSON
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.ID != 0 && req.ID != id {
		return badRequest("id: %d is not the label of this path (%d)", req.ID, id)
	}
	l := req.label()
	l.ID = id
	_, err = svc.Update(r.Context(), p, l)
	return err
}

// deleteLabel is DELETE /labels/{label_id}: the label goes, detached
// from every artifact.
func (h *Handler) deleteLabel(svc *label.Service, w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := labelID(r)
	if err != nil {
		return err
	}
	return svc.Delete(r.Context(), p, id)
}

// attachLabel is POST …/artifacts/{reference}/labels with Harbor's
// Label body, of which only the id counts: 201 once attached, 409 if it
// was.
func (h *Handler) attachLabel(svc *label.Service, w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	repo, err := repositoryOf(r)
	if err != nil {
		return err
	}
	var req labelJSON
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.ID < 1 {
		return badRequest("id: the label's id is required")
	}
	if _, err := svc.Attach(r.Context(), p, repo, r.PathValue("reference"), req.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

// detachLabel is DELETE …/artifacts/{reference}/labels/{label_id}.
func (h *Handler) detachLabel(svc *label.Service, w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	repo, err := repositoryOf(r)
	if err != nil {
		return err
	}
	id, err := labelID(r)
	if err != nil {
		return err
	}
	return svc.Detach(r.Context(), p, repo, r.PathValue("reference"), id)
}
