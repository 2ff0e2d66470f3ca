package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/replication"
)

// registryRef names a registry endpoint in a policy (Harbor's Registry,
// by name); null is this registry.
type registryRef struct {
	Name string `json:"name"`
}

// replicationFilter is Harbor's ReplicationFilter: type "name"
// (repository pattern) or "tag" (tag pattern), decoration "matches" or
// "excludes"; "label" with a list of "key" or "key=value" that artifacts
// must all carry; "artifact_type" (or Harbor's "resource", read back as
// "artifact_type") with a pattern over artifact types. Patterns are
// doublestar globs; several filters of a type select what any of them
// does, and an exclusion wins.
type replicationFilter struct {
	Type       string          `json:"type"`
	Value      json.RawMessage `json:"value"`
	Decoration string          `json:"decoration,omitempty"`
}

// replicationTrigger is Harbor's ReplicationTrigger.
type replicationTrigger struct {
	Type            string                      `json:"type"` // manual, scheduled or event_based
	TriggerSettings *replicationTriggerSettings `json:"trigger_settings,omitempty"`
}

type replicationTriggerSettings struct {
	Cron string `json:"cron"` // with seconds, as Harbor's
}

// replicationPolicyJSON is Harbor's ReplicationPolicy, addressed by name,
// with registries by name and Berth's task_attempts and blob_retries.
type replicationPolicyJSON struct {
	Name                      string              `json:"name"`
	Description               string              `json:"description,omitempty"`
	SrcRegistry               *registryRef        `json:"src_registry"`
	DestRegistry              *registryRef        `json:"dest_registry"`
	DestNamespace             string              `json:"dest_namespace,omitempty"`
	DestNamespaceReplaceCount int                 `json:"dest_namespace_replace_count"`
	Filters                   []replicationFilter `json:"filters"`
	Trigger                   *replicationTrigger `json:"trigger"`
	Override                  bool                `json:"override"`
	ReplicateDeletion         bool                `json:"replicate_deletion"`
	Speed                     int                 `json:"speed"` // KiB/s, 0 (or Harbor's -1) for no limit
	Enabled                   bool                `json:"enabled"`
	TaskAttempts              int                 `json:"task_attempts"`
	BlobRetries               int                 `json:"blob_retries"`
	Creator                   string              `json:"creator,omitempty"`
	CreationTime              time.Time           `json:"creation_time,omitzero"`
	UpdateTime                time.Time           `json:"update_time,omitzero"`
}

func toReplicationPolicyJSON(rec replication.PolicyRecord) replicationPolicyJSON {
	out := replicationPolicyJSON{Name: rec.Name, Description: rec.Description, DestNamespace: rec.Namespace,
		DestNamespaceReplaceCount: rec.Flatten, Filters: []replicationFilter{}, Trigger: &replicationTrigger{Type: string(rec.Trigger)},
		Override: rec.Override, ReplicateDeletion: rec.ReplicateDeletion, Speed: rec.Speed, Enabled: rec.Enabled,
		TaskAttempts: rec.TaskAttempts, BlobRetries: rec.BlobRetries, Creator: rec.CreatedBy, CreationTime: rec.CreatedAt, UpdateTime: rec.UpdatedAt}
	if rec.Source != "" {
		out.SrcRegistry = &registryRef{Name: rec.Source}
	}
	if rec.Destination != "" {
		out.DestRegistry = &registryRef{Name: rec.Destination}
	}
	if rec.Cron != "" {
		out.Trigger.TriggerSettings = &replicationTriggerSettings{Cron: rec.Cron}
	}
	add := func(typ, decoration string, v any) {
		raw, _ := json.Marshal(v)
		out.Filters = append(out.Filters, replicationFilter{Type: typ, Value: raw, Decoration: decoration})
	}
	for _, f := range []struct {
		typ, decoration string
		values          []string
	}{
		{"name", "matches", rec.Repositories}, {"name", "excludes", rec.ExcludeRepositories},
		{"tag", "matches", rec.Tags}, {"tag", "excludes", rec.ExcludeTags},
	} {
		for _, v := range f.values {
			add(f.typ, f.decoration, v)
		}
	}
	if len(rec.Labels) > 0 {
		add("label", "matches", rec.Labels)
	}
	for _, v := range rec.ArtifactTypes {
		add("artifact_type", "matches", v)
	}
	return out
}

