package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/webhook"
)

// webhookTarget is Harbor's WebhookTargetObject, plus Berth's secret
// (write-only; secret_set tells it is there) and timeout_seconds.
type webhookTarget struct {
	Type           string `json:"type"`
	Address        string `json:"address"`
	AuthHeader     string `json:"auth_header,omitempty"`
	SkipCertVerify bool   `json:"skip_cert_verify"`
	PayloadFormat  string `json:"payload_format,omitempty"` // "Default" or "CloudEvents"
	Secret         string `json:"secret,omitempty"`
	SecretSet      bool   `json:"secret_set,omitempty"`
	TimeoutSeconds int    `json:"timeout_seconds,omitempty"`
}

// webhookPolicy is Harbor's WebhookPolicy, addressed by name, with
// project_name for project_id and Berth's repositories pattern.
type webhookPolicy struct {
	Name         string          `json:"name"`
	Description  string          `json:"description,omitempty"`
	ProjectName  string          `json:"project_name,omitempty"`
	Repositories string          `json:"repositories,omitempty"`
	Targets      []webhookTarget `json:"targets"`
	EventTypes   []string        `json:"event_types"`
	Enabled      bool            `json:"enabled"`
	Creator      string          `json:"creator,omitempty"`
	CreationTime time.Time       `json:"creation_time"`
	UpdateTime   time.Time       `json:"update_time"`
}

func toWebhookJSON(p meta.WebhookPolicy) webhookPolicy {
	out := webhookPolicy{Name: p.Name, Description: p.Description, ProjectName: p.Project, Repositories: p.Repositories,
		EventTypes: p.EventTypes, Enabled: p.Enabled, Creator: p.CreatedBy, CreationTime: p.CreatedAt, UpdateTime: p.UpdatedAt,
		Targets: []webhookTarget{}}
	for _, t := range p.Targets {
		format := "Default"
		if t.Format == "cloudevents" {
			format = "CloudEvents"
		}
		out.Targets = append(out.Targets, webhookTarget{Type: t.Type, Address: t.Address, AuthHeader: t.AuthHeader,
			SkipCertVerify: t.SkipCertVerify, PayloadFormat: format, SecretSet: t.Secret != "", TimeoutSeconds: int(t.Timeout / time.Second)})
	}
	return out
}

// fromWebhookJSON checks a policy request and makes the record of project
// ("" for a system policy); old is the record it replaces, whose secrets
// are kept for targets that send none.
func fromWebhookJSON(req webhookPolicy, project string, old *meta.WebhookPolicy) (meta.WebhookPolicy, error) {
	p := meta.WebhookPolicy{Name: req.Name, Description: req.Description, Project: project, Repositories: req.Repositories,
		EventTypes: req.EventTypes, Enabled: req.Enabled}
	if err := checkName(req.Name); err != nil {
		return p, badRequest("name: %v", err)
	}
	if req.ProjectName != "" && req.ProjectName != project {
		return p, badRequest("project_name: %q is not the project of this path", req.ProjectName)
	}
	if req.Repositories != "" && !doublestar.ValidatePattern(req.Repositories) {
		return p, badRequest("repositories: %q is not a valid pattern", req.Repositories)
	}
	if len(req.EventTypes) == 0 {
		return p, badRequest("event_types: at least one is required")
	}
	for i, t := range req.EventTypes {
		if !slices.Contains(events.Types, t) {
			return p, badRequest("event_types[%d]: %q is not one of %v", i, t, events.Types)
		}
	}
	if len(req.Targets) == 0 {
		return p, badRequest("targets: at least one is required")
	}
	for i, t := range req.Targets {
		u, err := url.Parse(t.Address)
		switch {
		case t.Type != "http" && t.Type != "slack":
			return p, badRequest("targets[%d].type: %q is not http or slack", i, t.Type)
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			return p, badRequest("targets[%d].address: %q is not an http(s) URL", i, t.Address)
		case t.PayloadFormat != "" && t.PayloadFormat != "Default" && t.PayloadFormat != "CloudEvents":
			return p, badRequest("targets[%d].payload_format: %q is not Default or CloudEvents", i, t.PayloadFormat)
		case t.Type == "slack" && t.PayloadFormat == "CloudEvents":
			return p, badRequest("targets[%d].payload_format: slack targets get Slack messages", i)
		case t.TimeoutSeconds < 0 || t.TimeoutSeconds > 300:
			return p, badRequest("targets[%d].timeout_seconds: %d is not between 0 and 300", i, t.TimeoutSeconds)
		}
		mt := meta.WebhookTarget{Type: t.Type, Address: t.Address, AuthHeader: t.AuthHeader, Secret: t.Secret,
			SkipCertVerify: t.SkipCertVerify, Timeout: time.Duration(t.TimeoutSeconds) * time.Second}
		if t.PayloadFormat == "CloudEvents" {
			mt.Format = "cloudevents"
		}
		if mt.Secret == "" && t.SecretSet && old != nil && i < len(old.Targets) {
			mt.Secret = old.Targets[i].Secret
		}
		p.Targets = append(p.Targets, mt)
	}
	return p, nil
}

