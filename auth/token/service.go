package token

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/internal/outage"
)

// Service is the token endpoint (mount it at /service/token): it
// authenticates the client with HTTP basic credentials (GET, the Docker
// token flow) or a password grant (POST, the OAuth2 form containerd
// tries first), grants of each requested scope the actions the Authorizer
// allows, and answers with a signed token. Without credentials the client
// is anonymous and gets what anonymous may do (pulls of public projects).
// An authenticator or authorizer failing with an error that wraps
// meta.ErrUnavailable or storage.ErrUnavailable (its store cannot be
// reached) is answered 503 with a Retry-After, not 401: the credentials
// were not found wrong. Make one with NewService.
type Service struct {
	issuer  *Issuer
	name    string
	authn   auth.Authenticator
	authz   auth.Authorizer
	limiter *auth.LoginLimiter
	logger  *slog.Logger
}

// ServiceOption configures a Service made by NewService.
type ServiceOption func(*Service)

// WithLimiter makes the service refuse logins after repeated failures
// for one account name from one address (429 with Retry-After).
func WithLimiter(l *auth.LoginLimiter) ServiceOption { return func(s *Service) { s.limiter = l } }

// WithLogger sets the logger that receives failures worth an operator's
// attention (default: none).
func WithLogger(l *slog.Logger) ServiceOption { return func(s *Service) { s.logger = l } }

// NewService returns the token endpoint: issuer signs the tokens; name is
// the registry's service name, the audience of every token (a request
// naming another service is refused); authn checks credentials; authz
// decides the grants.
func NewService(issuer *Issuer, name string, authn auth.Authenticator, authz auth.Authorizer, opts ...ServiceOption) (*Service, error) {
	switch {
	case issuer == nil:
		return nil, errors.New("token: NewService: nil issuer")
	case name == "":
		return nil, errors.New("token: NewService: empty service name")
	case authn == nil:
		return nil, errors.New("token: NewService: nil authenticator")
	case authz == nil:
		return nil, errors.New("token: NewService: nil authorizer")
	}
	s := &Service{issuer: issuer, name: name, authn: authn, authz: authz}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// maxQueryBytes bounds a GET token request's query string, checked before
// it is parsed: room for auth.MaxScopeBytes of scopes, escaped.
const maxQueryBytes = 3*auth.MaxScopeBytes + 1024

// response is the token endpoint's JSON answer; token and access_token
// carry the same JWT for old and new clients.
type response struct {
	Token       string `json:"token"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	IssuedAt    string `json:"issued_at"`
}

// tokenError is an answer that is not a token.
type tokenError struct {
	status int
	code   string
	msg    string
	header http.Header
}

func (e *tokenError) Error() string { return e.msg }

// ServeHTTP implements http.Handler: the token endpoint.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var (
		name, secret string
		hasCreds     bool
		scopes       []string
		service      string
	)
	switch r.Method {
	case http.MethodGet:
		if len(r.URL.RawQuery) > maxQueryBytes {
			writeError(w, &tokenError{status: http.StatusBadRequest, code: "invalid_request", msg: fmt.Sprintf("query longer than %d bytes", maxQueryBytes)})
			return
		}
		q := r.URL.Query()
		name, secret, hasCreds = r.BasicAuth()
		scopes, service = q["scope"], q.Get("service")
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			writeError(w, &tokenError{status: http.StatusBadRequest, code: "invalid_request", msg: "unreadable form"})
			return
		}
		if gt := r.PostForm.Get("grant_type"); gt != "password" {
			// No refresh tokens are issued, so only the password grant
			// exists; clients fall back to GET on this answer.
			writeError(w, &tokenError{status: http.StatusBadRequest, code: "unsupported_grant_type", msg: fmt.Sprintf("grant_type %q is not supported", gt)})
			return
		}
		name, secret, hasCreds = r.PostForm.Get("username"), r.PostForm.Get("password"), true
		scopes, service = strings.Fields(r.PostForm.Get("scope")), r.PostForm.Get("service")
	default:
		w.Header().Set("Allow", "GET, POST")
		writeError(w, &tokenError{status: http.StatusMethodNotAllowed, code: "UNSUPPORTED", msg: "use GET or POST"})
		return
	}
	resp, err := s.issue(r.Context(), r, name, secret, hasCreds, scopes, service)
	if err != nil {
		var te *tokenError
		switch {
		case errors.As(err, &te):
		case outage.Is(err):
			// The credentials or the grants could not be checked: not
			// a 401, which would tell the client its password is wrong.
			if s.logger != nil {
				s.logger.WarnContext(r.Context(), "token request failed: a backend is unavailable", "err", err)
			}
			te = &tokenError{status: http.StatusServiceUnavailable, code: "UNAVAILABLE", msg: outage.Message(err),
				header: http.Header{"Retry-After": {outage.RetryAfter}}}
		default:
			if s.logger != nil {
				s.logger.ErrorContext(r.Context(), "token request failed", "err", err)
			}
			te = &tokenError{status: http.StatusInternalServerError, code: "UNKNOWN", msg: "internal error"}
		}
		writeError(w, te)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(resp)
}

func (s *Service) issue(ctx context.Context, r *http.Request, name, secret string, hasCreds bool, scopeParams []string, service string) (response, error) {
	if service != "" && service != s.name {
		return response{}, &tokenError{status: http.StatusBadRequest, code: "invalid_request", msg: fmt.Sprintf("unknown service %q", service)}
	}
	requested, err := auth.ParseScopes(scopeParams)
	if err != nil {
		return response{}, &tokenError{status: http.StatusBadRequest, code: "invalid_scope", msg: err.Error()}
	}
	p := auth.AnonymousPrincipal
	if hasCreds {
		p, err = s.limiter.Login(ctx, s.authn, r, name, secret)
		var tooMany *auth.TooManyFailures
		switch {
		case errors.As(err, &tooMany):
			return response{}, &tokenError{
				status: http.StatusTooManyRequests, code: "TOOMANYREQUESTS", msg: "too many failed logins; try again later",
				header: http.Header{"Retry-After": {tooMany.RetryAfter()}},
			}
		case errors.Is(err, auth.ErrBadCredentials):
			return response{}, &tokenError{
				status: http.StatusUnauthorized, code: "UNAUTHORIZED", msg: "authentication required: bad credentials",
				header: http.Header{"Www-Authenticate": {`Basic realm="berth"`}},
			}
		case err != nil:
			return response{}, err
		}
	}
	var granted []auth.Access
	for _, a := range requested {
		allowed, err := s.authz.Allowed(ctx, p, a.Resource(), a.Actions)
		if err != nil {
			return response{}, err
		}
		if len(allowed) > 0 {
			granted = append(granted, auth.Access{Type: a.Type, Name: a.Name, Actions: allowed})
		}
	}
	tok, err := s.issuer.Issue(p.Name, s.name, granted)
	if errors.Is(err, ErrTokenTooLarge) {
		return response{}, &tokenError{status: http.StatusBadRequest, code: "invalid_scope", msg: err.Error() + "; ask for fewer or shorter scopes"}
	}
	if err != nil {
		return response{}, err
	}
	return response{
		Token: tok.Token, AccessToken: tok.Token,
		ExpiresIn: int(tok.ExpiresIn / time.Second), IssuedAt: tok.IssuedAt.UTC().Format(time.RFC3339),
	}, nil
}

// writeError answers with the registry error body shape.
func writeError(w http.ResponseWriter, e *tokenError) {
	for k, vs := range e.header {
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]string{{"code": e.code, "message": e.msg}},
	})
}
