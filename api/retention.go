package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/immutable"
	"github.com/berthreg/berth/retention"
)

// WithRetention serves the projects' retention policies and their runs
// with s (Harbor's /retentions; a policy's id is its project's id).
// Without it those endpoints answer 501.
func WithRetention(s *retention.Service) Option { return func(h *Handler) { h.retention = s } }

// retentionPolicyJSON is Harbor's RetentionPolicy.
type retentionPolicyJSON struct {
	ID        uint64              `json:"id"`
	Algorithm string              `json:"algorithm"`
	Rules     []retentionRuleJSON `json:"rules"`
	Trigger   *struct {
		Kind     string `json:"kind"`
		Settings struct {
			Cron string `json:"cron"`
		} `json:"settings"`
	} `json:"trigger"`
	Scope struct {
		Level string `json:"level"`
		Ref   uint64 `json:"ref"`
	} `json:"scope"`
}

// retentionRuleJSON is Harbor's RetentionRule.
type retentionRuleJSON struct {
	ID             int64                     `json:"id"`
	Priority       int                       `json:"priority"`
	Disabled       bool                      `json:"disabled"`
	Action         string                    `json:"action"`
	Template       string                    `json:"template"`
	Params         map[string]any            `json:"params"`
	TagSelectors   []selectorJSON            `json:"tag_selectors"`
	ScopeSelectors map[string][]selectorJSON `json:"scope_selectors"`
}

// untaggedExtras is a tag selector's extras with untagged artifacts.
type untaggedExtras struct {
	Untagged bool `json:"untagged"`
}

func toRetentionJSON(proj accounts.Project, p retention.Policy) retentionPolicyJSON {
	out := retentionPolicyJSON{ID: proj.ID, Algorithm: "or", Rules: []retentionRuleJSON{}}
	out.Scope.Level, out.Scope.Ref = "project", proj.ID
	if p.Schedule != "" {
		out.Trigger = &struct {
			Kind     string `json:"kind"`
			Settings struct {
				Cron string `json:"cron"`
			} `json:"settings"`
		}{Kind: "Schedule"}
		out.Trigger.Settings.Cron = p.Schedule
	}
	for _, r := range p.Rules {
		extras, _ := json.Marshal(untaggedExtras{Untagged: r.Untagged})
		j := retentionRuleJSON{ID: r.ID, Disabled: r.Disabled, Action: "retain", Template: r.Template, Params: map[string]any{},
			TagSelectors: []selectorJSON{{Kind: "doublestar", Decoration: r.Tags.Decoration, Pattern: r.Tags.Pattern, Extras: string(extras)}},
			ScopeSelectors: map[string][]selectorJSON{"repository": {{Kind: "doublestar",
				Decoration: "repo" + capitalized(r.Repositories.Decoration), Pattern: r.Repositories.Pattern}}}}
		if r.Template != retention.Always {
			j.Params[r.Template] = r.Count
		}
		out.Rules = append(out.Rules, j)
	}
	return out
}

// policy reads the policy of project from Harbor's shape, naming the
// field at fault; the service checks the rest.
func (j retentionPolicyJSON) policy(project string) (retention.Policy, error) {
	p := retention.Policy{Project: project}
	if j.Algorithm != "" && j.Algorithm != "or" {
		return p, badRequest("algorithm: %q is not \"or\"", j.Algorithm)
	}
	if j.Trigger != nil && j.Trigger.Kind != "" {
		if j.Trigger.Kind != "Schedule" {
			return p, badRequest("trigger.kind: %q is not \"Schedule\"", j.Trigger.Kind)
		}
		p.Schedule = j.Trigger.Settings.Cron
	}
	for i, jr := range j.Rules {
		field := "rules[" + strconv.Itoa(i) + "]"
		if jr.Action != "" && jr.Action != "retain" {
			return p, badRequest("%s.action: %q is not \"retain\"", field, jr.Action)
		}
		r := retention.Rule{ID: jr.ID, Disabled: jr.Disabled, Template: jr.Template}
		if v, ok := jr.Params[jr.Template]; ok {
			n, isNum := v.(float64)
			if !isNum || n != float64(int(n)) {
				return p, badRequest("%s.params.%s: %v is not a whole number", field, jr.Template, v)
			}
			r.Count = int(n)
		}
		rule := immutableRuleJSON{TagSelectors: jr.TagSelectors, ScopeSelectors: jr.ScopeSelectors}
		sel, err := rule.rule()
		if err != nil {
			return p, badRequest("%s.%s", field, err.Error())
		}
		r.Repositories, r.Tags = sel.Repositories, sel.Tags
		if x := jr.TagSelectors[0].Extras; x != "" {
			var extras untaggedExtras
			if err := json.Unmarshal([]byte(x), &extras); err != nil {
				return p, badRequest("%s.tag_selectors[0].extras: %v", field, err)
			}
			r.Untagged = extras.Untagged
		}
		p.Rules = append(p.Rules, r)
	}
	return p, nil
}

