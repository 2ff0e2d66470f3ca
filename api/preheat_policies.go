package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/preheat"
	"github.com/berthreg/berth/scan"
)

// preheatPolicyJSON is Harbor's PreheatPolicy, as answered. As in
// Harbor, filters and trigger are JSON documents in strings
// (goharbor/harbor src/pkg/p2p/preheat/models/policy/policy.go, v2.x:
// Schema's FiltersStr and TriggerStr): filters a list of
// {"type","value"} in Harbor's order (repository and tag doublestar
// patterns, label a comma-separated list of label names, signature true,
// vulnerability a severity code), trigger {"type","trigger_setting":
// {"cron"}}. The scope is told both as scope (Harbor v2.12's field) and
// in extra_attrs ({"scope": …}, where later Harbor versions keep it).
type preheatPolicyJSON struct {
	ID           int64     `json:"id"`
	Name         string    `json:"name"`
	Description  string    `json:"description"`
	ProjectID    uint64    `json:"project_id"`
	ProviderID   int64     `json:"provider_id"`
	ProviderName string    `json:"provider_name"`
	Filters      string    `json:"filters"`
	Trigger      string    `json:"trigger"`
	Enabled      bool      `json:"enabled"`
	Scope        string    `json:"scope"`
	ExtraAttrs   string    `json:"extra_attrs"`
	Creator      string    `json:"creator,omitempty"`
	CreationTime time.Time `json:"creation_time"`
	UpdateTime   time.Time `json:"update_time"`
}

func toPreheatPolicyJSON(p preheat.Policy) preheatPolicyJSON {
	scope := p.Scope
	if scope == "" {
		scope = preheat.ScopeSinglePeer
	}
	attrs, _ := json.Marshal(map[string]string{"scope": scope})
	return preheatPolicyJSON{ID: p.ID, Name: p.Name, Description: p.Description, ProjectID: p.ProjectID, ProviderID: p.ProviderID,
		ProviderName: p.ProviderName, Filters: filtersJSON(p.Filters), Trigger: triggerJSON(p.Trigger), Enabled: p.Enabled,
		Scope: scope, ExtraAttrs: string(attrs), Creator: p.CreatedBy, CreationTime: p.CreatedAt, UpdateTime: p.UpdatedAt}
}

// preheatPolicyReq is Harbor's PreheatPolicy as a request gives it. The
// read-only fields (id, project_id, provider_name, creator and the
// times) are ignored, whatever they hold, so that a client may send back
// what it read (Harbor's portal does, to update and to run a policy).
type preheatPolicyReq struct {
	ID           json.RawMessage `json:"id"`
	Name         string          `json:"name"`
	Description  string          `json:"description"`
	ProjectID    json.RawMessage `json:"project_id"`
	ProviderID   int64           `json:"provider_id"`
	ProviderName json.RawMessage `json:"provider_name"`
	Filters      string          `json:"filters"`
	Trigger      string          `json:"trigger"`
	Enabled      bool            `json:"enabled"`
	Scope        string          `json:"scope"`
	ExtraAttrs   string          `json:"extra_attrs"`
	Creator      json.RawMessage `json:"creator"`
	CreationTime json.RawMessage `json:"creation_time"`
	UpdateTime   json.RawMessage `json:"update_time"`
}

// policy is the record of project the request describes, its filters,
// trigger and extra attributes read (a 400 naming the field when one
// cannot be); the service checks the rest.
func (j preheatPolicyReq) policy(project string) (preheat.Policy, error) {
	p := preheat.Policy{Name: j.Name, Description: j.Description, Project: project, ProviderID: j.ProviderID,
		Enabled: j.Enabled, Scope: j.Scope}
	var err error
	if p.Filters, err = parseFilters(j.Filters); err != nil {
		return p, err
	}
	if p.Trigger, err = parseTrigger(j.Trigger); err != nil {
		return p, err
	}
	if strings.TrimSpace(j.ExtraAttrs) != "" {
		var attrs struct {
			Scope      string          `json:"scope"`
			ClusterIDs json.RawMessage `json:"cluster_ids"`
		}
		if err := decodeStrict([]byte(j.ExtraAttrs), &attrs, "extra_attrs"); err != nil {
			return p, err
		}
		if c := string(bytes.TrimSpace(attrs.ClusterIDs)); c != "" && c != "null" && c != "[]" {
			return p, badRequest("extra_attrs.cluster_ids: Berth preheats into the instance as a whole; choosing its clusters is not supported")
		}
		switch {
		case p.Scope == "":
			p.Scope = attrs.Scope
		case attrs.Scope != "" && attrs.Scope != p.Scope:
			return p, badRequest("scope: %q differs from extra_attrs.scope %q", p.Scope, attrs.Scope)
		}
	}
	return p, nil
}

