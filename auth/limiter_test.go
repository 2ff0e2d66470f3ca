package auth

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"
)

func TestLoginLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := &LoginLimiter{MaxFailures: 3, Window: time.Minute, now: func() time.Time { return now }}
	for i := range 3 {
		if ok, _ := l.Allow("alice|1.2.3.4"); !ok {
			t.Fatalf("attempt %d refused before the limit", i)
		}
		l.Failed("alice|1.2.3.4")
		now = now.Add(time.Second)
	}
	ok, wait := l.Allow("alice|1.2.3.4")
	if ok || wait <= 0 || wait > time.Minute {
		t.Fatalf("fourth attempt: allowed %v, wait %v; want refused with a wait within the window", ok, wait)
	}
	if ok, _ := l.Allow("bob|1.2.3.4"); !ok {
		t.Fatal("another key was refused")
	}
	now = now.Add(58 * time.Second) // the first failure leaves the window
	if ok, _ := l.Allow("alice|1.2.3.4"); !ok {
		t.Fatal("still refused after the window")
	}
	l.Failed("alice|1.2.3.4")
	l.Succeeded("alice|1.2.3.4")
	for range 2 {
		l.Failed("alice|1.2.3.4")
	}
	if ok, _ := l.Allow("alice|1.2.3.4"); !ok {
		t.Fatal("a success did not clear earlier failures")
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
	l := &LoginLimiter{MaxFailures: 2}
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
