package api

import (
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/preheat"
)

// preheatMetadataJSON is Harbor's Metadata of a P2P provider: a vendor
// registered with the service (preheat.WithProvider), by its name. The
// preheat service keeps no more of a vendor than its name, so Harbor's
// icon, version, source and maintainers are not told.
type preheatMetadataJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// preheatInstanceJSON is Harbor's Instance, as answered: the secrets of
// auth_info ("password", "token") are write-only and never shown.
type preheatInstanceJSON struct {
	ID             int64             `json:"id"`
	Name           string            `json:"name"`
	Description    string            `json:"description"`
	Vendor         string            `json:"vendor"`
	Endpoint       string            `json:"endpoint"`
	AuthMode       string            `json:"auth_mode"`
	AuthInfo       map[string]string `json:"auth_info,omitempty"`
	Status         string            `json:"status"`
	Enabled        bool              `json:"enabled"`
	Default        bool              `json:"default"`
	Insecure       bool              `json:"insecure"`
	SetupTimestamp int64             `json:"setup_timestamp"`
}

func toPreheatInstanceJSON(in preheat.Instance) preheatInstanceJSON {
	return preheatInstanceJSON{ID: in.ID, Name: in.Name, Description: in.Description, Vendor: in.Vendor, Endpoint: in.Endpoint,
		AuthMode: in.AuthMode, AuthInfo: in.AuthInfo, Status: in.Status, Enabled: in.Enabled, Default: in.Default,
		Insecure: in.Insecure, SetupTimestamp: in.SetupTimestamp}
}

// preheatInstanceReq is Harbor's Instance as a request gives it (create,
// update, ping): status and setup_timestamp are read-only and ignored,
// so that a client may send back what it read; id names the stored
// instance a ping checks (and is ignored elsewhere). A secret auth_info
// leaves out keeps the stored one while the endpoint and auth mode stay
// (see preheat.Service.UpdateInstance).
type preheatInstanceReq struct {
	ID             int64             `json:"id"`
	Name           string            `json:"name"`
	Description    string            `json:"description"`
	Vendor         string            `json:"vendor"`
	Endpoint       string            `json:"endpoint"`
	AuthMode       string            `json:"auth_mode"`
	AuthInfo       map[string]string `json:"auth_info"`
	Status         json.RawMessage   `json:"status"`
	Enabled        bool              `json:"enabled"`
	Default        bool              `json:"default"`
	Insecure       bool              `json:"insecure"`
	SetupTimestamp json.RawMessage   `json:"setup_timestamp"`
}

// instance is the record the request describes.
func (j preheatInstanceReq) instance() preheat.Instance {
	return preheat.Instance{ID: j.ID, Name: j.Name, Description: j.Description, Vendor: j.Vendor, Endpoint: j.Endpoint,
		AuthMode: j.AuthMode, AuthInfo: j.AuthInfo, Enabled: j.Enabled, Default: j.Default, Insecure: j.Insecure}
}

// instanceFields are what q and sort read of an instance.
var instanceFields = listFields[preheat.Instance]{
	"id":              func(in preheat.Instance) any { return in.ID },
	"name":            func(in preheat.Instance) any { return in.Name },
	"description":     func(in preheat.Instance) any { return in.Description },
	"vendor":          func(in preheat.Instance) any { return in.Vendor },
	"endpoint":        func(in preheat.Instance) any { return in.Endpoint },
	"auth_mode":       func(in preheat.Instance) any { return in.AuthMode },
	"status":          func(in preheat.Instance) any { return in.Status },
	"enabled":         func(in preheat.Instance) any { return in.Enabled },
	"default":         func(in preheat.Instance) any { return in.Default },
	"insecure":        func(in preheat.Instance) any { return in.Insecure },
	"setup_timestamp": func(in preheat.Instance) any { return in.SetupTimestamp },
}

