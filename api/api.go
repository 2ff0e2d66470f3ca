package api

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/berthreg/berth/artifact"
	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/auth/oidc"
	"github.com/berthreg/berth/auth/session"
	"github.com/berthreg/berth/immutable"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/label"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/preheat"
	"github.com/berthreg/berth/proxy"
	"github.com/berthreg/berth/quota"
	"github.com/berthreg/berth/replication"
	"github.com/berthreg/berth/retention"
	"github.com/berthreg/berth/scan/cveexport"
	"github.com/berthreg/berth/scan/engine"
	"github.com/berthreg/berth/scan/securityhub"
	"github.com/berthreg/berth/trust"
	"github.com/berthreg/berth/webhook"
)

// Prefix is where the API is served.
const Prefix = "/api/v2.0"

// Handler serves the admin API. Create it with New.
type Handler struct {
	m     *accounts.Manager
	authn auth.Authenticator
	log   *slog.Logger
	mux   *http.ServeMux
	// routes lists the "METHOD /path" patterns served, below Prefix.
	routes []string

	limiter     *auth.LoginLimiter
	rateLimit   func(ctx context.Context, p auth.Principal) (ok bool, retryAfter time.Duration)
	queue       *jobs.Queue
	schedules   *jobs.Schedules
	webhooks    *webhook.Policies
	sessions    *session.Sessions
	oidc        *oidc.Client
	autoOnboard bool
	replication *replication.Service
	scanning    Scanning
	// projectScans and artifacts serve the scan settings and artifact
	// views, which need no scanner.
	projectScans *engine.ProjectSettings
	artifacts    *engine.Artifacts
	quotas       *quota.Service
	quotasSet    bool // WithQuotas was given, maybe with nil
	immutable    *immutable.Service
	retention    *retention.Service
	trust        *trust.Service
	proxy        *proxy.Service
	// labels keeps labels and their attachments to artifacts.
	labels *label.Service
	// content lists and changes repositories and artifacts.
	content *artifact.Service
	// info is what GET /systeminfo tells.
	info SystemInfo
	// securityHub serves the security hub; cveExports the CVE exports.
	securityHub *securityhub.Hub
	cveExports  *cveexport.Service
	// preheat serves P2P preheat (WithPreheat).
	preheat *preheat.Service
}

// Option configures a Handler.
type Option func(*Handler)

// WithLimiter rate-limits failed logins (basic credentials and POST
// /c/login) with l, which the registry's guard and token service may share.
func WithLimiter(l *auth.LoginLimiter) Option { return func(h *Handler) { h.limiter = l } }

// WithRateLimit has every request's principal, once authenticated, take
// a turn from allow: refused, the request is answered 429
// TOO_MANY_REQUESTS with Retry-After before its endpoint runs.
func WithRateLimit(allow func(ctx context.Context, p auth.Principal) (ok bool, retryAfter time.Duration)) Option {
	return func(h *Handler) { h.rateLimit = allow }
}

// WithJobs serves the job queue q (GET /jobs, cancel, retry) and webhook
// redeliveries, which enqueue jobs.
func WithJobs(q *jobs.Queue) Option { return func(h *Handler) { h.queue = q } }

// WithArtifacts serves repositories, artifacts, tags and accessories
// with s (made with the registry to write through and its storage);
// without it they are served read-only from the store New is given.
func WithArtifacts(s *artifact.Service) Option { return func(h *Handler) { h.content = s } }

// WithSessions enables browser sessions: POST /c/login and GET /c/log_out
// (Harbor's), and requests signed in by the session cookie.
func WithSessions(s *session.Sessions) Option { return func(h *Handler) { h.sessions = s } }

// WithOIDC enables sign-in through an OpenID Connect provider at GET
// /c/oidc/login and its callback GET /c/oidc/callback (needs WithSessions);
// autoOnboard creates the account of a person signing in for the first
// time.
func WithOIDC(c *oidc.Client, autoOnboard bool) Option {
	return func(h *Handler) { h.oidc, h.autoOnboard = c, autoOnboard }
}

