package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/engine"
)

// Scanning runs the scans the API asks for and knows the scanners
// (scan/engine.Engine implements it).
type Scanning interface {
	// BuiltinNames lists the scanners built into the server.
	BuiltinNames() []string
	// CheckScanner reports what is wrong with a registration, naming
	// the field.
	CheckScanner(rec engine.ScannerRegistration) error
	// Ping asks a registration's adapter for its metadata; Metadata asks
	// a built-in or registered scanner by name.
	Ping(ctx context.Context, rec engine.ScannerRegistration) (scan.Metadata, error)
	Metadata(ctx context.Context, name string) (scan.Metadata, error)
	// DefaultScanner and SetDefaultScanner read and set the default.
	DefaultScanner(tx meta.Tx) (string, error)
	SetDefaultScanner(tx meta.Tx, name string) error
	// Enqueue asks for a scan of repo@d.
	Enqueue(ctx context.Context, repo string, d digest.Digest, scanner, trigger string) error
	// ReadReport returns a stored report (the referrer d) and its type.
	ReadReport(ctx context.Context, repo string, d digest.Digest) ([]byte, string, error)
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

func toScannerJSON(rec engine.ScannerRegistration, def string) scannerJSON {
	return scannerJSON{UUID: rec.Name, Name: rec.Name, Description: rec.Description, URL: rec.URL, Auth: rec.Auth,
		SkipCertVerify: rec.SkipCertVerify, UseInternalAddr: rec.UseInternalAddr, Disabled: rec.Disabled,
		IsDefault: rec.Name == def, CreateTime: rec.CreatedAt, UpdateTime: rec.UpdatedAt}
}

func builtinJSON(name, def string) scannerJSON {
	return scannerJSON{UUID: name, Name: name, Description: "built into this server", IsDefault: name == def, BuiltIn: true}
}

// applyScannerJSON sets rec from a request; an omitted access_credential
// keeps the stored one.
func applyScannerJSON(rec *engine.ScannerRegistration, req scannerJSON) {
	rec.Description, rec.URL, rec.Auth = req.Description, req.URL, req.Auth
	rec.SkipCertVerify, rec.UseInternalAddr, rec.Disabled = req.SkipCertVerify, req.UseInternalAddr, req.Disabled
	if req.AccessCredential != nil {
		rec.AccessCredential = *req.AccessCredential
	}
}

// scannerError is a 400 with the engine's complaint, its field named as
// in the API.
func scannerError(err error) error {
	return badRequest("%s", renameFields(err.Error(), func(field, _ string) string {
		return map[string]string{"accessCredential": "access_credential", "skipCertVerify": "skip_certVerify", "useInternalAddr": "use_internal_addr"}[field]
	}))
}

// scannerView is one scanner as listed: a built-in one or a registration.
func (h *Handler) scannerView(ctx context.Context, s Scanning, name string) (scannerJSON, error) {
	var out scannerJSON
	err := h.store.View(ctx, func(tx meta.Tx) error {
		def, err := s.DefaultScanner(tx)
		if err != nil {
			return err
		}
		if slices.Contains(s.BuiltinNames(), name) {
			out = builtinJSON(name, def)
			return nil
		}
		rec, err := engine.Scanners.In(tx).Get(name)
		if err != nil {
			return err
		}
		out = toScannerJSON(rec, def)
		return nil
	})
	if err != nil {
		return out, toAPIErrorNamed(err, "scanner "+name)
	}
	return out, nil
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
	list := []scannerJSON{}
	err = h.store.View(r.Context(), func(tx meta.Tx) error {
		def, err := s.DefaultScanner(tx)
		if err != nil {
			return err
		}
		for _, b := range s.BuiltinNames() {
			list = append(list, builtinJSON(b, def))
		}
		recs, err := engine.Scanners.In(tx).List("", 0)
		for _, rec := range recs {
			list = append(list, toScannerJSON(rec, def))
		}
		return err
	})
	if err != nil {
		return err
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
	if err := checkName(req.Name); err != nil {
		return badRequest("name: %v", err)
	}
	rec := engine.ScannerRegistration{Name: req.Name}
	applyScannerJSON(&rec, req)
	if err := s.CheckScanner(rec); err != nil {
		return scannerError(err)
	}
	now := time.Now().UTC()
	rec.CreatedAt, rec.UpdatedAt = now, now
	err = h.store.Update(r.Context(), func(tx meta.Tx) error {
		if _, err := engine.Scanners.In(tx).Get(rec.Name); err == nil {
			return &apiError{status: http.StatusConflict, code: codeConflict, msg: "scanner " + rec.Name + " exists"}
		}
		if err := engine.Scanners.In(tx).Put(rec); err != nil {
			return err
		}
		if req.IsDefault {
			return s.SetDefaultScanner(tx, rec.Name)
		}
		return nil
	})
	if err != nil {
		return err
	}
	created(w, "/scanners/"+rec.Name)
	return nil
}

func (h *Handler) getScanner(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	s, err := h.adminScanning(p)
	if err != nil {
		return err
	}
	out, err := h.scannerView(r.Context(), s, r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
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
	if slices.Contains(s.BuiltinNames(), name) {
		return badRequest("name: %s is built in and cannot be changed", name)
	}
	var req scannerJSON
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Name != "" && req.Name != name {
		return badRequest("name: scanners cannot be renamed")
	}
	return h.store.Update(r.Context(), func(tx meta.Tx) error {
		rec, err := engine.Scanners.In(tx).Get(name)
		if err != nil {
			return toAPIErrorNamed(err, "scanner "+name)
		}
		applyScannerJSON(&rec, req)
		if err := s.CheckScanner(rec); err != nil {
			return scannerError(err)
		}
		rec.UpdatedAt = time.Now().UTC()
		if err := engine.Scanners.In(tx).Put(rec); err != nil {
			return err
		}
		if req.IsDefault {
			return s.SetDefaultScanner(tx, name)
		}
		return nil
	})
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
	name := r.PathValue("name")
	return h.store.Update(r.Context(), func(tx meta.Tx) error {
		err := s.SetDefaultScanner(tx, name)
		if errors.Is(err, engine.ErrUnknownScanner) {
			return notFound("scanner %s not found", name)
		}
		return err
	})
}

func (h *Handler) deleteScanner(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	s, err := h.adminScanning(p)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	if slices.Contains(s.BuiltinNames(), name) {
		return &apiError{status: http.StatusForbidden, code: codeForbidden, msg: "scanner " + name + " is built in"}
	}
	var out scannerJSON
	err = h.store.Update(r.Context(), func(tx meta.Tx) error {
		rec, err := engine.Scanners.In(tx).Get(name)
		if err != nil {
			return toAPIErrorNamed(err, "scanner "+name)
		}
		def, err := s.DefaultScanner(tx)
		if err != nil {
			return err
		}
		if def == name {
			return &apiError{status: http.StatusConflict, code: codeConflict, msg: "scanner " + name + " is the default; make another the default first"}
		}
		out = toScannerJSON(rec, def)
		return engine.Scanners.In(tx).Delete(name)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// scannerMetadata is GET /scanners/{name}/metadata: what the scanner
// says it is and can do (502 when it does not answer).
func (h *Handler) scannerMetadata(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	s, err := h.adminScanning(p)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	if _, err := h.scannerView(r.Context(), s, name); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), pingTimeout)
	defer cancel()
	md, err := s.Metadata(ctx, name)
	if err != nil {
		return &apiError{status: http.StatusBadGateway, code: codeBadGateway, msg: "scanner " + name + ": " + err.Error()}
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
	rec := engine.ScannerRegistration{Name: req.Name}
	if rec.Name != "" {
		old, err := h.scannerRecord(r.Context(), rec.Name)
		if err == nil {
			rec = old
		} else if !errors.Is(err, meta.ErrNotFound) {
			return err
		}
	}
	applyScannerJSON(&rec, req)
	if rec.Name == "" {
		rec.Name = "ping"
	}
	if err := s.CheckScanner(rec); err != nil {
		return scannerError(err)
	}
	ctx, cancel := context.WithTimeout(r.Context(), pingTimeout)
	defer cancel()
	if _, err := s.Ping(ctx, rec); err != nil {
		return badRequest("url: the scanner adapter did not answer: %v", err)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) scannerRecord(ctx context.Context, name string) (engine.ScannerRegistration, error) {
	var rec engine.ScannerRegistration
	err := h.store.View(ctx, func(tx meta.Tx) error {
		var err error
		rec, err = engine.Scanners.In(tx).Get(name)
		return err
	})
	return rec, err
}

// projectScanner is GET /projects/{project}/scanner: the scanner the
// project uses (its own choice, else the default).
func (h *Handler) projectScanner(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	s, err := h.scanningFor()
	if err != nil {
		return err
	}
	proj, err := h.allowedOn(r, p, r.PathValue("project"), rbac.ResourceProject, rbac.ActionRead)
	if err != nil {
		return err
	}
	name := proj.Scan.Scanner
	if name == "" {
		if err := h.store.View(r.Context(), func(tx meta.Tx) error {
			var err error
			name, err = s.DefaultScanner(tx)
			return err
		}); err != nil {
			return err
		}
	}
	if name == "" {
		return notFound("project %s has no scanner: none is configured", proj.Name)
	}
	out, err := h.scannerView(r.Context(), s, name)
	if err != nil {
		return err
	}
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
	if req.UUID != "" {
		if _, err := h.scannerView(r.Context(), s, req.UUID); err != nil {
			return badRequest("uuid: scanner %q not found", req.UUID)
		}
	}
	return h.updateProjectScan(r.Context(), project, func(ps *accounts.ProjectScan) { ps.Scanner = req.UUID })
}

// updateProjectScan changes a project's scanning settings.
func (h *Handler) updateProjectScan(ctx context.Context, project string, change func(*accounts.ProjectScan)) error {
	return h.store.Update(ctx, func(tx meta.Tx) error {
		proj, err := accounts.Projects.In(tx).Get(project)
		if err != nil {
			return toAPIErrorNamed(err, "project "+project)
		}
		change(&proj.Scan)
		proj.UpdatedAt = time.Now().UTC()
		return accounts.Projects.In(tx).Put(proj)
	})
}