// The filter types of a policy, Harbor's, in its order.
const (
	filterRepository    = "repository"
	filterTag           = "tag"
	filterLabel         = "label"
	filterSignature     = "signature"
	filterVulnerability = "vulnerability"
)

// severityByCode are the severities by Harbor's codes (goharbor/harbor
// src/pkg/scan/vuln/severity.go, Severity.Code: None and Unknown 0,
// Negligible 1, Low 2, Medium 3, High 4, Critical 5), which are the
// ranks of package scan. A vulnerability filter of code c keeps the
// artifacts whose severity's code is below c (Harbor's severity
// selector, decoration "lt"); code 0 keeps only artifacts scanned clean.
var severityByCode = []scan.Severity{scan.SeverityUnknown, scan.SeverityNegligible, scan.SeverityLow,
	scan.SeverityMedium, scan.SeverityHigh, scan.SeverityCritical}

// filtersJSON is f as Harbor's filters string: the filters set, in
// Harbor's order.
func filtersJSON(f preheat.Filters) string {
	type filter struct {
		Type  string `json:"type"`
		Value any    `json:"value"`
	}
	out := []filter{}
	if f.Repository != "" {
		out = append(out, filter{filterRepository, f.Repository})
	}
	if f.Tag != "" {
		out = append(out, filter{filterTag, f.Tag})
	}
	if len(f.Labels) > 0 {
		out = append(out, filter{filterLabel, strings.Join(f.Labels, ",")})
	}
	if f.Signature {
		out = append(out, filter{filterSignature, true})
	}
	if f.Vulnerability != "" {
		out = append(out, filter{filterVulnerability, f.Vulnerability.Rank()})
	}
	raw, _ := json.Marshal(out)
	return string(raw)
}

// parseFilters reads Harbor's filters string: a JSON list of
// {"type","value"}, each type at most once. Repository and tag values
// are pattern strings; a label value is a comma-separated string of
// label names (Harbor's label selector splits it on commas; its portal
// wraps several in braces, "{a,b}", which are taken off) or a list of
// names; a signature value is a boolean; a vulnerability value is a
// severity code 0 to 5, as a number or a string of one (Harbor's decoder
// takes both: goharbor/harbor src/pkg/p2p/preheat/models/policy/policy.go,
// decodeFilters), or a severity name. "" and "null" are no filters.
func parseFilters(s string) (preheat.Filters, error) {
	var f preheat.Filters
	if t := strings.TrimSpace(s); t == "" || t == "null" {
		return f, nil
	}
	var list []struct {
		Type  string          `json:"type"`
		Value json.RawMessage `json:"value"`
	}
	if err := decodeStrict([]byte(s), &list, "filters"); err != nil {
		return f, err
	}
	seen := map[string]bool{}
	for i, fl := range list {
		at := fmt.Sprintf("filters[%d]", i)
		switch fl.Type {
		case filterRepository, filterTag, filterLabel, filterSignature, filterVulnerability:
		default:
			return f, badRequest("%s.type: %q is not %s, %s, %s, %s or %s", at, fl.Type,
				filterRepository, filterTag, filterLabel, filterSignature, filterVulnerability)
		}
		if seen[fl.Type] {
			return f, badRequest("%s.type: a second %s filter (give each type once)", at, fl.Type)
		}
		seen[fl.Type] = true
		if v := bytes.TrimSpace(fl.Value); len(v) == 0 || string(v) == "null" {
			return f, badRequest("%s.value: required", at)
		}
		var err error
		switch fl.Type {
		case filterRepository:
			err = json.Unmarshal(fl.Value, &f.Repository)
		case filterTag:
			err = json.Unmarshal(fl.Value, &f.Tag)
		case filterSignature:
			err = json.Unmarshal(fl.Value, &f.Signature)
		case filterLabel:
			f.Labels, err = parseLabels(fl.Value, at)
		case filterVulnerability:
			f.Vulnerability, err = parseSeverity(fl.Value, at)
		}
		if _, ok := err.(*apiError); ok {
			return f, err
		}
		if err != nil {
			kind := map[string]string{filterRepository: "a doublestar pattern string", filterTag: "a doublestar pattern string",
				filterSignature: "a boolean"}[fl.Type]
			return f, badRequest("%s.value: a %s filter's value is %s", at, fl.Type, kind)
		}
	}
	return f, nil
}