// filterOrigin remembers which filter of a request a record's pattern
// came from, to name it in the service's refusals.
type filterOrigin struct {
	field, value string // the record's field ("tags") and the value
	index        int
}

// fromReplicationPolicyJSON makes the record a policy request describes
// (without its creation fields), with where its patterns came from.
func fromReplicationPolicyJSON(req replicationPolicyJSON) (replication.PolicyRecord, []filterOrigin, error) {
	rec := replication.PolicyRecord{Name: req.Name, Description: req.Description, Namespace: req.DestNamespace,
		Flatten: req.DestNamespaceReplaceCount, Override: req.Override, ReplicateDeletion: req.ReplicateDeletion,
		Speed: req.Speed, Enabled: req.Enabled, TaskAttempts: req.TaskAttempts, BlobRetries: req.BlobRetries, Trigger: replication.TriggerManual}
	if err := replication.CheckName(req.Name); err != nil {
		return rec, nil, replicationError(err, nil)
	}
	if req.SrcRegistry != nil {
		rec.Source = req.SrcRegistry.Name
	}
	if req.DestRegistry != nil {
		rec.Destination = req.DestRegistry.Name
	}
	if rec.Speed == -1 { // Harbor's "unlimited"
		rec.Speed = 0
	}
	if req.Trigger != nil {
		if req.Trigger.Type != "" {
			rec.Trigger = replication.TriggerType(req.Trigger.Type)
		}
		if req.Trigger.TriggerSettings != nil {
			rec.Cron = req.Trigger.TriggerSettings.Cron
		}
	}
	var origins []filterOrigin
	for i, f := range req.Filters {
		decoration := f.Decoration
		if decoration == "" {
			decoration = "matches"
		}
		if decoration != "matches" && decoration != "excludes" {
			return rec, nil, badRequest("filters[%d].decoration: %q is not matches or excludes", i, f.Decoration)
		}
		var values []string
		switch f.Type {
		case "label":
			if err := json.Unmarshal(f.Value, &values); err != nil {
				var one string
				if json.Unmarshal(f.Value, &one) != nil {
					return rec, nil, badRequest("filters[%d].value: a label filter's value is a list of \"key\" or \"key=value\"", i)
				}
				values = []string{one}
			}
		case "name", "tag", "artifact_type", "resource":
			var one string
			if err := json.Unmarshal(f.Value, &one); err != nil {
				return rec, nil, badRequest("filters[%d].value: a %s filter's value is a pattern string", i, f.Type)
			}
			if one != "" {
				values = []string{one}
			}
		default:
			return rec, nil, badRequest("filters[%d].type: %q is not name, tag, label, artifact_type or resource", i, f.Type)
		}
		var field string
		var dst *[]string
		switch {
		case f.Type == "name" && decoration == "matches":
			field, dst = "repositories", &rec.Repositories
		case f.Type == "name":
			field, dst = "excludeRepositories", &rec.ExcludeRepositories
		case f.Type == "tag" && decoration == "matches":
			field, dst = "tags", &rec.Tags
		case f.Type == "tag":
			field, dst = "excludeTags", &rec.ExcludeTags
		case decoration == "excludes":
			return rec, nil, badRequest("filters[%d].decoration: %s filters only match", i, f.Type)
		case f.Type == "label":
			field, dst = "labels", &rec.Labels
		default:
			field, dst = "artifactTypes", &rec.ArtifactTypes
		}
		for _, v := range values {
			*dst = append(*dst, v)
			origins = append(origins, filterOrigin{field: field, value: v, index: i})
		}
	}
	return rec, origins, nil
}

