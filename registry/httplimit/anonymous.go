package httplimit

import (
	"net/http"
	"strconv"
	"time"
)

// CapOption tunes CapAnonymous.
type CapOption func(*anonCap)

// WithCredentialCheck sets how a request is told to carry credentials
// (default HasCredentials).
func WithCredentialCheck(f func(*http.Request) bool) CapOption {
	return func(c *anonCap) { c.hasCredentials = f }
}

// WithRetryAfter sets the Retry-After of a refused request (default 1s,
// rounded up to whole seconds).
func WithRetryAfter(d time.Duration) CapOption {
	return func(c *anonCap) { c.retryAfter = d }
}

// HasCredentials is the default credential check: an Authorization header,
// or a cookie named in cookies (a session).
func HasCredentials(cookies ...string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		if r.Header.Get("Authorization") != "" {
			return true
		}
		for _, name := range cookies {
			if _, err := r.Cookie(name); err == nil {
				return true
			}
		}
		return false
	}
}

// CapAnonymous returns h with at most n requests without credentials in
// flight at once; one more is answered 503 with Retry-After and an error
// body ({"errors":[{"code":"UNAVAILABLE",…}]}, the shape of the registry
// and the admin API) without reaching h. Requests with credentials (by
// the check, default HasCredentials()) are not counted: whether they are
// valid is for h to decide, and h refuses bad ones before reading a body.
// n <= 0 returns h itself.
func CapAnonymous(h http.Handler, n int, opts ...CapOption) http.Handler {
	if n <= 0 {
		return h
	}
	c := &anonCap{next: h, slots: make(chan struct{}, n), hasCredentials: HasCredentials(), retryAfter: time.Second}
	for _, o := range opts {
		o(c)
	}
	return c
}

type anonCap struct {
	next           http.Handler
	slots          chan struct{}
	hasCredentials func(*http.Request) bool
	retryAfter     time.Duration
}

// ServeHTTP implements http.Handler.
func (c *anonCap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c.hasCredentials(r) {
		c.next.ServeHTTP(w, r)
		return
	}
	select {
	case c.slots <- struct{}{}:
		defer func() { <-c.slots }()
		c.next.ServeHTTP(w, r)
	default:
		secs := max(1, int((c.retryAfter+time.Second-1)/time.Second))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"errors":[{"code":"UNAVAILABLE","message":"too many requests without credentials in flight; try again later"}]}` + "\n"))
	}
}
