package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/berthreg/berth/api"
	"github.com/berthreg/berth/auth/session"
	"github.com/berthreg/berth/ratelimit"
	"github.com/berthreg/berth/registry/httplimit"
	"github.com/prometheus/client_golang/prometheus"
)

// routes mounts the registry handler h, the token service, the admin API
// (nil without auth), the web portal at "/" (nil when off or without auth), the liveness check /livez (also /healthz; it reaches no
// backend) and the readiness check /readyz, inside the request limits.
func routes(cfg Config, h http.Handler, isLocal func(context.Context, string) bool, access authParts, admin, portal, ready http.Handler, metrics prometheus.Registerer, limits *ratelimit.Limiter, traces tracing) (http.Handler, error) {
	mux := http.NewServeMux()
	if cfg.Metrics.Token != "" {
		g, ok := metrics.(prometheus.Gatherer)
		if !ok {
			return nil, errors.New("config: metrics.token serves the metrics, but the WithRegisterer registerer cannot gather them (give a *prometheus.Registry)")
		}
		mux.Handle("/metrics", metricsEndpoint(g, cfg.Metrics.Token))
	}
	if len(cfg.Proxy.Mirrors) > 0 || cfg.Proxy.DefaultMirror != "" {
		h = cfg.Proxy.mirrors().Handler(h, isLocal)
	}
	mux.Handle("/v2/", h)
	mux.Handle("/v2", h)
	if access.tokenPath != "" {
		mux.Handle(access.tokenPath, access.tokens)
	}
	if admin != nil {
		mux.Handle(api.Prefix+"/", admin)
		mux.Handle("/c/", admin) // sessions: /c/login, /c/log_out, /c/oidc/…
	}
	if portal != nil {
		mux.Handle("/", portal)
	}
	live := func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("ok\n"))
	}
	mux.HandleFunc("/livez", live)
	mux.HandleFunc("/healthz", live) // the older name

	mux.Handle("/readyz", ready)
	// Outermost, so the body deadline reaches the server's connection.
	var handler http.Handler = mux
	if !cfg.Auth.Disabled { // without auth every request is anonymous: the cap would cap them all
		capped := httplimit.CapAnonymous(mux, cfg.HTTP.MaxAnonymousRequests,
			httplimit.WithCredentialCheck(httplimit.HasCredentials(session.DefaultCookie)))
		// The probes pass the cap: a busy registry must not look dead or
		// unready to its orchestrator; they cost nothing (/readyz reads
		// the backends at most once a second).
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/livez", "/healthz", "/readyz", "/metrics":
				mux.ServeHTTP(w, r)
			default:
				capped.ServeHTTP(w, r)
			}
		})
	}
	var counted *requestMetrics
	if !cfg.Metrics.HTTPOff {
		var err error
		if counted, err = newRequestMetrics(metrics); err != nil {
			return nil, err
		}
	}
	// Inside out: the address limits; the metrics and spans (so that
	// refusals are counted); the body deadline outside the rest, so that
	// it reaches the server's connection; the forwarded client address
	// outermost, for all of them.
	handler = rateLimited(handler, limits, access.tokenPath)
	handler = instrumented(handler, counted, traces, access.tokenPath)
	trusted, _ := cfg.HTTP.trustedProxies() // checked by Validate
	return forwarded(httplimit.IdleBodies(handler, cfg.HTTP.BodyIdleTimeout), trusted), nil
}
