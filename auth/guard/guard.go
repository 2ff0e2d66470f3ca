package guard

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/token"
	"github.com/berthreg/berth/registry"
)

// Guard decides every registry request. Make one with New.
type Guard struct {
	realmURL    string
	externalURL string
	service     string
	verifier    *token.Verifier
	authn       auth.Authenticator
	authz       auth.Authorizer
	limiter     *auth.LoginLimiter
	recheckFn   func(ctx context.Context, subject string) (p auth.Principal, ok bool, err error)
	principals  func(ctx context.Context, subject string) (p auth.Principal, ok bool, err error)
}

// Option configures a Guard made by New.
type Option func(*Guard)

// WithExternalURL sets the registry's URL as its clients reach it
// ("https://registry.example.com"): a path realm is joined to it. Without
// it the realm follows each request's Host header (and
// X-Forwarded-Proto): a client then learns a realm on whatever host it
// claimed, so set it wherever the Host header is not checked by a proxy
// in front.
func WithExternalURL(u string) Option { return func(g *Guard) { g.externalURL = u } }

// WithAuthenticator makes the guard accept basic credentials on /v2/
// itself, checked by a.
func WithAuthenticator(a auth.Authenticator) Option { return func(g *Guard) { g.authn = a } }

// WithLimiter slows down basic-auth password guessing with l.
func WithLimiter(l *auth.LoginLimiter) Option { return func(g *Guard) { g.limiter = l } }

// WithRecheck makes a bearer-token request also need the rights the
// token's subject holds now, by the authorizer: a token then loses at
// once what its account lost (a role, a membership, the account itself)
// instead of at its expiry, for a look-up per request. f returns the
// subject's principal as it is now; ok false for subjects that are no
// account (a scanner's pull token), whose tokens keep what they grant;
// an error wrapping auth.ErrBadCredentials (an account deleted or
// disabled) refuses the token. Without it a token grants what it says
// until it expires.
func WithRecheck(f func(ctx context.Context, subject string) (p auth.Principal, ok bool, err error)) Option {
	return func(g *Guard) { g.recheckFn = f }
}

// WithPrincipals lets the guard find the account a bearer token's subject
// names (ok false: none, as for a scanner's token) when a hook asks what
// the request's credentials allow beyond the token's scope
// (registry.Event.Allows): a token scoped to pull, from an account that
// may push, allows pushing. Without it, Allows answers from the token's
// scope alone.
func WithPrincipals(f func(ctx context.Context, subject string) (p auth.Principal, ok bool, err error)) Option {
	return func(g *Guard) { g.principals = f }
}

// New returns the guard. realm is the token endpoint's URL for the
// challenge: a path ("/service/token") is made absolute with
// WithExternalURL, or without it with the request's scheme and Host
// header. service is the registry's service name, the tokens' audience;
// verifier checks bearer tokens; authz decides for basic and anonymous
// requests (tokens carry their grants).
func New(realm, service string, verifier *token.Verifier, authz auth.Authorizer, opts ...Option) (*Guard, error) {
	switch {
	case realm == "":
		return nil, errors.New("guard: New: empty realm")
	case service == "":
		return nil, errors.New("guard: New: empty service name")
	case verifier == nil:
		return nil, errors.New("guard: New: nil verifier")
	case authz == nil:
		return nil, errors.New("guard: New: nil authorizer")
	}
	g := &Guard{realmURL: realm, service: service, verifier: verifier, authz: authz}
	for _, o := range opts {
		o(g)
	}
	return g, nil
}

// Hooks returns registry hooks with Authorize set to g.Authorize.
func (g *Guard) Hooks() registry.Hooks { return registry.Hooks{Authorize: g.Authorize} }

// required lists what an event needs: the accesses to check, and those to
// name in a challenge (clients ask for exactly what the challenge names,
// so a push asks for pull and push as Docker clients do).
func required(ev *registry.Event) (need, ask []auth.Access) {
	repo := func(name string, actions ...string) auth.Access {
		return auth.Access{Type: auth.TypeRepository, Name: name, Actions: actions}
	}
	switch ev.Action {
	case registry.ActionPing:
		return nil, nil
	case registry.ActionCatalog:
		a := auth.Access{Type: auth.TypeRegistry, Name: "catalog", Actions: []string{auth.ActionAll}}
		return []auth.Access{a}, []auth.Access{a}
	case registry.ActionPushBlob, registry.ActionPushManifest:
		return []auth.Access{repo(ev.Repository, auth.ActionPush)}, []auth.Access{repo(ev.Repository, auth.ActionPull, auth.ActionPush)}
	case registry.ActionMountBlob:
		need = []auth.Access{repo(ev.Repository, auth.ActionPush)}
		ask = []auth.Access{repo(ev.Repository, auth.ActionPull, auth.ActionPush)}
		if ev.From != "" {
			need = append(need, repo(ev.From, auth.ActionPull))
			ask = append(ask, repo(ev.From, auth.ActionPull))
		}
		return need, ask
	case registry.ActionDeleteBlob, registry.ActionDeleteManifest, registry.ActionDeleteTag:
		return []auth.Access{repo(ev.Repository, auth.ActionDelete)}, []auth.Access{repo(ev.Repository, auth.ActionDelete)}
	default: // pulls, tag lists, referrers
		return []auth.Access{repo(ev.Repository, auth.ActionPull)}, []auth.Access{repo(ev.Repository, auth.ActionPull)}
	}
}

