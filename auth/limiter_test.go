package auth

import (
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
