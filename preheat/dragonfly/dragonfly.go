package dragonfly

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/berthreg/berth/preheat"
)

// Vendor is the vendor name Harbor gives Dragonfly instances
// ("dragonfly"), under which a host registers New with the preheat
// service.
const Vendor = "dragonfly"

// The errors of a provider's calls, beside the transport's own.
var (
	// ErrUnauthorized: the manager refused the endpoint's credentials
	// (401, or 403: a token without the job scope, inactive or expired).
	ErrUnauthorized = errors.New("dragonfly: credentials refused")
	// ErrUnknownJob: Job was given an id the manager has no job for (or
	// one that is not a manager's job id at all).
	ErrUnknownJob = errors.New("dragonfly: unknown job")
	// ErrUnexpectedAnswer: the manager answered with a status or a body
	// the provider cannot use (a proxy's 502, the manager's rate limit's
	// 429, a body that is not a job); retrying later may help.
	ErrUnexpectedAnswer = errors.New("dragonfly: unexpected answer")
)

// provider is the Dragonfly preheat.Provider of one manager.
type provider struct {
	e    preheat.Endpoint
	base string // e.URL without a trailing slash
}

// New returns the Provider for the Dragonfly manager at e.URL: the base
// URL of the manager's REST server (its server.rest.addr, port 8080 by
// default), which serves the open API under /oapi/v1. The open API takes
// a personal access token with the job scope, so a real manager needs
// e.AuthMode AuthOAuth; NONE and BASIC suit a proxy in front of it that
// adds the token.
//
// It refuses, with an error wrapping preheat.ErrBadEndpoint, a URL that
// is not absolute http or https with a host (or that carries user
// information, a query or a fragment), an unknown AuthMode, and
// credentials missing for e.AuthMode.
func New(e preheat.Endpoint) (preheat.Provider, error) {
	u, err := url.Parse(e.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: dragonfly: %v", preheat.ErrBadEndpoint, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%w: dragonfly: the URL must be http or https, got %q", preheat.ErrBadEndpoint, e.URL)
	case u.Host == "" || u.Opaque != "":
		return nil, fmt.Errorf("%w: dragonfly: the URL has no host: %q", preheat.ErrBadEndpoint, e.URL)
	case u.User != nil:
		return nil, fmt.Errorf("%w: dragonfly: credentials belong in auth_info, not in the URL", preheat.ErrBadEndpoint)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, fmt.Errorf("%w: dragonfly: the URL must have no query or fragment: %q", preheat.ErrBadEndpoint, e.URL)
	}
	if err := e.CheckAuth(); err != nil {
		return nil, fmt.Errorf("dragonfly: %w", err)
	}
	return &provider{e: e, base: strings.TrimSuffix(u.String(), "/")}, nil
}

// Health asks the manager's /healthy, which answers without credentials,
// and then lists one job through the open API with the endpoint's
// credentials: the manager is up and takes them, so it can take jobs.
func (p *provider) Health(ctx context.Context) error {
	if _, err := p.do(ctx, http.MethodGet, healthPath, nil); err != nil {
		return fmt.Errorf("dragonfly: health: %w", err)
	}
	if _, err := p.do(ctx, http.MethodGet, jobsPath+"?page=1&per_page=1", nil); err != nil {
		return fmt.Errorf("dragonfly: health: the open API: %w", err)
	}
	return nil
}