// New returns the API over the accounts Manager m; authn checks basic
// credentials (usually m itself); logger receives unexpected failures
// (nil: none). store, m's store, is used only to make the services no
// option brings (webhook policies, stored schedules without a scheduler,
// projects' scan settings, the artifact view); the Handler keeps none of
// it.
func New(m *accounts.Manager, store meta.Store, authn auth.Authenticator, logger *slog.Logger, opts ...Option) *Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{m: m, authn: authn, log: logger, mux: http.NewServeMux()}
	for _, o := range opts {
		o(h)
	}
	h.defaultServices(store)
	h.defaultLabels(store)
	h.route("GET /projects", h.listProjects)
	h.route("HEAD /projects", h.headProject)
	h.route("POST /projects", h.createProject)
	h.route("GET /projects/{project}", h.getProject)
	h.route("PUT /projects/{project}", h.updateProject)
	h.route("DELETE /projects/{project}", h.deleteProject)
	h.route("GET /projects/{project}/summary", h.projectSummary)
	h.route("GET /projects/{project}/members", h.listMembers)
	h.route("POST /projects/{project}/members", h.addMember)
	h.route("PUT /projects/{project}/members/{mid}", h.updateMember)
	h.route("DELETE /projects/{project}/members/{mid}", h.deleteMember)
	h.route("GET /projects/{project}/grants", h.listGrants)
	h.route("POST /projects/{project}/grants", h.addGrant)
	h.route("DELETE /projects/{project}/grants/{gid}", h.deleteGrant)
	h.route("GET /users", h.listUsers)
	h.route("POST /users", h.createUser)
	h.route("GET /users/current", h.currentUser)
	h.route("GET /users/{user}", h.getUser)
	h.route("PUT /users/{user}/password", h.setPassword)
	h.route("PUT /users/{user}/sysadmin", h.setSysadmin)
	h.route("PUT /users/{user}/cli_secret", h.setCLISecret)
	h.route("DELETE /users/{user}", h.deleteUser)
	h.route("GET /robots", h.listRobots)
	h.route("POST /robots", h.createRobot)
	h.route("GET /robots/{robot}", h.getRobot)
	h.route("PUT /robots/{robot}", h.updateRobot)
	h.route("PATCH /robots/{robot}", h.refreshSecret)
	h.route("DELETE /robots/{robot}", h.deleteRobot)
	for _, base := range []string{"/webhook/policies", "/projects/{project}/webhook/policies"} {
		h.route("GET "+base, h.listWebhooks)
		h.route("POST "+base, h.createWebhook)
		h.route("GET "+base+"/{policy}", h.getWebhook)
		h.route("PUT "+base+"/{policy}", h.updateWebhook)
		h.route("DELETE "+base+"/{policy}", h.deleteWebhook)
		h.route("GET "+base+"/{policy}/deliveries", h.listDeliveries)
		h.route("POST "+base+"/{policy}/deliveries/{id}/redeliver", h.redeliver)
	}
	h.route("GET /projects/{project}/webhook/events", h.webhookEvents)
	h.route("GET /jobs", h.listJobs)
	h.route("GET /jobs/{id}", h.getJob)
	h.route("POST /jobs/{id}/cancel", h.jobAction(func(q *jobs.Queue, r *http.Request, id uint64) error { return q.Cancel(r.Context(), id) }))
	h.route("POST /jobs/{id}/retry", h.jobAction(func(q *jobs.Queue, r *http.Request, id uint64) error { return q.Retry(r.Context(), id) }))
	h.route("GET /audit-logs", h.auditLogs)
	h.route("GET /projects/{project}/logs", h.auditLogs)
	h.route("POST /system/purgeaudit", h.purgeAudit)
	h.route("GET /system/gc", h.listGC)
	h.route("GET /system/gc/{id}", h.getGC)
	h.route("GET /system/gc/{id}/log", h.gcLog)
	h.route("PUT /system/gc/{id}", h.stopGC)
	h.route("GET /system/gc/schedule", h.getGCSchedule)
	h.route("POST /system/gc/schedule", h.setGCSchedule)
	h.route("PUT /system/gc/schedule", h.setGCSchedule)
	h.route("GET /registries", h.listRegistries)
	h.route("POST /registries", h.createRegistry)
	h.route("POST /registries/ping", h.pingRegistry)
	h.route("GET /registries/{name}", h.getRegistry)
	h.route("PUT /registries/{name}", h.updateRegistry)
	h.route("DELETE /registries/{name}", h.deleteRegistry)
	h.route("GET /replication/policies", h.listReplicationPolicies)
	h.route("POST /replication/policies", h.createReplicationPolicy)
	h.route("GET /replication/policies/{name}", h.getReplicationPolicy)
	h.route("PUT /replication/policies/{name}", h.updateReplicationPolicy)
	h.route("DELETE /replication/policies/{name}", h.deleteReplicationPolicy)
	h.route("GET /replication/executions", h.listReplicationExecutions)
	h.route("POST /replication/executions", h.startReplication)
	h.route("GET /replication/executions/{id}", h.getReplicationExecution)
	h.route("PUT /replication/executions/{id}", h.stopReplicationExecution)
	h.route("POST /replication/executions/{id}/retry", h.retryReplicationExecution)
	h.route("GET /replication/executions/{id}/tasks", h.listReplicationTasks)
	h.route("GET /replication/executions/{id}/tasks/{task_id}/log", h.replicationTaskLog)
	h.route("GET /scanners", h.listScanners)
	h.route("POST /scanners", h.createScanner)
	h.route("POST /scanners/ping", h.pingScanner)
	h.route("GET /scanners/{name}", h.getScanner)
	h.route("PUT /scanners/{name}", h.updateScanner)
	h.route("PATCH /scanners/{name}", h.setDefaultScanner)
	h.route("DELETE /scanners/{name}", h.deleteScanner)
	h.route("GET /scanners/{name}/metadata", h.scannerMetadata)
	h.route("GET /projects/{project}/scanner", h.projectScanner)
	h.route("PUT /projects/{project}/scanner", h.setProjectScanner)
	h.route("GET /repositories", h.listRepositories)
	const repository = "/projects/{project}/repositories/{repository}"
	h.route("GET /projects/{project}/repositories", h.listRepositories)
	h.route("GET "+repository, h.getRepository)
	h.route("PUT "+repository, h.updateRepository)
	h.route("DELETE "+repository, h.deleteRepository)
	h.route("GET "+repository+"/artifacts", h.listArtifacts)
	h.route("POST "+repository+"/artifacts", h.copyArtifact)
	const artifact = repository + "/artifacts/{reference}"
	h.route("GET "+artifact, h.getArtifact)
	h.route("DELETE "+artifact, h.deleteArtifact)
	h.route("GET "+artifact+"/tags", h.listTags)
	h.route("POST "+artifact+"/tags", h.createTag)
	h.route("DELETE "+artifact+"/tags/{tag}", h.deleteTag)
	h.route("GET "+artifact+"/accessories", h.listAccessories)
	h.route("GET "+artifact+"/additions/{addition}", h.artifactAddition)
	h.route("POST "+artifact+"/scan", h.scanArtifact)
	h.route("GET "+artifact+"/additions/vulnerabilities", h.artifactVulnerabilities)
	h.route("GET /search", h.search)
	h.route("GET /statistics", h.statistics)
	h.route("GET /systeminfo", h.systemInfo)
	h.route("GET /system/scanAll/schedule", h.getScanAllSchedule)
	h.route("POST /system/scanAll/schedule", h.setScanAllSchedule)
	h.route("PUT /system/scanAll/schedule", h.setScanAllSchedule)
	h.route("GET /projects/{project}/immutabletagrules", h.listImmutableRules)
	h.route("POST /projects/{project}/immutabletagrules", h.createImmutableRule)
	h.route("PUT /projects/{project}/immutabletagrules/{id}", h.updateImmutableRule)
	h.route("DELETE /projects/{project}/immutabletagrules/{id}", h.deleteImmutableRule)
	h.route("GET /projects/{project}/trust", h.getTrust)
	h.route("PUT /projects/{project}/trust", h.setTrust)
	h.route("GET /projects/{project}/proxy", h.getProxy)
	h.route("PUT /projects/{project}/proxy", h.setProxy)
	h.route("GET /retentions/metadatas", h.retentionMetadata)
	h.route("POST /retentions", h.createRetention)
	h.route("GET /retentions/{id}", h.getRetention)
	h.route("PUT /retentions/{id}", h.updateRetention)
	h.route("DELETE /retentions/{id}", h.deleteRetention)
	h.route("POST /retentions/{id}/executions", h.startRetention)
	h.route("GET /retentions/{id}/executions", h.listRetentionExecutions)
	h.route("GET /retentions/{id}/executions/{eid}/tasks", h.listRetentionTasks)
	h.route("GET /quotas", h.listQuotas)
	h.route("GET /quotas/{id}", h.getQuota)
	h.route("PUT /quotas/{id}", h.updateQuota)
	h.labelRoutes()
	h.securityHubRoutes()
	h.cveExportRoutes()
	h.preheatRoutes()
	h.route("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request, _ auth.Principal) error {
		doc, err := openAPIDoc()
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/json")
		_, err = w.Write(doc)
		return err
	})
	if h.sessions != nil {
		h.mux.HandleFunc("POST /c/login", h.login)
		h.mux.HandleFunc("GET /c/log_out", h.logout)
		if h.oidc != nil {
			h.mux.HandleFunc("GET /c/oidc/login", h.oidcLogin)
			h.mux.HandleFunc("GET /c/oidc/callback", h.oidcCallback)
		}
	}
	return h
}

