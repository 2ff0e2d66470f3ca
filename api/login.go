package api

import (
	"errors"
	"net/http"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/oidc"
	"github.com/berthreg/berth/auth/session"
)

// login is Harbor's POST /c/login: form fields principal and password
// (rate limited like every login); success starts a session. Robots have
// no sessions.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	name, password := r.PostFormValue("principal"), r.PostFormValue("password")
	if name == "" || password == "" {
		h.writeError(w, r, badRequest("principal and password: both form fields are required"))
		return
	}
	p, err := h.limiter.Login(r.Context(), h.authn, r, name, password)
	if errors.Is(err, auth.ErrBadCredentials) {
		if rerr := h.m.RecordLogin(r.Context(), name, false); rerr != nil {
			h.log.ErrorContext(r.Context(), "recording a failed login", "err", rerr)
		}
	}
	if err == nil && p.Kind != auth.User {
		err = &apiError{status: http.StatusForbidden, code: codeForbidden, msg: "robots sign in with basic credentials, not sessions"}
	}
	if err == nil {
		err = h.m.RememberUser(r.Context(), p)
	}
	if err == nil {
		err = h.m.RecordLogin(r.Context(), p.Name, true)
	}
	if err == nil {
		err = h.startSession(w, r, p)
	}
	if err != nil {
		h.writeError(w, r, loginError(err))
		return
	}
	w.WriteHeader(http.StatusOK)
}

// startSession records a session of p in its account and sets its
// cookie.
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := h.m.StartSession(r.Context(), p, h.sessions.SessionLifetime())
	if err != nil {
		return err
	}
	return h.sessions.Start(w, session.SignIn{Account: p.Name, Source: p.Source, ID: id})
}

// logout is Harbor's GET /c/log_out: the session ends (a copy of its
// cookie opens nothing any more) and the cookie is cleared.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if in, err := h.sessions.Current(r); err == nil {
		if err := h.m.EndSession(r.Context(), in.Account, in.ID); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	h.sessions.End(w)
	w.WriteHeader(http.StatusOK)
}

// oidcLogin is GET /c/oidc/login?redirect_url=/path: the browser goes to
// the provider, and comes back to the local redirect_url once signed in.
func (h *Handler) oidcLogin(w http.ResponseWriter, r *http.Request) {
	if err := h.oidc.Begin(w, r, r.URL.Query().Get("redirect_url")); err != nil {
		h.writeError(w, r, providerError(err))
	}
}

// oidcCallback is GET /c/oidc/callback: the provider's answer is checked,
// the person's account found or created (when onboarding is on), the
// session started and the browser sent on.
func (h *Handler) oidcCallback(w http.ResponseWriter, r *http.Request) {
	id, redirect, err := h.oidc.Complete(w, r)
	if err != nil {
		h.writeError(w, r, providerError(err))
		return
	}
	p, err := h.m.SignInOIDC(r.Context(), id, h.autoOnboard)
	if err == nil {
		err = h.startSession(w, r, p)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	http.Redirect(w, r, redirect, http.StatusFound)
}

// providerError maps a failed OIDC sign-in: the person's (or the
// provider's) fault is 401, a provider that cannot be reached 502.
func providerError(err error) error {
	if errors.Is(err, oidc.ErrLogin) {
		return &apiError{status: http.StatusUnauthorized, code: codeUnauthorized, msg: err.Error()}
	}
	return &apiError{status: http.StatusBadGateway, code: codeBadGateway, msg: err.Error()}
}

// setCLISecret is PUT /users/{user}/cli_secret (Harbor's): an OIDC
// account's password for registry clients. Body {"secret": "…"} sets it
// (16 characters or more); an empty or missing secret generates one. The
// secret is answered this once. Only the account itself or an
// administrator may.
func (h *Handler) setCLISecret(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	name := r.PathValue("user")
	if err := selfOrAdmin(p, name); err != nil {
		return err
	}
	var req struct {
		Secret string `json:"secret"`
	}
	if r.ContentLength != 0 {
		if err := decode(w, r, &req); err != nil {
			return err
		}
	}
	secret, err := h.m.SetCLISecret(r.Context(), name, req.Secret)
	if err != nil {
		return toAPIErrorNamed(err, "user "+name)
	}
	writeJSON(w, http.StatusOK, map[string]string{"secret": secret})
	return nil
}
