package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// LoginLimiter slows down password guessing: after MaxFailures failed
// logins for one key (an account name and a client address, say) within
// Window, further attempts for that key are refused until the window since
// the first of them has passed. A successful login clears the key.
type LoginLimiter struct {
	// MaxFailures is the number of failures allowed per window (5 if 0).
	MaxFailures int
	// Window is the period failures are counted over (1 minute if 0).
	Window time.Duration

	mu    sync.Mutex
	fails map[string][]time.Time
	now   func() time.Time
}

func (l *LoginLimiter) limits() (int, time.Duration) {
	n, w := l.MaxFailures, l.Window
	if n <= 0 {
		n = 5
	}
	if w <= 0 {
		w = time.Minute
	}
	return n, w
}

func (l *LoginLimiter) clock() time.Time {
	if l.now != nil {
		return l.now()
	}
	return time.Now()
}

// recent drops the failures of key older than the window; l.mu is held.
func (l *LoginLimiter) recent(key string, now time.Time, w time.Duration) []time.Time {
	f := l.fails[key]
	i := 0
	for i < len(f) && now.Sub(f[i]) >= w {
		i++
	}
	f = f[i:]
	if len(f) == 0 {
		delete(l.fails, key)
	} else {
		l.fails[key] = f
	}
	return f
}

// Allow reports whether an attempt for key may proceed, and if not, how
// long until it may.
func (l *LoginLimiter) Allow(key string) (bool, time.Duration) {
	n, w := l.limits()
	now := l.clock()
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.recent(key, now, w)
	if len(f) < n {
		return true, 0
	}
	return false, w - now.Sub(f[0])
}

// Failed records a failed attempt for key.
func (l *LoginLimiter) Failed(key string) {
	_, w := l.limits()
	now := l.clock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fails == nil {
		l.fails = make(map[string][]time.Time)
	}
	// Prune the whole map now and then so abandoned keys do not pile up.
	if len(l.fails) > 10000 {
		for k := range l.fails {
			l.recent(k, now, w)
		}
	}
	l.fails[key] = append(l.recent(key, now, w), now)
}

// Succeeded clears the failures of key.
func (l *LoginLimiter) Succeeded(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, key)
}

// TooManyFailures is the error Login returns while the limiter refuses
// attempts for a key.
type TooManyFailures struct {
	// Wait is how long until an attempt may proceed.
	Wait time.Duration
}

// Error implements error.
func (e *TooManyFailures) Error() string {
	return fmt.Sprintf("auth: too many failed logins; try again in %v", e.Wait.Round(time.Second))
}

// RetryAfter is Wait in whole seconds, rounded up, for a Retry-After
// header.
func (e *TooManyFailures) RetryAfter() string { return strconv.Itoa(int(e.Wait.Seconds()) + 1) }

// Login checks name and secret with a, counting failures per account name
// and client address (from r). While the limit holds it returns a
// *TooManyFailures without asking a. A nil limiter only asks a.
func (l *LoginLimiter) Login(ctx context.Context, a Authenticator, r *http.Request, name, secret string) (Principal, error) {
	if l == nil {
		return a.Authenticate(ctx, name, secret)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	key := name + "|" + host
	if ok, wait := l.Allow(key); !ok {
		return Principal{}, &TooManyFailures{Wait: wait}
	}
	p, err := a.Authenticate(ctx, name, secret)
	switch {
	case err == nil:
		l.Succeeded(key)
	case errors.Is(err, ErrBadCredentials):
		l.Failed(key)
	}
	return p, err
}
