package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/cveexport"
)

// WithCVEExport serves Harbor's CVE export (POST /export/cve and its
// executions) with s, whose jobs the server's runner runs
// (cveexport.Service.Register). Without it those endpoints are 501.
func WithCVEExport(s *cveexport.Service) Option { return func(h *Handler) { h.cveExports = s } }

// cveExportRoutes registers the CVE export, for any signed-in caller
// (each sees and downloads its own exports only).
func (h *Handler) cveExportRoutes() {
	h.route("POST /export/cve", h.startCVEExport)
	h.route("GET /export/cve/executions", h.listCVEExports)
	h.route("GET /export/cve/execution/{execution_id}", h.getCVEExport)
	h.route("GET /export/cve/download/{execution_id}", h.downloadCVEExport)
}

// scanDataType is the X-Scan-Data-Type Harbor's clients send with an
// export: its generic vulnerability report, the only one there is.
const scanDataType = "application/vnd.security.vulnerability.report; version=1.1"

// cveExportReqJSON is Harbor's ScanDataExportRequest; projects are ids
// or, as Berth names them, names.
type cveExportReqJSON struct {
	JobName      string            `json:"job_name"`
	Projects     []json.RawMessage `json:"projects"`
	Labels       []int64           `json:"labels"`
	Repositories string            `json:"repositories"`
	Tags         string            `json:"tags"`
	CVEIDs       string            `json:"cveIds"`
}

// cveExportJSON is Harbor's ScanDataExportExecution (no user_id: Berth
// names accounts), with Berth's job_name, rows and size.
type cveExportJSON struct {
	ID          uint64    `json:"id"`
	UserName    string    `json:"user_name"`
	Status      string    `json:"status"`
	StatusText  string    `json:"status_text,omitempty"`
	Trigger     string    `json:"trigger"`
	StartTime   time.Time `json:"start_time"`
	EndTime     time.Time `json:"end_time,omitzero"`
	FilePresent bool      `json:"file_present"`
	JobName     string    `json:"job_name,omitempty"`
	Rows        int       `json:"rows"`
	Size        int64     `json:"size"`
}

func toCVEExportJSON(ex cveexport.Execution) cveExportJSON {
	return cveExportJSON{ID: ex.ID, UserName: ex.User, Status: ex.Status, StatusText: ex.StatusText, Trigger: ex.Trigger,
		StartTime: ex.StartTime, EndTime: ex.EndTime, FilePresent: ex.FilePresent(), JobName: ex.Request.JobName, Rows: ex.Rows, Size: ex.Bytes}
}

// exportsFor refuses anonymous callers and returns the service (501
// without one).
func (h *Handler) exportsFor(p auth.Principal) (*cveexport.Service, error) {
	if err := signedIn(p); err != nil {
		return nil, err
	}
	if h.cveExports == nil {
		return nil, &apiError{status: http.StatusNotImplemented, code: "NOT_IMPLEMENTED", msg: "this server runs no CVE exports"}
	}
	return h.cveExports, nil
}

// exportError maps the export service's refusals.
func exportError(err error) error {
	switch {
	case errors.Is(err, cveexport.ErrInvalid):
		return badRequest("%s", err.Error())
	case errors.Is(err, cveexport.ErrNotFound), errors.Is(err, cveexport.ErrNotReady):
		return notFound("%s", err.Error())
	case errors.Is(err, cveexport.ErrTooMany):
		return &apiError{status: http.StatusConflict, code: codeConflict, msg: err.Error()}
	case errors.Is(err, cveexport.ErrUnauthenticated):
		return &apiError{status: http.StatusUnauthorized, code: codeUnauthorized, msg: err.Error()}
	}
	return err
}

// startCVEExport is POST /export/cve: 200 {"id": …}, the export queued.
func (h *Handler) startCVEExport(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	s, err := h.exportsFor(p)
	if err != nil {
		return err
	}
	if t := r.Header.Get("X-Scan-Data-Type"); t != "" && t != scanDataType && t != scan.MimeVulnReport {
		return badRequest("X-Scan-Data-Type: %q is not %s", t, scanDataType)
	}
	var body cveExportReqJSON
	if err := decode(w, r, &body); err != nil {
		return err
	}
	req := cveexport.Request{JobName: body.JobName, Labels: body.Labels, Repositories: body.Repositories, Tags: body.Tags, CVEs: body.CVEIDs}
	for i, raw := range body.Projects {
		var id uint64
		var name string
		switch {
		case json.Unmarshal(raw, &id) == nil:
			req.ProjectIDs = append(req.ProjectIDs, id)
		case json.Unmarshal(raw, &name) == nil:
			req.Projects = append(req.Projects, name)
		default:
			return badRequest("projects[%d]: %s is not a project id or name", i, raw)
		}
	}
	ex, err := s.Start(r.Context(), p, req)
	if err != nil {
		return exportError(err)
	}
	writeJSON(w, http.StatusOK, map[string]uint64{"id": ex.ID})
	return nil
}

// listCVEExports is GET /export/cve/executions: the caller's exports,
// newest first.
func (h *Handler) listCVEExports(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	s, err := h.exportsFor(p)
	if err != nil {
		return err
	}
	list, err := s.Executions(r.Context(), p)
	if err != nil {
		return err
	}
	items := make([]cveExportJSON, 0, len(list))
	for _, ex := range list {
		items = append(items, toCVEExportJSON(ex))
	}
	writeJSON(w, http.StatusOK, map[string][]cveExportJSON{"items": items})
	return nil
}

// exportAt returns the service and the export id the path names.
func (h *Handler) exportAt(r *http.Request, p auth.Principal) (*cveexport.Service, uint64, error) {
	s, err := h.exportsFor(p)
	if err != nil {
		return nil, 0, err
	}
	v := r.PathValue("execution_id")
	id, err := strconv.ParseUint(v, 10, 64)
	if err != nil || id == 0 {
		return nil, 0, badRequest("execution_id: %q is not an export id", v)
	}
	return s, id, nil
}

// getCVEExport is GET /export/cve/execution/{execution_id} (the
// caller's own; 404 for anybody else's).
func (h *Handler) getCVEExport(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	s, id, err := h.exportAt(r, p)
	if err != nil {
		return err
	}
	ex, err := s.Execution(r.Context(), p, id)
	if err != nil {
		return exportError(err)
	}
	writeJSON(w, http.StatusOK, toCVEExportJSON(ex))
	return nil
}

// downloadCVEExport is GET /export/cve/download/{execution_id}: the
// caller's finished export as a CSV attachment (404 for anybody else's,
// and while it has no file).
func (h *Handler) downloadCVEExport(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	s, id, err := h.exportAt(r, p)
	if err != nil {
		return err
	}
	ex, file, err := s.Download(r.Context(), p, id)
	if err != nil {
		return exportError(err)
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", ex.Filename()))
	w.Header().Set("Content-Length", strconv.FormatInt(ex.Bytes, 10))
	if _, err := io.Copy(w, file); err != nil {
		h.log.WarnContext(r.Context(), "cve export: download cut short", "id", id, "err", err)
	}
	return nil
}