// checkName accepts a policy name: 1 to 64 letters, digits, '-', '_', '.'.
func checkName(s string) error {
	if s == "" || len(s) > 64 {
		return errors.New("1 to 64 characters")
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return errors.New("only letters, digits, '-', '_' and '.'")
		}
	}
	return nil
}

// webhookScope checks p's right to the webhooks of the request's project
// (a project admin's, project update) or, without a project in the path,
// the system's (administrators); it returns the project ("" for system).
func (h *Handler) webhookScope(r *http.Request, p auth.Principal) (string, error) {
	project := r.PathValue("project")
	if project == "" {
		return "", adminOnly(p)
	}
	_, err := h.allowedOn(r, p, project, rbac.ResourceProject, rbac.ActionUpdate)
	return project, err
}

// policyIn loads policy name of project, 404 when it belongs elsewhere.
func (h *Handler) policyIn(ctx context.Context, project, name string) (meta.WebhookPolicy, error) {
	var p meta.WebhookPolicy
	err := h.store.View(ctx, func(tx meta.Tx) error {
		var err error
		p, err = tx.WebhookPolicies().Get(name)
		return err
	})
	if err == nil && p.Project != project {
		err = meta.ErrNotFound
	}
	if err != nil {
		return p, toAPIErrorNamed(err, "webhook policy "+name)
	}
	return p, nil
}

// scopedPolicy checks p's right to the request's webhook scope and loads
// the policy the path names in it.
func (h *Handler) scopedPolicy(r *http.Request, p auth.Principal) (string, meta.WebhookPolicy, error) {
	project, err := h.webhookScope(r, p)
	if err != nil {
		return project, meta.WebhookPolicy{}, err
	}
	pol, err := h.policyIn(r.Context(), project, r.PathValue("policy"))
	return project, pol, err
}

func (h *Handler) listWebhooks(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	project, err := h.webhookScope(r, p)
	if err != nil {
		return err
	}
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	var all []meta.WebhookPolicy
	if err := h.store.View(r.Context(), func(tx meta.Tx) error {
		var err error
		all, err = tx.WebhookPolicies().List("", 0)
		return err
	}); err != nil {
		return err
	}
	var list []webhookPolicy
	for _, pol := range all {
		if pol.Project == project {
			list = append(list, toWebhookJSON(pol))
		}
	}
	writePage(w, r, pg, list)
	return nil
}

func (h *Handler) createWebhook(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	project, err := h.webhookScope(r, p)
	if err != nil {
		return err
	}
	var req webhookPolicy
	if err := decode(w, r, &req); err != nil {
		return err
	}
	pol, err := fromWebhookJSON(req, project, nil)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	pol.CreatedBy, pol.CreatedAt, pol.UpdatedAt = p.Name, now, now
	err = h.store.Update(r.Context(), func(tx meta.Tx) error {
		if _, err := tx.WebhookPolicies().Get(pol.Name); err == nil {
			return &apiError{status: http.StatusConflict, code: codeConflict, msg: "webhook policy " + pol.Name + " exists"}
		}
		return tx.WebhookPolicies().Put(pol)
	})
	if err != nil {
		return err
	}
	created(w, webhookPath(project)+"/"+pol.Name)
	return nil
}

