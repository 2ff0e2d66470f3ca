package api

import (
	"net/http"
	"strconv"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/immutable"
)

// WithImmutable serves the projects' tag immutability rules with s
// (/projects/{project}/immutabletagrules). Without it, the Handler makes
// a service over its store: it keeps rules, and they hold wherever the
// store of a service over the registry's store is written through.
func WithImmutable(s *immutable.Service) Option { return func(h *Handler) { h.immutable = s } }

// immutableRuleJSON is Harbor's ImmutableRule: one tag selector and one
// repository selector, doublestar patterns.
type immutableRuleJSON struct {
	ID             int64                     `json:"id"`
	Priority       int                       `json:"priority"`
	Disabled       bool                      `json:"disabled"`
	Action         string                    `json:"action"`
	Template       string                    `json:"template"`
	TagSelectors   []selectorJSON            `json:"tag_selectors"`
	ScopeSelectors map[string][]selectorJSON `json:"scope_selectors"`
}

// selectorJSON is Harbor's ImmutableSelector (and RetentionSelector).
type selectorJSON struct {
	Kind       string `json:"kind"`
	Decoration string `json:"decoration"`
	Pattern    string `json:"pattern"`
	// Extras is retention's tag selector option, JSON in a string:
	// {"untagged":true} selects untagged artifacts too.
	Extras string `json:"extras,omitempty"`
}

func toImmutableRuleJSON(r immutable.Rule) immutableRuleJSON {
	return immutableRuleJSON{
		ID: r.ID, Disabled: r.Disabled, Action: "immutable", Template: "immutable_template",
		TagSelectors: []selectorJSON{{Kind: "doublestar", Decoration: r.Tags.Decoration, Pattern: r.Tags.Pattern}},
		ScopeSelectors: map[string][]selectorJSON{"repository": {{Kind: "doublestar",
			Decoration: "repo" + capitalized(r.Repositories.Decoration), Pattern: r.Repositories.Pattern}}},
	}
}

func capitalized(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// rule reads the rule from Harbor's shape, naming the field at fault.
func (j immutableRuleJSON) rule() (immutable.Rule, error) {
	r := immutable.Rule{ID: j.ID, Disabled: j.Disabled}
	if j.Action != "" && j.Action != "immutable" {
		return r, badRequest("action: %q is not \"immutable\"", j.Action)
	}
	if j.Template != "" && j.Template != "immutable_template" {
		return r, badRequest("template: %q is not \"immutable_template\"", j.Template)
	}
	if len(j.TagSelectors) != 1 {
		return r, badRequest("tag_selectors: want one selector, got %d", len(j.TagSelectors))
	}
	tag := j.TagSelectors[0]
	if tag.Kind != "" && tag.Kind != "doublestar" {
		return r, badRequest("tag_selectors[0].kind: %q is not \"doublestar\"", tag.Kind)
	}
	r.Tags = immutable.Selector{Decoration: tag.Decoration, Pattern: tag.Pattern}
	if err := r.Tags.Check("tag_selectors[0]"); err != nil {
		return r, badRequest("%v", err)
	}
	for k := range j.ScopeSelectors {
		if k != "repository" {
			return r, badRequest("scope_selectors.%s: the only scope is repository", k)
		}
	}
	repos := j.ScopeSelectors["repository"]
	if len(repos) != 1 {
		return r, badRequest("scope_selectors.repository: want one selector, got %d", len(repos))
	}
	repo := repos[0]
	if repo.Kind != "" && repo.Kind != "doublestar" {
		return r, badRequest("scope_selectors.repository[0].kind: %q is not \"doublestar\"", repo.Kind)
	}
	switch repo.Decoration {
	case "repoMatches":
		r.Repositories.Decoration = immutable.Matches
	case "repoExcludes":
		r.Repositories.Decoration = immutable.Excludes
	default:
		return r, badRequest("scope_selectors.repository[0].decoration: %q is not repoMatches or repoExcludes", repo.Decoration)
	}
	r.Repositories.Pattern = repo.Pattern
	if err := r.Repositories.Check("scope_selectors.repository[0]"); err != nil {
		return r, badRequest("%v", err)
	}
	return r, nil
}

// readImmutableRule reads a rule from the request body.
func readImmutableRule(w http.ResponseWriter, r *http.Request) (immutable.Rule, error) {
	var req immutableRuleJSON
	if err := decode(w, r, &req); err != nil {
		return immutable.Rule{}, err
	}
	return req.rule()
}

// immutableFor checks that p may perform action on project's rules
// (reading: its members; changing: whoever may update the project) and
// returns the service.
func (h *Handler) immutableFor(r *http.Request, p auth.Principal, project, action string) (*immutable.Service, error) {
	if _, err := h.allowedOn(r, p, project, rbac.ResourceProject, action); err != nil {
		return nil, err
	}
	if h.immutable == nil {
		return nil, &apiError{status: http.StatusNotImplemented, code: "NOT_IMPLEMENTED", msg: "this server keeps no immutability rules"}
	}
	return h.immutable, nil
}

func (h *Handler) listImmutableRules(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	project := r.PathValue("project")
	svc, err := h.immutableFor(r, p, project, rbac.ActionRead)
	if err != nil {
		return err
	}
	rules, err := svc.Rules(r.Context(), project)
	if err != nil {
		return err
	}
	out := make([]immutableRuleJSON, 0, len(rules))
	for _, rule := range rules {
		out = append(out, toImmutableRuleJSON(rule))
	}
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	writePage(w, r, pg, out)
	return nil
}

func (h *Handler) createImmutableRule(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	project := r.PathValue("project")
	svc, err := h.immutableFor(r, p, project, rbac.ActionUpdate)
	if err != nil {
		return err
	}
	rule, err := readImmutableRule(w, r)
	if err != nil {
		return err
	}
	rule, err = svc.Create(r.Context(), project, rule)
	if err != nil {
		return err
	}
	created(w, "/projects/"+project+"/immutabletagrules/"+strconv.FormatInt(rule.ID, 10))
	return nil
}

// ruleID is the path's rule id.
func ruleID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, badRequest("immutable_rule_id: %q is not a rule id", r.PathValue("id"))
	}
	return id, nil
}

func (h *Handler) updateImmutableRule(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	project := r.PathValue("project")
	svc, err := h.immutableFor(r, p, project, rbac.ActionUpdate)
	if err != nil {
		return err
	}
	id, err := ruleID(r)
	if err != nil {
		return err
	}
	rule, err := readImmutableRule(w, r)
	if err != nil {
		return err
	}
	rule.ID = id
	if _, err := svc.Update(r.Context(), project, rule); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) deleteImmutableRule(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	project := r.PathValue("project")
	svc, err := h.immutableFor(r, p, project, rbac.ActionUpdate)
	if err != nil {
		return err
	}
	id, err := ruleID(r)
	if err != nil {
		return err
	}
	if err := svc.Delete(r.Context(), project, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
