package ratelimit

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Per says whose requests a rule counts together.
type Per string

// The keys a rule counts by.
const (
	// PerAddress counts by client address (an IPv6 client by its /64).
	PerAddress Per = "address"
	// PerPrincipal counts by authenticated principal.
	PerPrincipal Per = "principal"
)

// Rule limits the requests of one route class, per address or per
// principal: Rate a second on average, Burst at once.
type Rule struct {
	// Route is the route class the rule applies to, or "*" for every
	// class without a rule of its own (for the same Per).
	Route string `yaml:"route"`
	// Per is address or principal.
	Per Per `yaml:"per"`
	// Rate is the requests a second a key may send on average.
	Rate float64 `yaml:"rate"`
	// Burst is the requests a key may send at once (at least 1).
	Burst int `yaml:"burst"`
}

// Validate checks r; the error names the field.
func (r Rule) Validate() error {
	switch {
	case r.Route == "":
		return errors.New("route must not be empty (a route class, or *)")
	case r.Per != PerAddress && r.Per != PerPrincipal:
		return fmt.Errorf("per %q must be address or principal", r.Per)
	case r.Rate <= 0 || math.IsInf(r.Rate, 0) || math.IsNaN(r.Rate):
		return fmt.Errorf("rate %v must be a positive number of requests a second", r.Rate)
	case r.Burst < 1:
		return fmt.Errorf("burst %d must be at least 1", r.Burst)
	}
	return nil
}

// ParseRules reads rules written as comma-separated
// route:per=rate/burst items, e.g.
// "*:address=100/200,token:address=5/20,manifest:principal=50/100".
func ParseRules(s string) ([]Rule, error) {
	var rules []Rule
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		route, rest, ok1 := strings.Cut(item, ":")
		per, limit, ok2 := strings.Cut(rest, "=")
		rateText, burstText, ok3 := strings.Cut(limit, "/")
		if !ok1 || !ok2 || !ok3 {
			return nil, fmt.Errorf("rate limit %q: want route:per=rate/burst", item)
		}
		r := Rule{Route: strings.TrimSpace(route), Per: Per(strings.TrimSpace(per))}
		var err error
		if r.Rate, err = strconv.ParseFloat(strings.TrimSpace(rateText), 64); err != nil {
			return nil, fmt.Errorf("rate limit %q: rate: %w", item, err)
		}
		if r.Burst, err = strconv.Atoi(strings.TrimSpace(burstText)); err != nil {
			return nil, fmt.Errorf("rate limit %q: burst: %w", item, err)
		}
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("rate limit %q: %w", item, err)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// DefaultMaxKeys is how many buckets a Limiter keeps at most by default.
const DefaultMaxKeys = 100_000

// Limiter applies rules; make it with New. It is safe for concurrent
// use.
type Limiter struct {
	rules   map[Per]map[string]Rule // by per, then route ("*": the default)
	maxKeys int
	now     func() time.Time

	mu      sync.Mutex
	buckets map[bucketKey]*bucket
	swept   time.Time // when forgetRefilled last ran
}

// bucketKey names one bucket: a rule (per and route) and a key.
type bucketKey struct {
	per   Per
	route string
	key   string
}

// bucket is one key's tokens and when it was last used.
type bucket struct {
	limiter *rate.Limiter
	used    time.Time
}

// Option configures a Limiter.
type Option func(*Limiter)

// WithMaxKeys bounds the buckets kept (default DefaultMaxKeys).
func WithMaxKeys(n int) Option { return func(l *Limiter) { l.maxKeys = n } }

// WithClock replaces time.Now (for tests).
func WithClock(now func() time.Time) Option { return func(l *Limiter) { l.now = now } }

// New returns a Limiter applying rules; a later rule for the same route
// and per replaces an earlier one. An invalid rule is an error.
func New(rules []Rule, opts ...Option) (*Limiter, error) {
	l := &Limiter{rules: map[Per]map[string]Rule{}, maxKeys: DefaultMaxKeys, now: time.Now, buckets: map[bucketKey]*bucket{}}
	for _, o := range opts {
		o(l)
	}
	for i, r := range rules {
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("rate limit %d: %w", i+1, err)
		}
		if l.rules[r.Per] == nil {
			l.rules[r.Per] = map[string]Rule{}
		}
		l.rules[r.Per][r.Route] = r
	}
	return l, nil
}

// Limits reports whether any rule counts per.
func (l *Limiter) Limits(per Per) bool { return l != nil && len(l.rules[per]) > 0 }

// Allow takes a token from the bucket of key under the rule for route
// and per: ok, or how long until a token is back. Without a rule for
// route (nor "*"), every request is allowed.
func (l *Limiter) Allow(per Per, route, key string) (ok bool, retryAfter time.Duration) {
	if l == nil {
		return true, 0
	}
	r, found := l.rules[per][route]
	if !found {
		if r, found = l.rules[per]["*"]; !found {
			return true, 0
		}
	}
	now := l.now()
	k := bucketKey{per: per, route: r.Route, key: key}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[k]
	if b == nil {
		if len(l.buckets) >= l.maxKeys {
			// At most once a second: a flood of new keys must not
			// make every request walk every bucket.
			if now.Sub(l.swept) >= time.Second {
				l.swept = now
				l.forgetRefilled(now)
			}
			if len(l.buckets) >= l.maxKeys {
				return false, time.Second
			}
		}
		b = &bucket{limiter: rate.NewLimiter(rate.Limit(r.Rate), r.Burst)}
		l.buckets[k] = b
	}
	b.used = now
	if b.limiter.AllowN(now, 1) {
		return true, 0
	}
	wait := b.limiter.ReserveN(now, 1)
	d := wait.DelayFrom(now)
	wait.CancelAt(now)
	return false, max(d, time.Second)
}

// forgetRefilled drops the buckets that have refilled since last used:
// they hold what a new bucket would.
func (l *Limiter) forgetRefilled(now time.Time) {
	for k, b := range l.buckets {
		if b.limiter.TokensAt(now) >= float64(b.limiter.Burst()) {
			delete(l.buckets, k)
		}
	}
}

// AddressKey is the key PerAddress rules count remoteAddr (an
// http.Request's RemoteAddr) under: its IP address, or the /64 of an
// IPv6 address.
func AddressKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}