// retentionProject finds the project whose id is the path's {id} (its
// policy's id) and checks that p may perform action on its policy.
func (h *Handler) retentionProject(r *http.Request, p auth.Principal, id, action string) (accounts.Project, *retention.Service, error) {
	proj, err := h.projectByID(r, p, id, "retention policy")
	if err != nil {
		return proj, nil, err
	}
	if _, err := h.allowedOn(r, p, proj.Name, rbac.ResourceProject, action); err != nil {
		return proj, nil, err
	}
	if h.retention == nil {
		return proj, nil, &apiError{status: http.StatusNotImplemented, code: "NOT_IMPLEMENTED", msg: "this server runs no retention"}
	}
	return proj, h.retention, nil
}

// projectByID finds a project p may see by its id (or name); what
// names the resource for a 404.
func (h *Handler) projectByID(r *http.Request, p auth.Principal, id, what string) (accounts.Project, error) {
	if err := signedIn(p); err != nil {
		return accounts.Project{}, err
	}
	all, _, err := h.m.ListProjects(r.Context(), p, accounts.ProjectFilter{}, accounts.Page{Number: 1})
	if err != nil {
		return accounts.Project{}, err
	}
	for _, proj := range all {
		if strconv.FormatUint(proj.ID, 10) == id || proj.Name == id {
			return proj, nil
		}
	}
	return accounts.Project{}, notFound("%s %s not found", what, id)
}

func (h *Handler) createRetention(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req retentionPolicyJSON
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Scope.Level != "project" {
		return badRequest("scope.level: %q is not \"project\"", req.Scope.Level)
	}
	proj, svc, err := h.retentionProject(r, p, strconv.FormatUint(req.Scope.Ref, 10), rbac.ActionUpdate)
	if err != nil {
		return err
	}
	return h.saveRetention(w, r, svc, proj, req, http.StatusCreated)
}

func (h *Handler) saveRetention(w http.ResponseWriter, r *http.Request, svc *retention.Service, proj accounts.Project, req retentionPolicyJSON, status int) error {
	switch {
	case req.Scope.Level != "" && req.Scope.Level != "project":
		return badRequest("scope.level: %q is not \"project\"", req.Scope.Level)
	case req.Scope.Ref != 0 && req.Scope.Ref != proj.ID:
		return badRequest("scope.ref: %d is not the policy's project (%d)", req.Scope.Ref, proj.ID)
	}
	pol, err := req.policy(proj.Name)
	if err != nil {
		return err
	}
	if _, err := svc.SetPolicy(r.Context(), pol); err != nil {
		return err
	}
	if status == http.StatusCreated {
		created(w, "/retentions/"+strconv.FormatUint(proj.ID, 10))
		return nil
	}
	w.WriteHeader(status)
	return nil
}

func (h *Handler) getRetention(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	proj, svc, err := h.retentionProject(r, p, r.PathValue("id"), rbac.ActionRead)
	if err != nil {
		return err
	}
	pol, err := svc.Policy(r.Context(), proj.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toRetentionJSON(proj, pol))
	return nil
}

func (h *Handler) updateRetention(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	proj, svc, err := h.retentionProject(r, p, r.PathValue("id"), rbac.ActionUpdate)
	if err != nil {
		return err
	}
	var req retentionPolicyJSON
	if err := decode(w, r, &req); err != nil {
		return err
	}
	return h.saveRetention(w, r, svc, proj, req, http.StatusOK)
}

