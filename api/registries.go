package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/replication"
)

// registryCredential is Harbor's RegistryCredential. access_secret is
// write-only: answers never show it (where Harbor masks it).
type registryCredential struct {
	Type         string  `json:"type"` // "basic"
	AccessKey    string  `json:"access_key"`
	AccessSecret *string `json:"access_secret,omitempty"`
}

// registryJSON is Harbor's Registry, addressed by name, with Berth's
// ca_cert (a PEM bundle the endpoint's certificate must chain to). A
// request may also spell the credential flat, as Harbor's RegistryUpdate
// and RegistryPing do (credential_type, access_key, access_secret).
type registryJSON struct {
	ID           int64               `json:"id,omitempty"`
	Name         string              `json:"name"`
	Type         string              `json:"type,omitempty"`
	Description  string              `json:"description,omitempty"`
	URL          string              `json:"url"`
	Credential   *registryCredential `json:"credential,omitempty"`
	Insecure     bool                `json:"insecure"`
	CACert       string              `json:"ca_cert,omitempty"`
	CreationTime time.Time           `json:"creation_time,omitzero"`
	UpdateTime   time.Time           `json:"update_time,omitzero"`

	CredentialType *string `json:"credential_type,omitempty"`
	AccessKey      *string `json:"access_key,omitempty"`
	AccessSecret   *string `json:"access_secret,omitempty"`
}

func toRegistryJSON(rec replication.Registry) registryJSON {
	out := registryJSON{ID: rec.ID, Name: rec.Name, Type: rec.Type, Description: rec.Description, URL: rec.URL, Insecure: rec.Insecure,
		CACert: rec.CACert, CreationTime: rec.CreatedAt, UpdateTime: rec.UpdatedAt}
	if rec.Username != "" || rec.Password != "" || rec.HasPassword {
		out.Credential = &registryCredential{Type: "basic", AccessKey: rec.Username}
	}
	return out
}

// applyRegistryJSON sets rec from a request and says whether to keep the
// stored password. Decoded over rec's own JSON, a request keeps what it
// omits; an omitted access_secret always keeps the stored password, and
// a null credential makes the endpoint anonymous.
func applyRegistryJSON(rec *replication.Registry, req registryJSON) (keepPassword bool, err error) {
	if req.CredentialType != nil || req.AccessKey != nil || req.AccessSecret != nil {
		if req.Credential == nil {
			req.Credential = &registryCredential{}
		}
		if req.CredentialType != nil {
			req.Credential.Type = *req.CredentialType
		}
		if req.AccessKey != nil {
			req.Credential.AccessKey = *req.AccessKey
		}
		if req.AccessSecret != nil {
			req.Credential.AccessSecret = req.AccessSecret
		}
	}
	rec.Type, rec.Description, rec.URL, rec.Insecure, rec.CACert = req.Type, req.Description, req.URL, req.Insecure, req.CACert
	if req.Credential == nil {
		rec.Username, rec.Password = "", ""
		return false, nil
	}
	if t := req.Credential.Type; t != "" && t != "basic" {
		return false, badRequest("credential.type: %q is not basic", t)
	}
	rec.Username = req.Credential.AccessKey
	if req.Credential.AccessSecret == nil {
		return true, nil
	}
	rec.Password = *req.Credential.AccessSecret
	return false, nil
}

// endpointFields are the API's names of the endpoint fields the
// service's refusals name.
var endpointFields = map[string]string{"caCert": "ca_cert", "username": "credential.access_key", "password": "credential.access_secret"}

// endpointError maps the service's errors about an endpoint, its
// field named as in the API.
func endpointError(err error) error {
	return replicationError(err, func(field, _ string) string { return endpointFields[field] })
}

// listRegistries is GET /registries?q=name=~text (also type, url,
// description).
func (h *Handler) listRegistries(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	rep, err := h.replicator(p)
	if err != nil {
		return err
	}
	match, err := fieldQuery(r.URL.Query().Get("q"), "name", "type", "url", "description")
	if err != nil {
		return err
	}
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	all, err := rep.Registries(r.Context())
	if err != nil {
		return err
	}
	var list []registryJSON
	for _, rec := range all {
		if match(func(k string) string {
			return map[string]string{"name": rec.Name, "type": rec.Type, "url": rec.URL, "description": rec.Description}[k]
		}) {
			list = append(list, toRegistryJSON(rec))
		}
	}
	writePage(w, r, pg, list)
	return nil
}