// handlerFunc is an API endpoint: it returns an error to answer with.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p auth.Principal) error

// route registers an endpoint below Prefix: the principal is resolved
// first, and returned errors become Harbor-shaped answers.
func (h *Handler) route(pattern string, fn handlerFunc) {
	h.routes = append(h.routes, pattern)
	method, path, _ := strings.Cut(pattern, " ")
	h.mux.HandleFunc(method+" "+Prefix+path, func(w http.ResponseWriter, r *http.Request) {
		p, err := h.principal(r)
		if err == nil {
			err = h.allowed(r.Context(), p)
		}
		if err == nil {
			err = fn(w, r.WithContext(auth.WithPrincipal(r.Context(), p)), p)
		}
		if err != nil {
			h.writeError(w, r, err)
		}
	})
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// principal authenticates the request: its basic credentials (rate
// limited), else its session cookie; neither is the anonymous principal,
// bad ones are 401. A session signs in unsafe methods only with an
// X-Requested-With header, which a page on another site cannot add
// without a CORS preflight (never granted here).
func (h *Handler) principal(r *http.Request) (auth.Principal, error) {
	name, secret, ok := r.BasicAuth()
	if ok {
		p, err := h.limiter.Login(r.Context(), h.authn, r, name, secret)
		return p, loginError(err)
	}
	if h.sessions == nil {
		return auth.AnonymousPrincipal, nil
	}
	in, err := h.sessions.Current(r)
	if errors.Is(err, session.ErrNoSession) {
		return auth.AnonymousPrincipal, nil
	}
	if err != nil {
		return auth.Principal{}, err
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		if r.Header.Get("X-Requested-With") == "" {
			return auth.Principal{}, &apiError{status: http.StatusForbidden, code: codeForbidden, msg: "a session-authenticated " + r.Method + " needs an X-Requested-With header"}
		}
	}
	p, err := h.m.SessionPrincipal(r.Context(), in.Account, in.Source, in.ID)
	return p, loginError(err)
}

// allowed applies WithRateLimit's function to p's request.
func (h *Handler) allowed(ctx context.Context, p auth.Principal) error {
	if h.rateLimit == nil {
		return nil
	}
	ok, retry := h.rateLimit(ctx, p)
	if ok {
		return nil
	}
	return &apiError{status: http.StatusTooManyRequests, code: codeTooManyRequests, msg: "too many requests; slow down",
		retryAfter: strconv.Itoa(int(math.Ceil(retry.Seconds())))}
}

// loginError maps a failed login to its answer: bad credentials are 401,
// too many failures 429 with Retry-After.
func loginError(err error) error {
	var tooMany *auth.TooManyFailures
	switch {
	case errors.As(err, &tooMany):
		return &apiError{status: http.StatusTooManyRequests, code: codeTooManyRequests, msg: tooMany.Error(), retryAfter: tooMany.RetryAfter()}
	case errors.Is(err, auth.ErrBadCredentials):
		return &apiError{status: http.StatusUnauthorized, code: codeUnauthorized, msg: "bad credentials"}
	}
	return err
}

// signedIn refuses the anonymous principal.
func signedIn(p auth.Principal) error {
	if p.Kind == auth.Anonymous {
		return &apiError{status: http.StatusUnauthorized, code: codeUnauthorized, msg: "authentication required"}
	}
	return nil
}
