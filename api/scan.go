package api

import (
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/engine"
)

// artifactRef resolves the repository and reference of an artifact path:
// the repository inside the project (Harbor double-encodes its slashes,
// "a%252Fb"; single-encoded works too) and a tag or a digest. The caller
// must have the action on the repository.
func (h *Handler) artifactRef(r *http.Request, p auth.Principal, action string) (engine.Artifact, error) {
	project := r.PathValue("project")
	name, err := url.PathUnescape(r.PathValue("repository"))
	if err != nil {
		return engine.Artifact{}, badRequest("repository_name: %v", err)
	}
	repo := project + "/" + name
	if _, err := h.getProjectRecord(r, p, project); err != nil {
		return engine.Artifact{}, err
	}
	ok, err := h.m.Authorizer().Allowed(r.Context(), p, auth.Resource{Type: "repository", Name: repo}, []string{action})
	if err != nil {
		return engine.Artifact{}, err
	}
	if len(ok) == 0 {
		if p.Kind == auth.Anonymous {
			return engine.Artifact{}, &apiError{status: http.StatusUnauthorized, code: codeUnauthorized, msg: "authentication required"}
		}
		return engine.Artifact{}, forbidden()
	}
	if h.artifacts == nil {
		return engine.Artifact{}, &apiError{status: http.StatusNotImplemented, code: "NOT_IMPLEMENTED", msg: "this server keeps no artifacts"}
	}
	ref := r.PathValue("reference")
	a, err := h.artifacts.Get(r.Context(), repo, ref)
	if err != nil {
		return a, toAPIErrorNamed(err, "artifact "+repo+":"+ref)
	}
	if len(a.Manifest.Annotations) == 0 {
		a.Manifest.Annotations = nil
	}
	return a, nil
}

// scanArtifact is POST …/artifacts/{reference}/scan: 202, the scan
// queued (for those who may push to the repository, as Harbor lets
// developers scan).
func (h *Handler) scanArtifact(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	s, err := h.scanningFor()
	if err != nil {
		return err
	}
	a, err := h.artifactRef(r, p, auth.ActionPush)
	if err != nil {
		return err
	}
	if r.ContentLength != 0 {
		var req struct {
			ScanType string `json:"scan_type"`
		}
		if err := decode(w, r, &req); err != nil {
			return err
		}
		if req.ScanType != "" && req.ScanType != scan.CapabilityVulnerability && req.ScanType != scan.CapabilitySBOM {
			return badRequest("scan_type: %q is not vulnerability or sbom", req.ScanType)
		}
	}
	if err := s.Enqueue(r.Context(), a.Repository, a.Manifest.Digest, "", engine.TriggerManual); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// artifactVulnerabilities is GET …/artifacts/{reference}/additions/vulnerabilities:
// Harbor's map of report type to the artifact's last vulnerability report.
func (h *Handler) artifactVulnerabilities(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	s, err := h.scanningFor()
	if err != nil {
		return err
	}
	a, err := h.artifactRef(r, p, auth.ActionPull)
	if err != nil {
		return err
	}
	b, err := s.Vulnerabilities(r.Context(), a.Repository, a.Manifest.Digest)
	if err != nil {
		return err
	}
	if b == nil {
		writeJSON(w, http.StatusOK, map[string]any{})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]json.RawMessage{scan.MimeVulnReport: b})
	return nil
}

// scanAllSchedule is the schedule of scanning every image (Harbor's
// /system/scanAll/schedule; its parameters are unused).
var scanAllSchedule = scheduled{name: engine.ScanAllScheduleName, manual: jobPath}

// setScanAllSchedule is POST and PUT /system/scanAll/schedule ("Manual"
// scans everything now: 201 with the job's Location).
func (h *Handler) setScanAllSchedule(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if _, err := h.scanningFor(); err != nil {
		return err
	}
	return scanAllSchedule.set(h, w, r, p)
}

// getScanAllSchedule is GET /system/scanAll/schedule.
func (h *Handler) getScanAllSchedule(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return scanAllSchedule.get(h, w, r, p)
}