func (h *Handler) createRegistry(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	rep, err := h.replicator(p)
	if err != nil {
		return err
	}
	var req registryJSON
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := replication.CheckName(req.Name); err != nil {
		return endpointError(err)
	}
	rec := replication.Registry{Name: req.Name}
	if _, err := applyRegistryJSON(&rec, req); err != nil {
		return err
	}
	if _, err := rep.CreateRegistry(r.Context(), rec); err != nil {
		return endpointError(err)
	}
	created(w, "/registries/"+rec.Name)
	return nil
}

// registryAt is the endpoint the path names: by name, or, as Harbor's
// clients address them, by id when the name is a number no endpoint is
// named.
func registryAt(r *http.Request, rep *replication.Service) (replication.Registry, error) {
	name := r.PathValue("name")
	rec, err := rep.Registry(r.Context(), name)
	if id, perr := strconv.ParseInt(name, 10, 64); errors.Is(err, meta.ErrNotFound) && perr == nil && id > 0 {
		return rep.RegistryByID(r.Context(), id)
	}
	return rec, err
}

func (h *Handler) getRegistry(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	rep, err := h.replicator(p)
	if err != nil {
		return err
	}
	rec, err := registryAt(r, rep)
	if err != nil {
		return endpointError(err)
	}
	writeJSON(w, http.StatusOK, toRegistryJSON(rec))
	return nil
}

// updateRegistry is PUT /registries/{name}: what the body omits is kept
// (the password too, unless access_secret is given).
func (h *Handler) updateRegistry(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	rep, err := h.replicator(p)
	if err != nil {
		return err
	}
	old, err := registryAt(r, rep)
	if err != nil {
		return endpointError(err)
	}
	req := toRegistryJSON(old)
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Name == "" {
		req.Name = old.Name
	}
	if req.Name != old.Name {
		return badRequest("name: a registry is not renamed (create another)")
	}
	rec := old
	keep, err := applyRegistryJSON(&rec, req)
	if err != nil {
		return err
	}
	if _, err := rep.UpdateRegistry(r.Context(), rec, keep); err != nil {
		return endpointError(err)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// deleteRegistry is DELETE /registries/{name}, refused (409) while a
// replication policy uses it.
func (h *Handler) deleteRegistry(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	rep, err := h.replicator(p)
	if err != nil {
		return err
	}
	rec, err := registryAt(r, rep)
	if err != nil {
		return endpointError(err)
	}
	if err := rep.DeleteRegistry(r.Context(), rec.Name); err != nil {
		return endpointError(err)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// pingRegistry is POST /registries/ping: the body is an endpoint (as for
// POST /registries, name optional) or the name of a stored one, whose
// fields the body's others override (an omitted access_secret keeps the
// stored password, as Harbor's ping by id does). 200 when it answers with
// its credentials accepted, else 400 saying why.
func (h *Handler) pingRegistry(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	rep, err := h.replicator(p)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		return badRequest("invalid request body: %v", err)
	}
	var probe struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal(body, &probe) // decode below names what is wrong
	var (
		req    registryJSON
		rec    replication.Registry
		stored bool
	)
	if probe.Name != "" {
		rec, err = rep.Registry(r.Context(), probe.Name)
		switch {
		case err == nil:
			stored, req = true, toRegistryJSON(rec)
		case !errors.Is(err, meta.ErrNotFound):
			return err
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if !stored {
		if req.Name != "" && req.URL == "" {
			return notFound("registry %s not found", req.Name)
		}
		rec = replication.Registry{Name: req.Name}
		if rec.Name == "" {
			rec.Name = "ping"
		}
	}
	keep, err := applyRegistryJSON(&rec, req)
	if err != nil {
		return err
	}
	// A stored endpoint is pinged with its stored password unless the
	// body gives one or drops the credential.
	if err := rep.PingRegistry(r.Context(), rec, keep && stored); err != nil {
		return endpointError(err)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