// webhookPath is the API path of the webhook policies of project.
func webhookPath(project string) string {
	if project == "" {
		return "/webhook/policies"
	}
	return "/projects/" + project + "/webhook/policies"
}

func (h *Handler) getWebhook(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	_, pol, err := h.scopedPolicy(r, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toWebhookJSON(pol))
	return nil
}

func (h *Handler) updateWebhook(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	project, old, err := h.scopedPolicy(r, p)
	if err != nil {
		return err
	}
	var req webhookPolicy
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Name == "" {
		req.Name = old.Name
	}
	if req.Name != old.Name {
		return badRequest("name: a policy is not renamed (create another)")
	}
	pol, err := fromWebhookJSON(req, project, &old)
	if err != nil {
		return err
	}
	pol.CreatedBy, pol.CreatedAt, pol.UpdatedAt = old.CreatedBy, old.CreatedAt, time.Now().UTC()
	if err := h.store.Update(r.Context(), func(tx meta.Tx) error { return tx.WebhookPolicies().Put(pol) }); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) deleteWebhook(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	_, pol, err := h.scopedPolicy(r, p)
	if err != nil {
		return err
	}
	if err := h.store.Update(r.Context(), func(tx meta.Tx) error { return tx.WebhookPolicies().Delete(pol.Name) }); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// deliveryJSON is a delivery log entry (Berth's; Harbor's executions and
// tasks say less).
type deliveryJSON struct {
	ID        string            `json:"id"`
	JobID     uint64            `json:"job_id"`
	Policy    string            `json:"policy"`
	Project   string            `json:"project_name,omitempty"`
	Address   string            `json:"address"`
	EventSeq  uint64            `json:"event_seq"`
	EventType string            `json:"event_type"`
	Status    string            `json:"status"` // the job's state
	Attempts  []deliveryAttempt `json:"attempts"`
	Created   time.Time         `json:"creation_time"`
}

type deliveryAttempt struct {
	At         time.Time `json:"start_time"`
	DurationMS int64     `json:"duration_ms"`
	StatusCode int       `json:"status_code"`
	Error      string    `json:"error,omitempty"`
}

// listDeliveries is GET …/webhook/policies/{policy}/deliveries: the
// policy's deliveries, newest first.
func (h *Handler) listDeliveries(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	_, pol, err := h.scopedPolicy(r, p)
	if err != nil {
		return err
	}
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	var list []deliveryJSON
	err = h.store.View(r.Context(), func(tx meta.Tx) error {
		all, err := tx.Deliveries().List("", 0)
		if err != nil {
			return err
		}
		for _, d := range slices.Backward(all) {
			if d.Policy != pol.Name {
				continue
			}
			out := deliveryJSON{ID: d.ID, JobID: d.JobID, Policy: d.Policy, Project: d.Project, Address: d.Address,
				EventSeq: d.EventSeq, EventType: d.EventType, Created: d.CreatedAt, Attempts: []deliveryAttempt{}}
			if j, err := tx.Jobs().Get(d.JobID); err == nil {
				out.Status = string(j.State)
			}
			for _, a := range d.Attempts {
				out.Attempts = append(out.Attempts, deliveryAttempt{At: a.At, DurationMS: a.Duration.Milliseconds(), StatusCode: a.Status, Error: a.Error})
			}
			list = append(list, out)
		}
		return nil
	})
	if err != nil {
		return err
	}
	writePage(w, r, pg, list)
	return nil
}

// redeliver is POST …/webhook/policies/{policy}/deliveries/{id}/redeliver.
func (h *Handler) redeliver(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	_, pol, err := h.scopedPolicy(r, p)
	if err != nil {
		return err
	}
	if h.queue == nil {
		return &apiError{status: http.StatusNotImplemented, code: "NOT_IMPLEMENTED", msg: "no job queue"}
	}
	id := r.PathValue("id")
	var d meta.Delivery
	if err := h.store.View(r.Context(), func(tx meta.Tx) error { var err error; d, err = tx.Deliveries().Get(id); return err }); err != nil || d.Policy != pol.Name {
		return notFound("delivery %s not found", id)
	}
	next, err := webhook.Redeliver(r.Context(), h.queue, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"id": next})
	return nil
}