func (h *Handler) deleteRetention(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	proj, svc, err := h.retentionProject(r, p, r.PathValue("id"), rbac.ActionUpdate)
	if err != nil {
		return err
	}
	if err := svc.DeletePolicy(r.Context(), proj.Name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// retentionExecutionJSON is Harbor's RetentionExecution, with Berth's
// counts.
type retentionExecutionJSON struct {
	ID        uint64    `json:"id"`
	PolicyID  uint64    `json:"policy_id"`
	StartTime time.Time `json:"start_time"`
	EndTime   time.Time `json:"end_time,omitzero"`
	Status    string    `json:"status"`
	Trigger   string    `json:"trigger"`
	DryRun    bool      `json:"dry_run"`
	Total     int       `json:"total"`
	Retained  int       `json:"retained"`
	Deleted   int       `json:"deleted"`
}

func toExecutionJSON(proj accounts.Project, ex retention.Execution) retentionExecutionJSON {
	return retentionExecutionJSON{ID: ex.ID, PolicyID: proj.ID, StartTime: ex.StartedAt, EndTime: ex.EndedAt,
		Status: ex.Status, Trigger: ex.Trigger, DryRun: ex.DryRun, Total: ex.Artifacts, Retained: ex.Retained, Deleted: ex.Deleted}
}

func (h *Handler) startRetention(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	proj, svc, err := h.retentionProject(r, p, r.PathValue("id"), rbac.ActionUpdate)
	if err != nil {
		return err
	}
	var req struct {
		DryRun bool `json:"dry_run"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	ex, err := svc.Start(r.Context(), proj.Name, req.DryRun)
	if err != nil {
		return err
	}
	created(w, "/retentions/"+strconv.FormatUint(proj.ID, 10)+"/executions/"+strconv.FormatUint(ex.ID, 10))
	return nil
}

func (h *Handler) listRetentionExecutions(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	proj, svc, err := h.retentionProject(r, p, r.PathValue("id"), rbac.ActionRead)
	if err != nil {
		return err
	}
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	all, err := svc.Executions(r.Context(), proj.Name)
	if err != nil {
		return err
	}
	out := make([]retentionExecutionJSON, 0, len(all))
	for _, ex := range all {
		out = append(out, toExecutionJSON(proj, ex))
	}
	writePage(w, r, pg, out)
	return nil
}

// retentionTaskJSON is Harbor's RetentionExecutionTask: one repository.
type retentionTaskJSON struct {
	ID          int                  `json:"id"`
	ExecutionID uint64               `json:"execution_id"`
	Repository  string               `json:"repository"`
	Status      string               `json:"status"`
	Total       int                  `json:"total"`
	Retained    int                  `json:"retained"`
	Deleted     int                  `json:"deleted"`
	Skipped     int                  `json:"skipped"`
	Artifacts   []retention.Artifact `json:"deleted_artifacts"`
}

func (h *Handler) listRetentionTasks(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	proj, svc, err := h.retentionProject(r, p, r.PathValue("id"), rbac.ActionRead)
	if err != nil {
		return err
	}
	eid, err := strconv.ParseUint(r.PathValue("eid"), 10, 64)
	if err != nil {
		return badRequest("execution id: %q is not a number", r.PathValue("eid"))
	}
	ex, err := svc.Execution(r.Context(), proj.Name, eid)
	if err != nil {
		return err
	}
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	out := make([]retentionTaskJSON, 0, len(ex.Repositories))
	for i, rr := range ex.Repositories {
		out = append(out, retentionTaskJSON{ID: i + 1, ExecutionID: ex.ID, Repository: rr.Repository, Status: ex.Status,
			Total: rr.Artifacts, Retained: rr.Retained, Deleted: rr.Deleted, Skipped: rr.Skipped, Artifacts: rr.Delete})
	}
	writePage(w, r, pg, out)
	return nil
}

// retentionMetadata is Harbor's RetentionMetadata: the templates and
// selectors rules may use.
func (h *Handler) retentionMetadata(w http.ResponseWriter, _ *http.Request, p auth.Principal) error {
	if err := signedIn(p); err != nil {
		return err
	}
	type param struct {
		Type     string `json:"type"`
		Unit     string `json:"unit"`
		Required bool   `json:"required"`
	}
	type template struct {
		RuleTemplate string  `json:"rule_template"`
		DisplayText  string  `json:"display_text"`
		Action       string  `json:"action"`
		Params       []param `json:"params"`
	}
	templates := []template{
		{retention.LatestPushed, "the most recently pushed # artifacts", "retain", []param{{"int", "count", true}}},
		{retention.LatestPulled, "the most recently pulled # artifacts", "retain", []param{{"int", "count", true}}},
		{retention.PushedWithin, "pushed within the last # days", "retain", []param{{"int", "days", true}}},
		{retention.PulledWithin, "pulled within the last # days", "retain", []param{{"int", "days", true}}},
		{retention.Always, "always", "retain", []param{}},
	}
	type selector struct {
		DisplayText string   `json:"display_text"`
		Kind        string   `json:"kind"`
		Decorations []string `json:"decorations"`
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"templates":       templates,
		"tag_selectors":   []selector{{"Tags", "doublestar", []string{immutable.Matches, immutable.Excludes}}},
		"scope_selectors": []selector{{"Repositories", "doublestar", []string{"repoMatches", "repoExcludes"}}},
	})
	return nil
}
