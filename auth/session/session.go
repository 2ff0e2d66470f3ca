package session

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultCookie is the session cookie's name without WithCookie.
const DefaultCookie = "sid"

// DefaultLifetime is how long a session lasts without WithLifetime.
const DefaultLifetime = 8 * time.Hour

// purposeSession is the audience of signed-in session cookies.
const purposeSession = "session"

// ErrNoSession reports a request without a valid cookie of the asked kind:
// none, expired, tampered with, or of another purpose.
var ErrNoSession = errors.New("session: no valid session")

// Sessions seals and opens cookies with one key. Make one with New.
type Sessions struct {
	key        []byte
	lifetime   time.Duration
	cookieName string
	secure     bool

	now func() time.Time // for tests; time.Now when nil
}

// Option configures Sessions made by New.
type Option func(*Sessions)

// WithLifetime sets how long a signed-in session lasts (default
// DefaultLifetime).
func WithLifetime(d time.Duration) Option { return func(s *Sessions) { s.lifetime = d } }

// WithCookie names the session cookie (default DefaultCookie).
func WithCookie(name string) Option { return func(s *Sessions) { s.cookieName = name } }

// WithSecure sets the cookies' Secure attribute; set it whenever the
// server is reached over HTTPS.
func WithSecure(on bool) Option { return func(s *Sessions) { s.secure = on } }

// withClock replaces time.Now (tests).
func withClock(now func() time.Time) Option { return func(s *Sessions) { s.now = now } }

// MinKeySize is the size, in bytes, of the shortest key New accepts.
const MinKeySize = 32

// GenerateKey returns a new random key of MinKeySize bytes.
func GenerateKey() []byte {
	k := make([]byte, MinKeySize)
	_, _ = rand.Read(k) // never fails (crypto/rand)
	return k
}

// New returns the sessions whose cookies key signs: at least MinKeySize
// random bytes (GenerateKey), kept secret and the same on every instance
// behind one address, or a cookie one instance sealed is refused by the
// others. New keeps a copy of key.
func New(key []byte, opts ...Option) (*Sessions, error) {
	if len(key) < MinKeySize {
		return nil, fmt.Errorf("session: New: the key must be at least %d bytes", MinKeySize)
	}
	s := &Sessions{key: append([]byte(nil), key...)}
	for _, o := range opts {
		o(s)
	}
	if s.lifetime < 0 {
		return nil, fmt.Errorf("session: New: WithLifetime(%v): negative", s.lifetime)
	}
	return s, nil
}

// sealed is the JWT a cookie carries.
type sealed struct {
	jwt.RegisteredClaims
	Data map[string]string `json:"data,omitempty"`
}

func (s *Sessions) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// Seal sets cookie name, valid for lifetime, carrying data for purpose.
// Its SameSite mode is Lax, so that it comes back with a top-level
// navigation from another site (an identity provider's redirect); the
// signed-in session cookie is Strict.
func (s *Sessions) Seal(w http.ResponseWriter, name, purpose string, data map[string]string, lifetime time.Duration) error {
	return s.seal(w, name, purpose, data, lifetime, http.SameSiteLaxMode)
}

func (s *Sessions) seal(w http.ResponseWriter, name, purpose string, data map[string]string, lifetime time.Duration, mode http.SameSite) error {
	now := s.clock()
	claims := sealed{
		RegisteredClaims: jwt.RegisteredClaims{
			Audience: jwt.ClaimStrings{purpose}, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(lifetime)),
		},
		Data: data,
	}
	v, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.key)
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	http.SetCookie(w, s.cookie(name, v, int(lifetime/time.Second), mode))
	return nil
}

// Open returns the data of request r's cookie name sealed for purpose, or
// ErrNoSession.
func (s *Sessions) Open(r *http.Request, name, purpose string) (map[string]string, error) {
	c, err := r.Cookie(name)
	if err != nil {
		return nil, ErrNoSession
	}
	var claims sealed
	_, err = jwt.ParseWithClaims(c.Value, &claims, func(*jwt.Token) (any, error) { return s.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithAudience(purpose),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(s.clock))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoSession, err)
	}
	return claims.Data, nil
}

// Clear removes cookie name from the browser.
func (s *Sessions) Clear(w http.ResponseWriter, name string) {
	http.SetCookie(w, s.cookie(name, "", -1, http.SameSiteLaxMode))
}

func (s *Sessions) cookie(name, value string, maxAge int, mode http.SameSite) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, Secure: s.secure, SameSite: mode}
}

func (s *Sessions) name() string {
	if s.cookieName == "" {
		return DefaultCookie
	}
	return s.cookieName
}

// SignIn is who a signed-in session cookie names.
type SignIn struct {
	// Account is the account name.
	Account string
	// Source is the account's source that vouched for it ("local",
	// "ldap", "oidc"): whoever opens the session checks that the account
	// still comes from there.
	Source string
	// ID is the session's id, which the account store lists while the
	// session lives (accounts.Manager.StartSession).
	ID string
}

// SessionLifetime is how long a signed-in session lasts: WithLifetime's,
// or DefaultLifetime.
func (s *Sessions) SessionLifetime() time.Duration {
	if s.lifetime <= 0 {
		return DefaultLifetime
	}
	return s.lifetime
}

// Start signs in: it sets the session cookie naming in, for
// SessionLifetime.
func (s *Sessions) Start(w http.ResponseWriter, in SignIn) error {
	if in.Account == "" {
		return errors.New("session: Start: no account")
	}
	lifetime := s.SessionLifetime()
	data := map[string]string{"account": in.Account, "source": in.Source, "sid": in.ID}
	return s.seal(w, s.name(), purposeSession, data, lifetime, http.SameSiteStrictMode)
}

// Current returns whom r's session cookie signs in, or ErrNoSession.
func (s *Sessions) Current(r *http.Request) (SignIn, error) {
	data, err := s.Open(r, s.name(), purposeSession)
	if err != nil {
		return SignIn{}, err
	}
	if data["account"] == "" {
		return SignIn{}, ErrNoSession
	}
	return SignIn{Account: data["account"], Source: data["source"], ID: data["sid"]}, nil
}

// End signs out: it clears the session cookie.
func (s *Sessions) End(w http.ResponseWriter) { s.Clear(w, s.name()) }