// policyFieldNames are the API's names of the record's fields that the
// service's refusals name.
var policyFieldNames = map[string]string{
	"source": "src_registry", "destination": "dest_registry", "trigger": "trigger.type",
	"cron": "trigger.trigger_settings.cron", "namespace": "dest_namespace", "flatten": "dest_namespace_replace_count",
	"taskAttempts": "task_attempts", "blobRetries": "blob_retries",
}

// policyError maps the service's errors about a policy: a refused field
// is a 400 naming the field as the request did (filters[i].value for a
// pattern).
func policyError(err error, origins []filterOrigin) error {
	return replicationError(err, func(field, rest string) string {
		if n, ok := policyFieldNames[field]; ok {
			return n
		}
		filter := false
		for _, o := range origins {
			if o.field != field {
				continue
			}
			filter = true
			if strings.Contains(rest, strconv.Quote(o.value)) {
				return fmt.Sprintf("filters[%d].value", o.index)
			}
		}
		if filter {
			return "filters"
		}
		return ""
	})
}

// listReplicationPolicies is GET /replication/policies?q=name=~text
// (also src_registry, dest_registry: "" for this registry).
func (h *Handler) listReplicationPolicies(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	rep, err := h.replicator(p)
	if err != nil {
		return err
	}
	match, err := fieldQuery(r.URL.Query().Get("q"), "name", "src_registry", "dest_registry")
	if err != nil {
		return err
	}
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	all, err := rep.Policies(r.Context())
	if err != nil {
		return err
	}
	var list []replicationPolicyJSON
	for _, rec := range all {
		if match(func(k string) string {
			return map[string]string{"name": rec.Name, "src_registry": rec.Source, "dest_registry": rec.Destination}[k]
		}) {
			list = append(list, toReplicationPolicyJSON(rec))
		}
	}
	writePage(w, r, pg, list)
	return nil
}

func (h *Handler) createReplicationPolicy(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	rep, err := h.replicator(p)
	if err != nil {
		return err
	}
	var req replicationPolicyJSON
	if err := decode(w, r, &req); err != nil {
		return err
	}
	rec, origins, err := fromReplicationPolicyJSON(req)
	if err != nil {
		return err
	}
	rec.CreatedBy = p.Name
	if _, err := rep.CreatePolicy(r.Context(), rec); err != nil {
		return policyError(err, origins)
	}
	created(w, "/replication/policies/"+rec.Name)
	return nil
}

func (h *Handler) getReplicationPolicy(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	rep, err := h.replicator(p)
	if err != nil {
		return err
	}
	rec, err := rep.Policy(r.Context(), r.PathValue("name"))
	if err != nil {
		return policyError(err, nil)
	}
	writeJSON(w, http.StatusOK, toReplicationPolicyJSON(rec))
	return nil
}

// updateReplicationPolicy is PUT /replication/policies/{name}: the body
// replaces the policy (its creator and creation time are kept).
func (h *Handler) updateReplicationPolicy(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	rep, err := h.replicator(p)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	var req replicationPolicyJSON
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Name == "" {
		req.Name = name
	}
	if req.Name != name {
		return badRequest("name: a policy is not renamed (create another)")
	}
	rec, origins, err := fromReplicationPolicyJSON(req)
	if err != nil {
		return err
	}
	if _, err := rep.UpdatePolicy(r.Context(), rec); err != nil {
		return policyError(err, origins)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// deleteReplicationPolicy is DELETE /replication/policies/{name}, refused
// (409) while an execution of it runs. Its executions are kept.
func (h *Handler) deleteReplicationPolicy(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	rep, err := h.replicator(p)
	if err != nil {
		return err
	}
	if err := rep.DeletePolicy(r.Context(), r.PathValue("name")); err != nil {
		return policyError(err, nil)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
