package session

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// replay sends the cookies w set back on a new request.
func replay(w *httptest.ResponseRecorder) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	for _, c := range w.Result().Cookies() {
		r.AddCookie(c)
	}
	return r
}

func TestSessions(t *testing.T) {
	now := time.Now()
	s := newSessions(t, testKey, WithLifetime(time.Hour), withClock(func() time.Time { return now }))
	w := httptest.NewRecorder()
	if err := s.Start(w, SignIn{Account: "alice", Source: "local"}); err != nil {
		t.Fatal(err)
	}
	c := w.Result().Cookies()[0]
	if c.Name != DefaultCookie || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.MaxAge != 3600 || c.Path != "/" {
		t.Errorf("cookie %+v", c)
	}
	r := replay(w)
	if got, err := s.Current(r); err != nil || got != (SignIn{Account: "alice", Source: "local"}) {
		t.Fatalf("Current = %+v, %v", got, err)
	}

	// Refusals.
	other := newSessions(t, []byte("another key of thirty-two bytes!"), withClock(s.now))
	if _, err := other.Current(r); !errors.Is(err, ErrNoSession) {
		t.Errorf("another key: %v", err)
	}
	tampered := httptest.NewRequest("GET", "/", nil)
	parts := strings.Split(c.Value, ".")
	payload := []byte(parts[1])
	payload[len(payload)/2] ^= 1
	tampered.AddCookie(&http.Cookie{Name: c.Name, Value: parts[0] + "." + string(payload) + "." + parts[2]})
	if _, err := s.Current(tampered); !errors.Is(err, ErrNoSession) {
		t.Errorf("a tampered cookie: %v", err)
	}
	unsigned, _ := jwt.NewWithClaims(jwt.SigningMethodNone, sealed{
		RegisteredClaims: jwt.RegisteredClaims{Audience: jwt.ClaimStrings{purposeSession}, ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))},
		Data:             map[string]string{"account": "admin"},
	}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	forged := httptest.NewRequest("GET", "/", nil)
	forged.AddCookie(&http.Cookie{Name: DefaultCookie, Value: unsigned})
	if _, err := s.Current(forged); !errors.Is(err, ErrNoSession) {
		t.Errorf("an unsigned cookie: %v", err)
	}
	w2 := httptest.NewRecorder()
	if err := s.Seal(w2, DefaultCookie, "oidc-login", map[string]string{"account": "alice"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Current(replay(w2)); !errors.Is(err, ErrNoSession) {
		t.Errorf("a cookie sealed for another purpose: %v", err)
	}
	if _, err := s.Current(httptest.NewRequest("GET", "/", nil)); !errors.Is(err, ErrNoSession) {
		t.Errorf("no cookie: %v", err)
	}
	now = now.Add(time.Hour + time.Second)
	if _, err := s.Current(r); !errors.Is(err, ErrNoSession) {
		t.Errorf("an expired session: %v", err)
	}

	w3 := httptest.NewRecorder()
	s.End(w3)
	if c := w3.Result().Cookies()[0]; c.Name != DefaultCookie || c.MaxAge >= 0 || c.Value != "" {
		t.Errorf("End's cookie %+v", c)
	}
	if _, err := New([]byte("short")); err == nil {
		t.Error("a short key was accepted")
	}
	if _, err := New(testKey, WithLifetime(-time.Second)); err == nil || !strings.Contains(err.Error(), "WithLifetime") {
		t.Errorf("a negative lifetime: %v, want an error naming WithLifetime", err)
	}
}

// FuzzAccount: no cookie value opens a session unless it is the exact one
// Start set; none panics.
func FuzzAccount(f *testing.F) {
	// A fixed time: the fuzzing workers are other processes, and each must
	// seal the very cookie the seed corpus holds (a clock read in each
	// made them differ whenever a second ticked between them).
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newSessions(f, testKey, withClock(func() time.Time { return now }))
	w := httptest.NewRecorder()
	if err := s.Start(w, SignIn{Account: "alice", Source: "local"}); err != nil {
		f.Fatal(err)
	}
	valid := w.Result().Cookies()[0].Value
	f.Add(valid)
	f.Add("")
	f.Add("a.b.c")
	f.Add(valid[:len(valid)-2])
	f.Fuzz(func(t *testing.T, value string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", DefaultCookie+"="+value)
		in, err := s.Current(r)
		if err != nil {
			return
		}
		// The cookie parser may unquote the value; what it hands over must
		// be the sealed value itself.
		if c, _ := r.Cookie(DefaultCookie); in.Account != "alice" || c.Value != valid {
			t.Fatalf("cookie %q opened a session for %q", value, in.Account)
		}
	})
}

func newSessions(t testing.TB, key []byte, opts ...Option) *Sessions {
	t.Helper()
	s, err := New(key, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSharedKey: two Sessions made with the same generated key (two
// instances behind one address) accept each other's cookies; a key
// shorter than MinKeySize is refused; generated keys differ.
func TestSharedKey(t *testing.T) {
	key := GenerateKey()
	if len(key) != MinKeySize {
		t.Fatalf("GenerateKey: %d bytes", len(key))
	}
	if string(GenerateKey()) == string(key) {
		t.Fatal("GenerateKey gave the same key twice")
	}
	a, b := newSessions(t, key), newSessions(t, key)
	w := httptest.NewRecorder()
	if err := a.Start(w, SignIn{Account: "alice", Source: "local", ID: "s1"}); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Current(replay(w)); err != nil || got.Account != "alice" {
		t.Fatalf("A's cookie on B: %+v, %v", got, err)
	}
	if _, err := New(key[:MinKeySize-1]); err == nil {
		t.Error("New accepted a short key")
	}
}