// parseLabels reads a label filter's value (see parseFilters). Names are
// trimmed of spaces; a name holding ',', '{' or '}' is refused, since
// Harbor's comma-separated form could not carry it back.
func parseLabels(raw json.RawMessage, at string) ([]string, error) {
	var names []string
	var one string
	switch {
	case json.Unmarshal(raw, &one) == nil:
		one = strings.TrimSpace(one)
		if len(one) >= 2 && one[0] == '{' && one[len(one)-1] == '}' {
			one = one[1 : len(one)-1]
		}
		if one != "" {
			names = strings.Split(one, ",")
		}
	case json.Unmarshal(raw, &names) == nil:
	default:
		return nil, badRequest("%s.value: a label filter's value is a comma-separated string of label names, or a list of them", at)
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		n = strings.TrimSpace(n)
		if strings.ContainsAny(n, ",{}") {
			return nil, badRequest("%s.value: label %q: a label filter is a comma-separated list, so its names cannot hold ',', '{' or '}'", at, n)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// parseSeverity reads a vulnerability filter's value (see parseFilters).
func parseSeverity(raw json.RawMessage, at string) (scan.Severity, error) {
	bad := badRequest("%s.value: a vulnerability filter's value is a severity code from 0 (None) to 5 (Critical): "+
		"0 keeps artifacts scanned clean, 1 Negligible, 2 Low, 3 Medium, 4 High, 5 Critical keep those whose worst finding is below it", at)
	var code float64
	var text string
	switch {
	case json.Unmarshal(raw, &code) == nil:
	case json.Unmarshal(raw, &text) == nil:
		text = strings.TrimSpace(text)
		if n, err := strconv.ParseFloat(text, 64); err == nil && !strings.ContainsAny(text, "xXpP_") {
			code = n
			break
		}
		for _, s := range severityByCode {
			if strings.EqualFold(text, string(s)) {
				return s, nil
			}
		}
		if strings.EqualFold(text, "None") {
			return scan.SeverityUnknown, nil
		}
		return "", bad
	default:
		return "", bad
	}
	if code != math.Trunc(code) || code < 0 || code >= float64(len(severityByCode)) {
		return "", bad
	}
	return severityByCode[int(code)], nil
}

// preheatTriggerJSON is Harbor's trigger document; trigger_setting is
// always there (Harbor's portal reads trigger_setting.cron of every
// policy it edits).
type preheatTriggerJSON struct {
	Type     string                 `json:"type"`
	Settings preheatTriggerSettings `json:"trigger_setting"`
}

type preheatTriggerSettings struct {
	Cron string `json:"cron,omitempty"`
}

// triggerJSON is t as Harbor's trigger string.
func triggerJSON(t preheat.Trigger) string {
	out := preheatTriggerJSON{Type: string(t.Type)}
	if t.Type == preheat.TriggerScheduled {
		out.Settings.Cron = t.Settings.Cron
	}
	raw, _ := json.Marshal(out)
	return string(raw)
}

// parseTrigger reads Harbor's trigger string; "" (and a type left out)
// is a manual trigger. The service checks the type and the cron.
func parseTrigger(s string) (preheat.Trigger, error) {
	t := preheat.Trigger{Type: preheat.TriggerManual}
	if v := strings.TrimSpace(s); v == "" || v == "null" {
		return t, nil
	}
	var req struct {
		Type     string                  `json:"type"`
		Settings *preheatTriggerSettings `json:"trigger_setting"`
	}
	if err := decodeStrict([]byte(s), &req, "trigger"); err != nil {
		return t, err
	}
	if req.Type != "" {
		t.Type = preheat.TriggerType(req.Type)
	}
	if req.Settings != nil {
		t.Settings.Cron = req.Settings.Cron
	}
	return t, nil
}

// policyFields are what q and sort read of a policy.
var policyFields = listFields[preheat.Policy]{
	"id":            func(p preheat.Policy) any { return p.ID },
	"name":          func(p preheat.Policy) any { return p.Name },
	"description":   func(p preheat.Policy) any { return p.Description },
	"provider_id":   func(p preheat.Policy) any { return p.ProviderID },
	"provider_name": func(p preheat.Policy) any { return p.ProviderName },
	"enabled":       func(p preheat.Policy) any { return p.Enabled },
	"trigger":       func(p preheat.Policy) any { return string(p.Trigger.Type) },
	"scope":         func(p preheat.Policy) any { return p.Scope },
	"creation_time": func(p preheat.Policy) any { return p.CreatedAt },
	"update_time":   func(p preheat.Policy) any { return p.UpdatedAt },
}

// readPreheatPolicy decodes a policy request for the request's project;
// a body refused goes behind the project administrators' rule
// (ProvidersUnderProject checks it).
func readPreheatPolicy(svc *preheat.Service, w http.ResponseWriter, r *http.Request, p auth.Principal) (preheat.Policy, error) {
	project := r.PathValue("project")
	var req preheatPolicyReq
	err := decodePreheat(w, r, &req, false)
	var pol preheat.Policy
	if err == nil {
		pol, err = req.policy(project)
	}
	if err != nil {
		return pol, rightsFirst(func() error { _, err := svc.ProvidersUnderProject(r.Context(), p, project); return err }, err)
	}
	return pol, nil
}

// policyPath is the path of policy name of project below Prefix.
func policyPath(project, name string) string {
	return "/projects/" + url.PathEscape(project) + "/preheat/policies/" + url.PathEscape(name)
}

// listPreheatPolicies is GET /projects/{project}/preheat/policies, in
// name order (q and sort over policyFields).
func (h *Handler) listPreheatPolicies(svc *preheat.Service, w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	project := r.PathValue("project")
	return writePreheatList(w, r, policyFields, func(pg preheat.Page) ([]preheat.Policy, int, error) {
		return svc.Policies(r.Context(), p, project, pg)
	}, toPreheatPolicyJSON)
}

// createPreheatPolicy is POST /projects/{project}/preheat/policies: 201
// with the new policy's Location.
func (h *Handler) createPreheatPolicy(svc *preheat.Service, w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pol, err := readPreheatPolicy(svc, w, r, p)
	if err != nil {
		return err
	}
	stored, err := svc.CreatePolicy(r.Context(), p, pol)
	if err != nil {
		return err
	}
	created(w, policyPath(stored.Project, stored.Name))
	return nil
}

func (h *Handler) getPreheatPolicy(svc *preheat.Service, w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pol, err := svc.Policy(r.Context(), p, r.PathValue("project"), r.PathValue("preheat_policy_name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toPreheatPolicyJSON(pol))
	return nil
}

// updatePreheatPolicy is PUT /projects/{project}/preheat/policies/{name}:
// the body replaces the policy's settings (its creator and creation time
// are kept; a policy is not renamed).
func (h *Handler) updatePreheatPolicy(svc *preheat.Service, w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	name := r.PathValue("preheat_policy_name")
	pol, err := readPreheatPolicy(svc, w, r, p)
	if err != nil {
		return err
	}
	if pol.Name == "" {
		pol.Name = name
	}
	if pol.Name != name {
		return rightsFirst(func() error { _, err := svc.Policy(r.Context(), p, pol.Project, name); return err },
			badRequest("name: a policy is not renamed (%q is not %q; create another)", pol.Name, name))
	}
	if _, err := svc.UpdatePolicy(r.Context(), p, pol); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// startPreheat is POST /projects/{project}/preheat/policies/{name},
// Harbor's manual preheat: a manual execution of the policy, 201 with
// its Location. Harbor's portal sends the policy as the body; it is
// ignored (the stored policy runs), and may be left out.
func (h *Handler) startPreheat(svc *preheat.Service, w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	project, name := r.PathValue("project"), r.PathValue("preheat_policy_name")
	var req preheatPolicyReq
	if err := decodePreheat(w, r, &req, true); err != nil {
		return rightsFirst(func() error { _, err := svc.Policy(r.Context(), p, project, name); return err }, err)
	}
	e, err := svc.Start(r.Context(), p, project, name)
	if err != nil {
		return err
	}
	created(w, policyPath(project, name)+"/executions/"+strconv.FormatUint(e.ID, 10))
	return nil
}

// deletePreheatPolicy is DELETE /projects/{project}/preheat/policies/{name}
// with its executions; 409 while one of them is in progress.
func (h *Handler) deletePreheatPolicy(svc *preheat.Service, w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := svc.DeletePolicy(r.Context(), p, r.PathValue("project"), r.PathValue("preheat_policy_name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