// readPreheatInstance decodes an instance request; a body refused goes
// behind the system administrators' rule (Vendors checks it), so that
// others learn nothing from it.
func readPreheatInstance(svc *preheat.Service, w http.ResponseWriter, r *http.Request, p auth.Principal) (preheat.Instance, error) {
	var req preheatInstanceReq
	if err := decodePreheat(w, r, &req, false); err != nil {
		return preheat.Instance{}, rightsFirst(func() error { _, err := svc.Vendors(p); return err }, err)
	}
	return req.instance(), nil
}

// listPreheatProviders is GET /p2p/preheat/providers: the registered
// vendors, in name order.
func (h *Handler) listPreheatProviders(svc *preheat.Service, w http.ResponseWriter, _ *http.Request, p auth.Principal) error {
	vendors, err := svc.Vendors(p)
	if err != nil {
		return err
	}
	out := make([]preheatMetadataJSON, 0, len(vendors))
	for _, v := range vendors {
		out = append(out, preheatMetadataJSON{ID: v, Name: v})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// listPreheatInstances is GET /p2p/preheat/instances, in id order (q and
// sort over instanceFields).
func (h *Handler) listPreheatInstances(svc *preheat.Service, w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return writePreheatList(w, r, instanceFields, func(pg preheat.Page) ([]preheat.Instance, int, error) {
		return svc.Instances(r.Context(), p, pg)
	}, toPreheatInstanceJSON)
}

// createPreheatInstance is POST /p2p/preheat/instances: 201 with the new
// instance's Location.
func (h *Handler) createPreheatInstance(svc *preheat.Service, w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	in, err := readPreheatInstance(svc, w, r, p)
	if err != nil {
		return err
	}
	stored, err := svc.CreateInstance(r.Context(), p, in)
	if err != nil {
		return err
	}
	created(w, "/p2p/preheat/instances/"+url.PathEscape(stored.Name))
	return nil
}

func (h *Handler) getPreheatInstance(svc *preheat.Service, w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	in, err := svc.Instance(r.Context(), p, r.PathValue("preheat_instance_name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toPreheatInstanceJSON(in))
	return nil
}

// updatePreheatInstance is PUT /p2p/preheat/instances/{name}: the body
// replaces the instance's settings (a name renames it; the vendor cannot
// change; secrets left out are kept while the endpoint and auth mode
// stay).
func (h *Handler) updatePreheatInstance(svc *preheat.Service, w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	in, err := readPreheatInstance(svc, w, r, p)
	if err != nil {
		return err
	}
	if _, err := svc.UpdateInstance(r.Context(), p, r.PathValue("preheat_instance_name"), in); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// deletePreheatInstance is DELETE /p2p/preheat/instances/{name}; 409
// while a policy uses the instance.
func (h *Handler) deletePreheatInstance(svc *preheat.Service, w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := svc.DeleteInstance(r.Context(), p, r.PathValue("preheat_instance_name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// pingPreheatInstance is POST /p2p/preheat/instances/ping: the health
// check of a stored instance (by id, with the body's endpoint and
// credentials when it gives an endpoint) or of one not stored; 200 when
// it answers, 400 when it does not.
func (h *Handler) pingPreheatInstance(svc *preheat.Service, w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	in, err := readPreheatInstance(svc, w, r, p)
	if err != nil {
		return err
	}
	if err := svc.PingInstance(r.Context(), p, in); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// providerUnderProjectJSON is Harbor's ProviderUnderProject: an instance
// a policy may name, provider being "<instance name>:<vendor>".
type providerUnderProjectJSON struct {
	ID       int64  `json:"id"`
	Provider string `json:"provider"`
	Enabled  bool   `json:"enabled"`
	Default  bool   `json:"default"`
}

// listPreheatProvidersUnderProject is GET
// /projects/{project}/preheat/providers: the instances a policy of the
// project may preheat into, in id order.
func (h *Handler) listPreheatProvidersUnderProject(svc *preheat.Service, w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	list, err := svc.ProvidersUnderProject(r.Context(), p, r.PathValue("project"))
	if err != nil {
		return err
	}
	out := make([]providerUnderProjectJSON, 0, len(list))
	for _, s := range list {
		out = append(out, providerUnderProjectJSON{ID: s.ID, Provider: s.Name + ":" + s.Vendor, Enabled: s.Enabled, Default: s.Default})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
