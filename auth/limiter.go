package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berthreg/berth/ratelimit"
)

// LoginLimiter slows down password guessing. Every attempt takes a slot
// before its credentials are checked, in two budgets: one per account and
// client address (WithMaxFailures), and one per client address over all
// names (WithMaxAddressFailures), so that one address can neither guess one
// account's password quickly nor try a few passwords on many accounts. A
// failed attempt keeps its slots for the window (WithWindow); a success
// clears its account budget and gives back its address slot; an attempt
// that could not be checked (a directory down) gives back both. While a
// budget's failures fill it, attempts are refused without being checked;
// while attempts being checked fill it, further ones wait for their
// outcome, so that concurrent attempts with the right secret all pass
// and concurrent guesses are checked no more often than the budget
// allows.
//
// Account names are counted case-insensitively (bob, Bob and BOB share a
// budget): local names are lower-case, and directories compare names
// without case. IPv6 clients are counted per /64 network, which one
// client usually holds whole.
//
// Make one with NewLoginLimiter; the zero value, like NewLoginLimiter
// without options, limits with the defaults.
type LoginLimiter struct {
	maxFailures        int
	maxAddressFailures int
	window             time.Duration

	mu    sync.Mutex
	fails map[string][]time.Time // failures within the window, oldest first
	// checking counts the attempts being checked, per budget key.
	checking map[string]int
	// settled is closed (and replaced) whenever an attempt's outcome
	// frees or fills a slot, to wake the attempts waiting for one.
	settled chan struct{}
	now     func() time.Time
}

// maxKeyName bounds the part of an account name a budget's key keeps, so
// that long names cost no more memory than short ones.
const maxKeyName = 256

// LimiterOption configures a LoginLimiter made by NewLoginLimiter.
type LimiterOption func(*LoginLimiter)

// WithMaxFailures sets the number of failures allowed per account and
// address within the window (default 5).
func WithMaxFailures(n int) LimiterOption { return func(l *LoginLimiter) { l.maxFailures = n } }

// WithMaxAddressFailures sets the number of failures allowed per client
// address within the window, whatever the names (default 4 × the
// per-account number).
func WithMaxAddressFailures(n int) LimiterOption {
	return func(l *LoginLimiter) { l.maxAddressFailures = n }
}

// WithWindow sets the period failures are counted over (default 1
// minute).
func WithWindow(d time.Duration) LimiterOption { return func(l *LoginLimiter) { l.window = d } }

// withLimiterClock replaces time.Now (tests).
func withLimiterClock(now func() time.Time) LimiterOption {
	return func(l *LoginLimiter) { l.now = now }
}

// NewLoginLimiter returns a limiter; zero values in options mean their
// defaults, negative ones are an error.
func NewLoginLimiter(opts ...LimiterOption) (*LoginLimiter, error) {
	l := &LoginLimiter{}
	for _, o := range opts {
		o(l)
	}
	switch {
	case l.maxFailures < 0:
		return nil, fmt.Errorf("auth: NewLoginLimiter: WithMaxFailures(%d): negative", l.maxFailures)
	case l.maxAddressFailures < 0:
		return nil, fmt.Errorf("auth: NewLoginLimiter: WithMaxAddressFailures(%d): negative", l.maxAddressFailures)
	case l.window < 0:
		return nil, fmt.Errorf("auth: NewLoginLimiter: WithWindow(%v): negative", l.window)
	}
	return l, nil
}

func (l *LoginLimiter) limits() (perAccount, perAddress int, w time.Duration) {
	n, a, w := l.maxFailures, l.maxAddressFailures, l.window
	if n <= 0 {
		n = 5
	}
	if a <= 0 {
		a = 4 * n
	}
	if w <= 0 {
		w = time.Minute
	}
	return n, a, w
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

// reservation is the slots one attempt holds.
type reservation struct {
	account, address string
}

// reserve takes a slot in the budgets of account and address. While the
// failures within the window fill either, it reports how long until they
// leave room; while attempts being checked fill it, it waits for one to
// settle (or ctx to end).
func (l *LoginLimiter) reserve(ctx context.Context, account, address string) (reservation, time.Duration, error) {
	n, a, w := l.limits()
	res := reservation{account: "account|" + account + "|" + address, address: "address|" + address}
	budgets := [2]struct {
		key   string
		limit int
	}{{res.account, n}, {res.address, a}}
	for {
		now := l.clock()
		l.mu.Lock()
		if l.fails == nil {
			l.fails, l.checking, l.settled = map[string][]time.Time{}, map[string]int{}, make(chan struct{})
		}
		// Prune the whole map now and then so abandoned keys do not pile up.
		if len(l.fails) > 10000 {
			for k := range l.fails {
				l.recent(k, now, w)
			}
		}
		var wait time.Duration
		busy := false
		for _, b := range budgets {
			f := l.recent(b.key, now, w)
			if len(f) >= b.limit {
				wait = max(wait, w-now.Sub(f[len(f)-b.limit]))
			}
			busy = busy || len(f)+l.checking[b.key] >= b.limit
		}
		if wait > 0 {
			l.mu.Unlock()
			return reservation{}, wait, nil
		}
		if !busy {
			for _, b := range budgets {
				l.checking[b.key]++
			}
			l.mu.Unlock()
			return res, 0, nil
		}
		settled := l.settled
		l.mu.Unlock()
		select {
		case <-settled:
		case <-ctx.Done():
			return reservation{}, 0, ctx.Err()
		}
	}
}

// settle ends the check of res: a failure fills its slots for the window;
// a success clears its account budget's failures and frees its address
// slot; an unchecked attempt frees both.
func (l *LoginLimiter) settle(res reservation, failed, succeeded bool) {
	now := l.clock()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, key := range []string{res.account, res.address} {
		if l.checking[key]--; l.checking[key] <= 0 {
			delete(l.checking, key)
		}
		switch {
		case failed:
			l.fails[key] = append(l.fails[key], now)
		case succeeded && key == res.account:
			delete(l.fails, key)
		}
	}
	close(l.settled)
	l.settled = make(chan struct{})
}

// accountKey is the part of an account's budget key its name gives: the
// name without case, at most maxKeyName bytes.
func accountKey(name string) string {
	name = strings.ToLower(name)
	if len(name) > maxKeyName {
		name = name[:maxKeyName]
	}
	return name
}

// addressKey is the budget key of r's client: its IP address, or the /64
// network of an IPv6 address.
func addressKey(r *http.Request) string { return ratelimit.AddressKey(r.RemoteAddr) }

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

// Login checks name and secret with a, within the budgets of name and
// the client address (from r). While a budget is full it returns a
// *TooManyFailures without asking a. A nil limiter only asks a.
func (l *LoginLimiter) Login(ctx context.Context, a Authenticator, r *http.Request, name, secret string) (Principal, error) {
	if l == nil {
		return a.Authenticate(ctx, name, secret)
	}
	res, wait, err := l.reserve(ctx, accountKey(name), addressKey(r))
	if err != nil {
		return Principal{}, err
	}
	if wait > 0 {
		return Principal{}, &TooManyFailures{Wait: wait}
	}
	checked := false
	defer func() {
		if !checked { // the authenticator panicked: free the slots
			l.settle(res, false, false)
		}
	}()
	p, err := a.Authenticate(ctx, name, secret)
	checked = true
	// An error other than bad credentials was no check: it does not count.
	l.settle(res, errors.Is(err, ErrBadCredentials), err == nil)
	return p, err
}
