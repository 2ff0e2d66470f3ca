package api

import (
	"context"
	"net/http"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/engine"
)

// Scanning runs the scans the API asks for and keeps the scanners
// (scan/engine.Engine implements it): the rules and the transactions
// are its, the API translates and checks authorization.
type Scanning interface {
	// Registrations is the service of the scanner registrations.
	Registrations() *engine.Registrations
	// Ping checks a registration and asks its adapter for its metadata;
	// Metadata asks a built-in or registered scanner by name.
	Ping(ctx context.Context, spec engine.ScannerSpec) (scan.Metadata, error)
	Metadata(ctx context.Context, name string) (scan.Metadata, error)
	// Enqueue asks for a scan of repo@d.
	Enqueue(ctx context.Context, repo string, d digest.Digest, scanner, trigger string) error
	// Vulnerabilities returns the latest vulnerability report of repo@d
	// (nil: none yet).
	Vulnerabilities(ctx context.Context, repo string, d digest.Digest) ([]byte, error)
}

// WithScanning serves the scanner registrations, scans and their
// reports, and the scan-all schedule, run by s.
func WithScanning(s Scanning) Option { return func(h *Handler) { h.scanning = s } }

// scanningFor returns the Scanning, or 501 without one.
func (h *Handler) scanningFor() (Scanning, error) {
	if h.scanning == nil {
		return nil, &apiError{status: http.StatusNotImplemented, code: "NOT_IMPLEMENTED", msg: "this server runs no scanners"}
	}
	return h.scanning, nil
}

// adminScanning is scanningFor for administrators only (the scanner
// registrations are theirs, as in Harbor).
func (h *Handler) adminScanning(p auth.Principal) (Scanning, error) {
	if err := adminOnly(p); err != nil {
		return nil, err
	}
	return h.scanningFor()
}

// scannerJSON is Harbor's ScannerRegistration, addressed by name (uuid
// is the name too). access_credential is write-only; built_in marks
// Berth's scanners compiled into the server.
type scannerJSON struct {
	UUID             string    `json:"uuid,omitempty"`
	Name             string    `json:"name"`
	Description      string    `json:"description,omitempty"`
	URL              string    `json:"url,omitempty"`
	Auth             string    `json:"auth,omitempty"`
	AccessCredential *string   `json:"access_credential,omitempty"`
	SkipCertVerify   bool      `json:"skip_certVerify"`
	UseInternalAddr  bool      `json:"use_internal_addr"`
	Disabled         bool      `json:"disabled"`
	IsDefault        bool      `json:"is_default"`
	BuiltIn          bool      `json:"built_in,omitempty"`
	CreateTime       time.Time `json:"create_time,omitzero"`
	UpdateTime       time.Time `json:"update_time,omitzero"`
}

func toScannerJSON(e engine.ScannerEntry) scannerJSON {
	if e.BuiltIn {
		return scannerJSON{UUID: e.Name, Name: e.Name, Description: "built into this server", IsDefault: e.Default, BuiltIn: true}
	}
	return scannerJSON{UUID: e.Name, Name: e.Name, Description: e.Description, URL: e.URL, Auth: e.Auth,
		SkipCertVerify: e.SkipCertVerify, UseInternalAddr: e.UseInternalAddr, Disabled: e.Disabled,
		IsDefault: e.Default, CreateTime: e.CreatedAt, UpdateTime: e.UpdatedAt}
}

// scannerSpec is the registration a request describes.
func scannerSpec(req scannerJSON) engine.ScannerSpec {
	return engine.ScannerSpec{Name: req.Name, Description: req.Description, URL: req.URL, Auth: req.Auth,
		AccessCredential: req.AccessCredential, SkipCertVerify: req.SkipCertVerify, UseInternalAddr: req.UseInternalAddr,
		Disabled: req.Disabled, Default: req.IsDefault}
}

func (h *Handler) listScanners(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	s, err := h.adminScanning(p)
	if err != nil {
		return err
	}
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	entries, err := s.Registrations().List(r.Context())
	if err != nil {
		return err
	}
	list := []scannerJSON{}
	for _, e := range entries {
		list = append(list, toScannerJSON(e))
	}
	writePage(w, r, pg, list)
	return nil
}

func (h *Handler) createScanner(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	s, err := h.adminScanning(p)
	if err != nil {
		return err
	}
	var req scannerJSON
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.Registrations().Create(r.Context(), scannerSpec(req)); err != nil {
		return err
	}
	created(w, "/scanners/"+req.Name)
	return nil
}

func (h *Handler) getScanner(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	s, err := h.adminScanning(p)
	if err != nil {
		return err
	}
	e, err := s.Registrations().Get(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toScannerJSON(e))
	return nil
}

// updateScanner is PUT /scanners/{name}: the registration is replaced
// (but for an omitted access_credential, which is kept).
func (h *Handler) updateScanner(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	s, err := h.adminScanning(p)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	var req scannerJSON
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Name != "" && req.Name != name {
		return badRequest("name: scanners cannot be renamed")
	}
	req.Name = name
	return s.Registrations().Update(r.Context(), scannerSpec(req))
}

// setDefaultScanner is PATCH /scanners/{name} with {"is_default": true}.
func (h *Handler) setDefaultScanner(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	s, err := h.adminScanning(p)
	if err != nil {
		return err
	}
	var req struct {
		IsDefault *bool `json:"is_default"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.IsDefault == nil || !*req.IsDefault {
		return badRequest("is_default: must be true (make another scanner the default instead)")
	}
	return s.Registrations().SetDefault(r.Context(), r.PathValue("name"))
}

func (h *Handler) deleteScanner(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	s, err := h.adminScanning(p)
	if err != nil {
		return err
	}
	e, err := s.Registrations().Delete(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toScannerJSON(e))
	return nil
}

// scannerMetadata is GET /scanners/{name}/metadata: what the scanner
// says it is and can do (502 when it does not answer).
func (h *Handler) scannerMetadata(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	s, err := h.adminScanning(p)
	if err != nil {
		return err
	}
	md, err := s.Metadata(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, md)
	return nil
}

// pingScanner is POST /scanners/ping with a registration (stored or not):
// 200 when its adapter answers with metadata.
func (h *Handler) pingScanner(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	s, err := h.adminScanning(p)
	if err != nil {
		return err
	}
	var req scannerJSON
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if _, err := s.Ping(r.Context(), scannerSpec(req)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// projectScanner is GET /projects/{project}/scanner: the scanner the
// project uses (its own choice, else the default).
func (h *Handler) projectScanner(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	s, err := h.scanningFor()
	if err != nil {
		return err
	}
	project := r.PathValue("project")
	if _, err := h.allowedOn(r, p, project, rbac.ResourceProject, rbac.ActionRead); err != nil {
		return err
	}
	e, err := s.Registrations().ForProject(r.Context(), project)
	if err != nil {
		return projectError(err, project)
	}
	out := toScannerJSON(e)
	out.AccessCredential, out.URL = nil, "" // project admins see which scanner, not where
	writeJSON(w, http.StatusOK, out)
	return nil
}

// setProjectScanner is PUT /projects/{project}/scanner with {"uuid":
// name} ("" goes back to the default).
func (h *Handler) setProjectScanner(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	s, err := h.scanningFor()
	if err != nil {
		return err
	}
	project := r.PathValue("project")
	if _, err := h.allowedOn(r, p, project, rbac.ResourceProject, rbac.ActionUpdate); err != nil {
		return err
	}
	var req struct {
		UUID string `json:"uuid"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	return projectError(s.Registrations().SetForProject(r.Context(), project, req.UUID), project)
}