// Authorize is the registry.Hooks.Authorize function.
func (g *Guard) Authorize(ctx context.Context, ev *registry.Event) error {
	r := ev.Request
	need, ask := required(ev)
	authz := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(authz, " ")
	if p, ok := auth.PrincipalFrom(r.Context()); ok && authz == "" {
		// A request made in this process (through registry/inproc, as
		// replication and scanning do) names its principal in the
		// context, which no client can set.
		if ok, err := g.allowed(ctx, p, need); err != nil || !ok {
			if err != nil {
				return err
			}
			return registry.NewError(http.StatusForbidden, registry.CodeDenied, "access denied")
		}
		ev.Operator, ev.Allows = p.Name, g.allows(ctx, p, ev.Repository)
		return nil
	}
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		c, err := g.verifier.Verify(strings.TrimSpace(cred))
		if err != nil {
			return g.challenge(r, ask, "invalid_token", "the bearer token is invalid or expired")
		}
		for _, a := range need {
			for _, act := range a.Actions {
				if !c.Allows(a.Resource(), act) {
					return g.challenge(r, ask, "insufficient_scope", "the token does not grant "+a.Type+":"+a.Name+":"+act)
				}
			}
		}
		if err := g.recheck(ctx, r, c.Subject, need, ask); err != nil {
			return err
		}
		ev.Operator = c.Subject
		ev.Allows = func(action string) bool {
			if c.Allows(auth.Resource{Type: auth.TypeRepository, Name: ev.Repository}, action) {
				return true
			}
			if g.principals == nil {
				return false
			}
			p, ok, err := g.principals(ctx, c.Subject)
			return err == nil && ok && g.allows(ctx, p, ev.Repository)(action)
		}
		return nil
	case strings.EqualFold(scheme, "Basic") && g.authn != nil:
		name, secret, ok := r.BasicAuth()
		if !ok {
			return g.challenge(r, ask, "", "malformed basic credentials")
		}
		p, err := g.limiter.Login(ctx, g.authn, r, name, secret)
		var tooMany *auth.TooManyFailures
		switch {
		case errors.As(err, &tooMany):
			e := registry.NewError(http.StatusTooManyRequests, registry.CodeTooManyRequests, "too many failed logins; try again later")
			e.Header = http.Header{"Retry-After": {tooMany.RetryAfter()}}
			return e
		case errors.Is(err, auth.ErrBadCredentials):
			return g.challenge(r, ask, "", "bad credentials")
		case err != nil:
			return err
		}
		if ok, err := g.allowed(ctx, p, need); err != nil || !ok {
			if err != nil {
				return err
			}
			return registry.NewError(http.StatusForbidden, registry.CodeDenied, "access denied")
		}
		ev.Operator, ev.Allows = p.Name, g.allows(ctx, p, ev.Repository)
		return nil
	case authz != "":
		return g.challenge(r, ask, "", "unsupported authorization scheme")
	}
	// Anonymous: never for the ping (clients learn there that the
	// registry wants credentials), else what anonymous may do.
	if ev.Action != registry.ActionPing {
		if ok, err := g.allowed(ctx, auth.AnonymousPrincipal, need); err != nil || ok {
			return err
		}
	}
	return g.challenge(r, ask, "", "authentication required")
}

// recheck applies WithRecheck's function to a verified token of subject: nil when it
// is off, the subject is no account, or it may still do everything in
// need.
func (g *Guard) recheck(ctx context.Context, r *http.Request, subject string, need, ask []auth.Access) error {
	if g.recheckFn == nil {
		return nil
	}
	p, ok, err := g.recheckFn(ctx, subject)
	switch {
	case errors.Is(err, auth.ErrBadCredentials):
		return g.challenge(r, ask, "invalid_token", "the token's account is no longer valid")
	case err != nil:
		return err
	case !ok:
		return nil
	}
	if ok, err := g.allowed(ctx, p, need); err != nil || !ok {
		if err != nil {
			return err
		}
		return registry.NewError(http.StatusForbidden, registry.CodeDenied, "access denied: the token's account no longer has these rights")
	}
	return nil
}

// allowed reports whether p may do everything in need.
// allows is Event.Allows for principal p: what the authorizer lets p do
// on repo, asked when a hook wants to know.
func (g *Guard) allows(ctx context.Context, p auth.Principal, repo string) func(string) bool {
	return func(action string) bool {
		got, err := g.authz.Allowed(ctx, p, auth.Resource{Type: auth.TypeRepository, Name: repo}, []string{action})
		return err == nil && slices.Contains(got, action)
	}
}

func (g *Guard) allowed(ctx context.Context, p auth.Principal, need []auth.Access) (bool, error) {
	for _, a := range need {
		got, err := g.authz.Allowed(ctx, p, a.Resource(), a.Actions)
		if err != nil {
			return false, err
		}
		for _, act := range a.Actions {
			if !slices.Contains(got, act) {
				return false, nil
			}
		}
	}
	return true, nil
}

// challenge is a 401 UNAUTHORIZED sending the client to the token service.
func (g *Guard) challenge(r *http.Request, ask []auth.Access, errCode, msg string) error {
	e := registry.NewError(http.StatusUnauthorized, registry.CodeUnauthorized, "%s", msg)
	e.Header = http.Header{"Www-Authenticate": {token.Challenge(g.realm(r), g.service, ask, errCode)}}
	if len(ask) > 0 {
		e.Detail = ask
	}
	return e
}

// realm makes a path realm absolute: on WithExternalURL when set, else for
// this request.
func (g *Guard) realm(r *http.Request) string {
	if !strings.HasPrefix(g.realmURL, "/") {
		return g.realmURL
	}
	if g.externalURL != "" {
		return strings.TrimSuffix(g.externalURL, "/") + g.realmURL
	}
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host + g.realmURL
}
