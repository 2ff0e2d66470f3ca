package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthreg/berth/internal/eventually"
)

// TestLoginLimiter: failures fill an account's budget for the window;
// another account is not limited; a success clears earlier failures.
func TestLoginLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newTestLimiter(t, WithMaxFailures(3), WithWindow(time.Minute), withLimiterClock(func() time.Time { return now }))
	a := &countingAuth{}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "1.2.3.4:5678"
	login := func(name, secret string) error {
		_, err := l.Login(t.Context(), a, r, name, secret)
		return err
	}
	for i := range 3 {
		if err := login("alice", "wrong"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("attempt %d: %v", i, err)
		}
		now = now.Add(time.Second)
	}
	var tooMany *TooManyFailures
	if err := login("alice", "right"); !errors.As(err, &tooMany) || tooMany.Wait <= 0 || tooMany.Wait > time.Minute {
		t.Fatalf("fourth attempt: %v; want refused with a wait within the window", err)
	}
	if err := login("bob", "right"); err != nil {
		t.Fatalf("another account was refused: %v", err)
	}
	now = now.Add(57 * time.Second) // the first failure leaves the window
	if err := login("alice", "wrong"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("still refused after the window: %v", err)
	}
	if err := login("alice", "right"); !errors.As(err, &tooMany) {
		t.Fatalf("the failure just made did not count: %v", err)
	}
	now = now.Add(3 * time.Second) // the second and third leave it too
	if err := login("alice", "right"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	for range 2 {
		_ = login("alice", "wrong")
	}
	if err := login("alice", "right"); err != nil {
		t.Fatalf("a success did not clear earlier failures: %v", err)
	}
}

func TestLoginLimiterLogin(t *testing.T) {
	calls := 0
	a := AuthenticatorFunc(func(_ context.Context, name, secret string) (Principal, error) {
		calls++
		if secret == "right" {
			return Principal{Name: name, Kind: User}, nil
		}
		return Principal{}, ErrBadCredentials
	})
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "192.0.2.1:1234"
	var none *LoginLimiter
	if p, err := none.Login(t.Context(), a, r, "alice", "right"); err != nil || p.Name != "alice" {
		t.Fatalf("nil limiter: %+v, %v", p, err)
	}
	l := newTestLimiter(t, WithMaxFailures(2))
	for range 2 {
		if _, err := l.Login(t.Context(), a, r, "alice", "wrong"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("wrong secret: %v", err)
		}
	}
	calls = 0
	_, err := l.Login(t.Context(), a, r, "alice", "right")
	var tooMany *TooManyFailures
	if !errors.As(err, &tooMany) || tooMany.Wait <= 0 || tooMany.RetryAfter() == "0" || calls != 0 {
		t.Fatalf("after the limit: %v (authenticator called %d times)", err, calls)
	}
	other := httptest.NewRequest("GET", "/", nil)
	other.RemoteAddr = "192.0.2.2:1234"
	if _, err := l.Login(t.Context(), a, other, "alice", "right"); err != nil {
		t.Fatalf("another address is not limited: %v", err)
	}
}

// countingAuth is an Authenticator that counts its calls and holds each
// until release is closed; only the secret "right" passes.
type countingAuth struct {
	calls   atomic.Int64
	release chan struct{}
}

func (c *countingAuth) Authenticate(_ context.Context, name, secret string) (Principal, error) {
	c.calls.Add(1)
	if c.release != nil {
		<-c.release
	}
	if secret == "right" {
		return Principal{Name: name, Kind: User}, nil
	}
	return Principal{}, ErrBadCredentials
}

// TestLoginLimiterConcurrentAttempts: 60 wrong passwords sent at once for
// one account reach the authenticator MaxFailures times and the rest are
// refused: every attempt takes its slot before it is checked, and waits
// while the attempts being checked fill the budget.
func TestLoginLimiterConcurrentAttempts(t *testing.T) {
	a := &countingAuth{release: make(chan struct{})}
	l := newTestLimiter(t, WithMaxFailures(5))
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "192.0.2.1:1234"
	var refused atomic.Int64
	var wg sync.WaitGroup
	for range 60 {
		wg.Go(func() {
			_, err := l.Login(t.Context(), a, r, "bob", "wrong")
			var tooMany *TooManyFailures
			if errors.As(err, &tooMany) {
				refused.Add(1)
			}
		})
	}
	eventually.True(t, "five attempts to be checked", func() bool { return a.calls.Load() == 5 })
	close(a.release)
	wg.Wait()
	if n, m := a.calls.Load(), refused.Load(); n != 5 || m != 55 {
		t.Fatalf("%d of 60 concurrent attempts reached the authenticator and %d were refused; want 5 and 55", n, m)
	}
}

