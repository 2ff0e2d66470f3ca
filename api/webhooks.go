package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/webhook"
)

// webhookTarget is Harbor's WebhookTargetObject, plus Berth's secret and
// timeout_seconds. The auth header and the secret are write-only:
// auth_header_set and secret_set tell they are there; a request that
// omits one keeps the stored value of the target with the same address
// (none for a new address), an empty string removes it.
type webhookTarget struct {
	Type           string  `json:"type"`
	Address        string  `json:"address"`
	AuthHeader     *string `json:"auth_header,omitempty"`
	AuthHeaderSet  bool    `json:"auth_header_set,omitempty"`
	SkipCertVerify bool    `json:"skip_cert_verify"`
	PayloadFormat  string  `json:"payload_format,omitempty"` // "Default" or "CloudEvents"
	Secret         *string `json:"secret,omitempty"`
	SecretSet      bool    `json:"secret_set,omitempty"`
	TimeoutSeconds int     `json:"timeout_seconds,omitempty"`
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

func toWebhookJSON(p webhook.Policy) webhookPolicy {
	out := webhookPolicy{Name: p.Name, Description: p.Description, ProjectName: p.Project, Repositories: p.Repositories,
		EventTypes: p.EventTypes, Enabled: p.Enabled, Creator: p.CreatedBy, CreationTime: p.CreatedAt, UpdateTime: p.UpdatedAt,
		Targets: []webhookTarget{}}
	for _, t := range p.Targets {
		format := "Default"
		if t.Format == "cloudevents" {
			format = "CloudEvents"
		}
		out.Targets = append(out.Targets, webhookTarget{Type: t.Type, Address: t.Address, AuthHeaderSet: t.AuthHeader != "",
			SkipCertVerify: t.SkipCertVerify, PayloadFormat: format, SecretSet: t.Secret != "", TimeoutSeconds: int(t.Timeout / time.Second)})
	}
	return out
}

// fromWebhookJSON makes the record of a policy request for project (""
// for a system policy), and says which targets' secrets it left out.
// webhook.Policies validates it.
func fromWebhookJSON(req webhookPolicy, project string) (webhook.Policy, []webhook.Keep, error) {
	var keep []webhook.Keep
	p := webhook.Policy{Name: req.Name, Description: req.Description, Project: project, Repositories: req.Repositories,
		EventTypes: req.EventTypes, Enabled: req.Enabled}
	if req.ProjectName != "" && req.ProjectName != project {
		return p, nil, badRequest("project_name: %q is not the project of this path", req.ProjectName)
	}
	for i, t := range req.Targets {
		if t.PayloadFormat != "" && t.PayloadFormat != "Default" && t.PayloadFormat != "CloudEvents" {
			return p, nil, badRequest("targets[%d].payload_format: %q is not Default or CloudEvents", i, t.PayloadFormat)
		}
		mt := webhook.Target{Type: t.Type, Address: t.Address, SkipCertVerify: t.SkipCertVerify,
			Timeout: time.Duration(t.TimeoutSeconds) * time.Second}
		if t.PayloadFormat == "CloudEvents" {
			mt.Format = "cloudevents"
		}
		if t.AuthHeader != nil {
			mt.AuthHeader = *t.AuthHeader
		}
		if t.Secret != nil {
			mt.Secret = *t.Secret
		}
		keep = append(keep, webhook.Keep{Secret: t.Secret == nil, AuthHeader: t.AuthHeader == nil})
		p.Targets = append(p.Targets, mt)
	}
	return p, keep, nil
}

// WithWebhookPolicies serves the webhook policies of ps (default: those of
// the store New is given, webhook.NewPolicies).
func WithWebhookPolicies(ps *webhook.Policies) Option { return func(h *Handler) { h.webhooks = ps } }

// webhookScope checks p's right to the webhooks of the request's project
// (a project admin's, project update) or, without a project in the path,
// the system's (administrators); it returns the project ("" for system).
func (h *Handler) webhookScope(r *http.Request, p auth.Principal) (string, error) {
	if h.webhooks == nil {
		return "", &apiError{status: http.StatusNotImplemented, code: "NOT_IMPLEMENTED", msg: "this server keeps no webhook policies"}
	}
	project := r.PathValue("project")
	if project == "" {
		return "", adminOnly(p)
	}
	_, err := h.allowedOn(r, p, project, rbac.ResourceProject, rbac.ActionUpdate)
	return project, err
}

// policies is the webhook policy service, which validates policies and
// keeps their rules; this file only translates.
func (h *Handler) policies() *webhook.Policies { return h.webhooks }

// scopedPolicy checks p's right to the request's webhook scope and loads
// the policy the path names in it.
func (h *Handler) scopedPolicy(r *http.Request, p auth.Principal) (string, webhook.Policy, error) {
	project, err := h.webhookScope(r, p)
	if err != nil {
		return project, webhook.Policy{}, err
	}
	name := r.PathValue("policy")
	pol, err := h.policies().Get(r.Context(), project, name)
	if err != nil {
		return project, pol, toAPIErrorNamed(err, "webhook policy "+name)
	}
	return project, pol, nil
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
	all, err := h.policies().List(r.Context(), project)
	if err != nil {
		return err
	}
	var list []webhookPolicy
	for _, pol := range all {
		list = append(list, toWebhookJSON(pol))
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
	pol, _, err := fromWebhookJSON(req, project)
	if err != nil {
		return err
	}
	pol.CreatedBy = p.Name
	if pol, err = h.policies().Create(r.Context(), pol); err != nil {
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
	pol, keep, err := fromWebhookJSON(req, project)
	if err != nil {
		return err
	}
	if _, err := h.policies().Update(r.Context(), pol, keep); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) deleteWebhook(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	project, pol, err := h.scopedPolicy(r, p)
	if err != nil {
		return err
	}
	if err := h.policies().Delete(r.Context(), project, pol.Name); err != nil {
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
	project, pol, err := h.scopedPolicy(r, p)
	if err != nil {
		return err
	}
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	logged, err := h.policies().Deliveries(r.Context(), project, pol.Name)
	if err != nil {
		return err
	}
	var list []deliveryJSON
	for _, d := range logged {
		out := deliveryJSON{ID: d.ID, JobID: d.JobID, Policy: d.Policy, Project: d.Project, Address: d.Address,
			EventSeq: d.EventSeq, EventType: d.EventType, Created: d.CreatedAt, Status: string(d.State), Attempts: []deliveryAttempt{}}
		for _, a := range d.Attempts {
			out.Attempts = append(out.Attempts, deliveryAttempt{At: a.At, DurationMS: a.Duration.Milliseconds(), StatusCode: a.Status, Error: a.Error})
		}
		list = append(list, out)
	}
	writePage(w, r, pg, list)
	return nil
}

// redeliver is POST …/webhook/policies/{policy}/deliveries/{id}/redeliver.
func (h *Handler) redeliver(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	project, pol, err := h.scopedPolicy(r, p)
	if err != nil {
		return err
	}
	if h.queue == nil {
		return &apiError{status: http.StatusNotImplemented, code: "NOT_IMPLEMENTED", msg: "no job queue"}
	}
	id := r.PathValue("id")
	next, err := h.policies().Redeliver(r.Context(), h.queue, project, pol.Name, id)
	if errors.Is(err, meta.ErrNotFound) {
		return notFound("delivery %s not found", id)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"id": next})
	return nil
}
