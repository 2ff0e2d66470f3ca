package ratelimit_test

import (
	"strings"
	"testing"
	"time"

	"github.com/berthreg/berth/ratelimit"
)

// clock is a time the test moves.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestAllow(t *testing.T) {
	c := &clock{t: time.Unix(1_000_000, 0)}
	l, err := ratelimit.New([]ratelimit.Rule{
		{Route: "*", Per: ratelimit.PerAddress, Rate: 1, Burst: 3},
		{Route: "token", Per: ratelimit.PerAddress, Rate: 0.5, Burst: 1},
		{Route: "manifest", Per: ratelimit.PerPrincipal, Rate: 2, Burst: 2},
	}, ratelimit.WithClock(c.now))
	if err != nil {
		t.Fatal(err)
	}
	allowed := func(per ratelimit.Per, route, key string, n int) (ok int, retry time.Duration) {
		for range n {
			if a, r := l.Allow(per, route, key); a {
				ok++
			} else {
				retry = r
			}
		}
		return ok, retry
	}
	// The default rule: a burst of 3, then refused until a token is back.
	if ok, retry := allowed(ratelimit.PerAddress, "blob", "192.0.2.1", 5); ok != 3 || retry != time.Second {
		t.Errorf("blob from one address: %d allowed, retry %v; want 3, 1s", ok, retry)
	}
	// Another address has its own bucket; another route under "*" shares
	// the default rule's bucket of that address.
	if ok, _ := allowed(ratelimit.PerAddress, "blob", "192.0.2.2", 3); ok != 3 {
		t.Errorf("another address: %d allowed, want 3", ok)
	}
	if ok, _ := allowed(ratelimit.PerAddress, "tags", "192.0.2.1", 1); ok != 0 {
		t.Errorf("the default rule's bucket is per address, not per route: %d allowed", ok)
	}
	// A route's own rule: burst 1, one token every 2 s.
	if ok, retry := allowed(ratelimit.PerAddress, "token", "192.0.2.1", 2); ok != 1 || retry != 2*time.Second {
		t.Errorf("token: %d allowed, retry %v; want 1, 2s", ok, retry)
	}
	c.advance(2 * time.Second)
	if ok, _ := allowed(ratelimit.PerAddress, "token", "192.0.2.1", 2); ok != 1 {
		t.Errorf("token after 2s: %d allowed, want 1", ok)
	}
	// No principal rule for blobs: unlimited.
	if ok, _ := allowed(ratelimit.PerPrincipal, "blob", "alice", 100); ok != 100 {
		t.Errorf("principal without a rule: %d of 100 allowed", ok)
	}
	if ok, _ := allowed(ratelimit.PerPrincipal, "manifest", "alice", 4); ok != 2 {
		t.Errorf("principal manifest: %d allowed, want 2", ok)
	}
	if !l.Limits(ratelimit.PerPrincipal) || !l.Limits(ratelimit.PerAddress) {
		t.Error("Limits says a per has no rule")
	}
	var none *ratelimit.Limiter
	if ok, _ := none.Allow(ratelimit.PerAddress, "blob", "x"); !ok || none.Limits(ratelimit.PerAddress) {
		t.Error("a nil Limiter limits")
	}
}

// TestBoundedKeys: past WithMaxKeys, a new key is refused until buckets
// have refilled and are forgotten; the sweep runs at most once a second.
func TestBoundedKeys(t *testing.T) {
	c := &clock{t: time.Unix(1_000_000, 0)}
	l, err := ratelimit.New([]ratelimit.Rule{{Route: "*", Per: ratelimit.PerAddress, Rate: 10, Burst: 10}},
		ratelimit.WithClock(c.now), ratelimit.WithMaxKeys(3))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b", "c"} {
		if ok, _ := l.Allow(ratelimit.PerAddress, "blob", k); !ok {
			t.Fatalf("key %s refused", k)
		}
	}
	if ok, retry := l.Allow(ratelimit.PerAddress, "blob", "d"); ok || retry != time.Second {
		t.Errorf("a fourth key past the bound: %v, %v; want refused, 1s", ok, retry)
	}
	// Not yet a second since the last sweep: still refused, even though
	// the buckets have refilled by now.
	c.advance(500 * time.Millisecond)
	if ok, _ := l.Allow(ratelimit.PerAddress, "blob", "d"); ok {
		t.Error("swept twice within a second")
	}
	c.advance(600 * time.Millisecond)
	if ok, _ := l.Allow(ratelimit.PerAddress, "blob", "d"); !ok {
		t.Error("refilled buckets were not forgotten for a new key")
	}
}

func TestParseRules(t *testing.T) {
	rules, err := ratelimit.ParseRules(" *:address=100/200, token:address=0.5/5,manifest:principal=50/100,")
	if err != nil {
		t.Fatal(err)
	}
	want := []ratelimit.Rule{{"*", ratelimit.PerAddress, 100, 200}, {"token", ratelimit.PerAddress, 0.5, 5}, {"manifest", ratelimit.PerPrincipal, 50, 100}}
	if len(rules) != len(want) {
		t.Fatalf("%+v", rules)
	}
	for i := range want {
		if rules[i] != want[i] {
			t.Errorf("rule %d: %+v, want %+v", i, rules[i], want[i])
		}
	}
	for in, msg := range map[string]string{
		"token=5/20":              "want route:per=rate/burst",
		"token:host=5/20":         "per",
		"token:address=0/20":      "rate",
		"token:address=5/0":       "burst",
		"token:address=x/1":       "rate",
		"token:address=1/y":       "burst",
		":address=1/1":            "route",
		"token:address=+Inf/1":    "rate",
		"token:principal=NaN/100": "rate",
	} {
		if _, err := ratelimit.ParseRules(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseRules(%q): %v, want an error about %s", in, err, msg)
		}
	}
}

func TestAddressKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7:5000":             "192.0.2.7",
		"[::ffff:192.0.2.7]:1":       "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:443": "2001:db8:1:2::/64",
		"not an address":             "not an address",
		"2001:db8:1:2:3:4:5:6":       "2001:db8:1:2::/64",
	} {
		if got := ratelimit.AddressKey(in); got != want {
			t.Errorf("AddressKey(%q) = %q, want %q", in, got, want)
		}
	}
}