// TestLoginLimiterConcurrentSuccesses: a client sending the right secret
// on many requests at once (basic credentials on every registry request)
// is never refused; at most MaxFailures of its attempts are checked at
// once.
func TestLoginLimiterConcurrentSuccesses(t *testing.T) {
	var now, most atomic.Int64
	a := AuthenticatorFunc(func(_ context.Context, name, secret string) (Principal, error) {
		n := now.Add(1)
		defer now.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(time.Millisecond) // a check takes a while (a bcrypt)
		return Principal{Name: name, Kind: User}, nil
	})
	l := newTestLimiter(t, WithMaxFailures(5))
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "192.0.2.1:1234"
	var refused atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			if _, err := l.Login(t.Context(), a, r, "ci", "right"); err != nil {
				refused.Add(1)
			}
		})
	}
	wg.Wait()
	if n := refused.Load(); n != 0 {
		t.Errorf("%d of 64 concurrent logins with the right secret were refused", n)
	}
	if m := most.Load(); m > 5 {
		t.Errorf("%d attempts were checked at once; the budget is 5", m)
	}
}

// TestLoginLimiterNameSpellings: bob, Bob, BOB... share one budget.
func TestLoginLimiterNameSpellings(t *testing.T) {
	a := &countingAuth{}
	l := newTestLimiter(t, WithMaxFailures(3))
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "192.0.2.1:1234"
	for _, name := range []string{"bob", "Bob", "BOB"} {
		if _, err := l.Login(t.Context(), a, r, name, "wrong"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	for _, name := range []string{"bOb", "BoB", "bob"} {
		var tooMany *TooManyFailures
		if _, err := l.Login(t.Context(), a, r, name, "right"); !errors.As(err, &tooMany) {
			t.Errorf("%s after 3 failures of other spellings: %v, want too many failures", name, err)
		}
	}
	if n := a.calls.Load(); n != 3 {
		t.Errorf("the authenticator was asked %d times, want 3", n)
	}
}

// TestLoginLimiterPerAddress: one address trying many names is stopped
// after MaxAddressFailures, while another address is not.
func TestLoginLimiterPerAddress(t *testing.T) {
	a := &countingAuth{}
	l := newTestLimiter(t, WithMaxFailures(5), WithMaxAddressFailures(10))
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "192.0.2.1:1234"
	for i := range 50 {
		_, _ = l.Login(t.Context(), a, r, fmt.Sprintf("user%d", i), "wrong")
	}
	if n := a.calls.Load(); n != 10 {
		t.Errorf("one address spraying 50 names reached the authenticator %d times, want 10", n)
	}
	other := httptest.NewRequest("GET", "/", nil)
	other.RemoteAddr = "192.0.2.2:1234"
	if _, err := l.Login(t.Context(), a, other, "user0", "right"); err != nil {
		t.Errorf("another address: %v", err)
	}
}

// TestLoginLimiterUncheckedAttempts: attempts the authenticator could not
// check (a directory down) take no slot; IPv6 clients share the budget of
// their /64.
func TestLoginLimiterUncheckedAttempts(t *testing.T) {
	down := errors.New("directory down")
	var broken atomic.Bool
	broken.Store(true)
	a := AuthenticatorFunc(func(_ context.Context, name, secret string) (Principal, error) {
		if broken.Load() {
			return Principal{}, down
		}
		if secret == "right" {
			return Principal{Name: name, Kind: User}, nil
		}
		return Principal{}, ErrBadCredentials
	})
	l := newTestLimiter(t, WithMaxFailures(2))
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "[2001:db8:1:2::5]:1234"
	for range 10 {
		if _, err := l.Login(t.Context(), a, r, "bob", "right"); !errors.Is(err, down) {
			t.Fatalf("directory down: %v", err)
		}
	}
	broken.Store(false)
	if _, err := l.Login(t.Context(), a, r, "bob", "right"); err != nil {
		t.Fatalf("after 10 unchecked attempts: %v", err)
	}
	for range 2 {
		_, _ = l.Login(t.Context(), a, r, "bob", "wrong")
	}
	sameNet := httptest.NewRequest("GET", "/", nil)
	sameNet.RemoteAddr = "[2001:db8:1:2:ffff::9]:4321"
	var tooMany *TooManyFailures
	if _, err := l.Login(t.Context(), a, sameNet, "bob", "right"); !errors.As(err, &tooMany) {
		t.Errorf("another address of the same /64: %v, want too many failures", err)
	}
}

func newTestLimiter(t testing.TB, opts ...LimiterOption) *LoginLimiter {
	t.Helper()
	l, err := NewLoginLimiter(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestNewLoginLimiterRejectsNegatives(t *testing.T) {
	for name, o := range map[string]LimiterOption{
		"WithMaxFailures":        WithMaxFailures(-1),
		"WithMaxAddressFailures": WithMaxAddressFailures(-1),
		"WithWindow":             WithWindow(-time.Second),
	} {
		if _, err := NewLoginLimiter(o); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("NewLoginLimiter(%s negative) = %v, want an error naming it", name, err)
		}
	}
}
