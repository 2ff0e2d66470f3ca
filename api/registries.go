package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/replication"
)

// pingTimeout bounds POST /registries/ping.
const pingTimeout = 30 * time.Second

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
	out := registryJSON{Name: rec.Name, Type: rec.Type, Description: rec.Description, URL: rec.URL, Insecure: rec.Insecure,
		CACert: rec.CACert, CreationTime: rec.CreatedAt, UpdateTime: rec.UpdatedAt}
	if rec.Username != "" || rec.Password != "" {
		out.Credential = &registryCredential{Type: "basic", AccessKey: rec.Username}
	}
	return out
}

// applyRegistryJSON sets rec from a request. Decoded over rec's own JSON,
// a request keeps what it omits; an omitted access_secret always keeps
// the stored password, and a null credential makes the endpoint
// anonymous.
func applyRegistryJSON(rec *replication.Registry, req registryJSON) error {
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
		return nil
	}
	if t := req.Credential.Type; t != "" && t != "basic" {
		return badRequest("credential.type: %q is not basic", t)
	}
	rec.Username = req.Credential.AccessKey
	if req.Credential.AccessSecret != nil {
		rec.Password = *req.Credential.AccessSecret
	}
	return nil
}

// endpointError is a 400 with the Replicator's complaint about an
// endpoint, its field named as in the API.
func endpointError(err error) error {
	return badRequest("%s", renameFields(err.Error(), func(field, _ string) string {
		return map[string]string{"caCert": "ca_cert", "username": "credential.access_key", "password": "credential.access_secret"}[field]
	}))
}

// registryNamed loads a registry endpoint.
func (h *Handler) registryNamed(ctx context.Context, name string) (replication.Registry, error) {
	var rec replication.Registry
	err := h.store.View(ctx, func(tx meta.Tx) error {
		var err error
		rec, err = replication.Registries.In(tx).Get(name)
		return err
	})
	if err != nil {
		return rec, toAPIErrorNamed(err, "registry "+name)
	}
	return rec, nil
}

// listRegistries is GET /registries?q=name=~text (also type, url,
// description).
func (h *Handler) listRegistries(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if _, err := h.replicator(p); err != nil {
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
	var all []replication.Registry
	if err := h.store.View(r.Context(), func(tx meta.Tx) error {
		var err error
		all, err = replication.Registries.In(tx).List("", 0)
		return err
	}); err != nil {
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
	if err := checkName(req.Name); err != nil {
		return badRequest("name: %v", err)
	}
	rec := replication.Registry{Name: req.Name}
	if err := applyRegistryJSON(&rec, req); err != nil {
		return err
	}
	if err := rep.CheckEndpoint(rec); err != nil {
		return endpointError(err)
	}
	now := time.Now().UTC()
	rec.CreatedAt, rec.UpdatedAt = now, now
	if err := h.store.Update(r.Context(), func(tx meta.Tx) error {
		if _, err := replication.Registries.In(tx).Get(rec.Name); err == nil {
			return &apiError{status: http.StatusConflict, code: codeConflict, msg: "registry " + rec.Name + " exists"}
		}
		return replication.Registries.In(tx).Put(rec)
	}); err != nil {
		return err
	}
	created(w, "/registries/"+rec.Name)
	return nil
}

func (h *Handler) getRegistry(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if _, err := h.replicator(p); err != nil {
		return err
	}
	rec, err := h.registryNamed(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
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
	old, err := h.registryNamed(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
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
	if err := applyRegistryJSON(&rec, req); err != nil {
		return err
	}
	if err := rep.CheckEndpoint(rec); err != nil {
		return endpointError(err)
	}
	rec.UpdatedAt = time.Now().UTC()
	if err := h.store.Update(r.Context(), func(tx meta.Tx) error {
		if _, err := replication.Registries.In(tx).Get(rec.Name); err != nil {
			return toAPIErrorNamed(err, "registry "+rec.Name)
		}
		return replication.Registries.In(tx).Put(rec)
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// deleteRegistry is DELETE /registries/{name}, refused (409) while a
// replication policy uses it.
func (h *Handler) deleteRegistry(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if _, err := h.replicator(p); err != nil {
		return err
	}
	name := r.PathValue("name")
	if err := h.store.Update(r.Context(), func(tx meta.Tx) error {
		if _, err := replication.Registries.In(tx).Get(name); err != nil {
			return toAPIErrorNamed(err, "registry "+name)
		}
		policies, err := replication.Policies.In(tx).List("", 0)
		if err != nil {
			return err
		}
		for _, pol := range policies {
			if pol.Source == name || pol.Destination == name {
				return &apiError{status: http.StatusConflict, code: codeConflict, msg: "registry " + name + " is used by replication policy " + pol.Name}
			}
		}
		return replication.Registries.In(tx).Delete(name)
	}); err != nil {
		return err
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
		rec, err = h.registryNamed(r.Context(), probe.Name)
		var e *apiError
		switch {
		case err == nil:
			stored, req = true, toRegistryJSON(rec)
		case !errors.As(err, &e) || e.status != http.StatusNotFound:
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
	if err := applyRegistryJSON(&rec, req); err != nil {
		return err
	}
	if err := rep.CheckEndpoint(rec); err != nil {
		return endpointError(err)
	}
	ctx, cancel := context.WithTimeout(r.Context(), pingTimeout)
	defer cancel()
	if err := rep.Ping(ctx, rec); err != nil {
		return badRequest("ping %s: %v", rec.URL, err)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
