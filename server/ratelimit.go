package server

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/ratelimit"
	"github.com/berthreg/berth/registry"
)

// limitsKey marks the context of a request that came in over HTTP
// (through rateLimited), carrying the limiter; requests made in process
// (replication, scanning, the proxy caches' fills) have none and are not
// limited.
type limitsKey struct{}

// limitedRequest is what rateLimited leaves in a request's context.
type limitedRequest struct {
	limiter *ratelimit.Limiter
	route   string
}

// rateLimited applies the per-address rules to every request but the
// probes and metrics, before it is authenticated, and marks the request
// for the per-principal checks further in.
func rateLimited(h http.Handler, l *ratelimit.Limiter, tokenPath string) http.Handler {
	if l == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := routeOf(r.URL.Path, tokenPath)
		switch route {
		case "probe", "metrics":
			h.ServeHTTP(w, r)
			return
		}
		if ok, retry := l.Allow(ratelimit.PerAddress, route, ratelimit.AddressKey(r.RemoteAddr)); !ok {
			tooManyRequests(w, route, retry)
			return
		}
		if l.Limits(ratelimit.PerPrincipal) {
			r = r.WithContext(context.WithValue(r.Context(), limitsKey{}, limitedRequest{limiter: l, route: route}))
		}
		h.ServeHTTP(w, r)
	})
}

// principalAllowed takes a turn of p's budget for the request ctx
// belongs to; in-process requests and anonymous ones (counted by
// address) always pass.
func principalAllowed(ctx context.Context, p string) (bool, time.Duration) {
	lr, ok := ctx.Value(limitsKey{}).(limitedRequest)
	if !ok || p == "" || p == auth.AnonymousPrincipal.Name {
		return true, 0
	}
	return lr.limiter.Allow(ratelimit.PerPrincipal, lr.route, p)
}

// principalHooks are the registry hooks that apply the per-principal
// rules once the guard has named the principal (ev.Operator): chained
// after the guard's.
func principalHooks() registry.Hooks {
	return registry.Hooks{Authorize: func(ctx context.Context, ev *registry.Event) error {
		ok, retry := principalAllowed(ev.Request.Context(), ev.Operator)
		if ok {
			return nil
		}
		e := registry.NewError(http.StatusTooManyRequests, registry.CodeTooManyRequests, "too many requests from %s; slow down", ev.Operator)
		e.Header = http.Header{"Retry-After": {retryAfter(retry)}}
		return e
	}}
}

// apiPrincipalAllowed is the admin API's WithRateLimit function.
func apiPrincipalAllowed(ctx context.Context, p auth.Principal) (bool, time.Duration) {
	if p.Kind == auth.Anonymous {
		return true, 0
	}
	return principalAllowed(ctx, p.Name)
}

// retryAfter is a Retry-After value: whole seconds, rounded up.
func retryAfter(d time.Duration) string { return strconv.Itoa(int(math.Ceil(d.Seconds()))) }

// tooManyRequests answers a refused request in the error shape of its
// route: the distribution spec's for /v2/, Harbor's for the rest.
func tooManyRequests(w http.ResponseWriter, route string, retry time.Duration) {
	code := "TOO_MANY_REQUESTS" // Harbor's, as the admin API answers
	switch route {
	case "v2_base", "catalog", "manifest", "blob", "blob_upload", "tags", "referrers":
		code = string(registry.CodeTooManyRequests)
	}
	w.Header().Set("Retry-After", retryAfter(retry))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusTooManyRequests)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": "too many requests from this address; slow down"}}})
}
