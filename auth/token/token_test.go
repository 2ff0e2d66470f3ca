package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/berthreg/berth/auth"
)

func rsaKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ecKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func verifierFor(t *testing.T, iss *Issuer, audience string) *Verifier {
	t.Helper()
	kid, pub := iss.PublicKey()
	v, err := NewVerifier(iss.Name(), audience, map[string]crypto.PublicKey{kid: pub})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

var pullAB = []auth.Access{{Type: "repository", Name: "a/b", Actions: []string{"pull"}}}

func TestIssueAndVerify(t *testing.T) {
	for name, key := range map[string]crypto.Signer{"RS256": rsaKey(t), "ES256": ecKey(t)} {
		t.Run(name, func(t *testing.T) {
			iss, err := NewIssuer(key, "berth-token", 5*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := iss.Issue("alice", "berth-registry", pullAB)
			if err != nil {
				t.Fatal(err)
			}
			c, err := verifierFor(t, iss, "berth-registry").Verify(tok.Token)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.Subject != "alice" || !c.Allows(auth.Resource{Type: "repository", Name: "a/b"}, "pull") {
				t.Fatalf("claims %+v", c)
			}
			if c.Allows(auth.Resource{Type: "repository", Name: "a/b"}, "push") || c.Allows(auth.Resource{Type: "repository", Name: "a/c"}, "pull") {
				t.Fatal("claims allow more than was granted")
			}
			if alg := strings.Split(tok.Token, ".")[0]; !strings.Contains(decode(t, alg), `"alg":"`+name+`"`) || !strings.Contains(decode(t, alg), `"kid":"`) {
				t.Fatalf("header %s", decode(t, alg))
			}
		})
	}
}

func decode(t *testing.T, seg string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestVerifyRefuses checks every way a token must be refused.
func TestVerifyRefuses(t *testing.T) {
	key := rsaKey(t)
	iss, err := NewIssuer(key, "berth-token", 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	v := verifierFor(t, iss, "berth-registry")
	sign := func(m jwt.SigningMethod, k any, kid string, c Claims) string {
		tk := jwt.NewWithClaims(m, c)
		if kid != "" {
			tk.Header["kid"] = kid
		}
		s, err := tk.SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	kid, _ := iss.PublicKey()
	now := time.Now()
	good := Claims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer: "berth-token", Subject: "alice", Audience: jwt.ClaimStrings{"berth-registry"},
		ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute)), IssuedAt: jwt.NewNumericDate(now),
	}, Access: pullAB}
	if _, err := v.Verify(sign(jwt.SigningMethodRS256, key, kid, good)); err != nil {
		t.Fatalf("the control token is refused: %v", err)
	}
	with := func(f func(*Claims)) Claims { c := good; f(&c); return c }
	other := rsaKey(t)
	otherIss, _ := NewIssuer(other, "berth-token", time.Hour)
	otherTok, _ := otherIss.Issue("alice", "berth-registry", pullAB)
	parts := strings.Split(sign(jwt.SigningMethodRS256, key, kid, good), ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(
		`{"iss":"berth-token","sub":"alice","aud":"berth-registry","exp":`+
			jwt.NewNumericDate(now.Add(time.Hour)).String()+`,"access":[{"type":"repository","name":"a/b","actions":["push"]}]}`)) + "." + parts[2]
	cases := map[string]string{
		"signed with another key":         otherTok.Token,
		"another key under our kid":       sign(jwt.SigningMethodRS256, other, kid, good),
		"unknown kid":                     sign(jwt.SigningMethodRS256, key, "nope", good),
		"no kid":                          sign(jwt.SigningMethodRS256, key, "", good),
		"expired":                         sign(jwt.SigningMethodRS256, key, kid, with(func(c *Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Minute)) })),
		"no expiry":                       sign(jwt.SigningMethodRS256, key, kid, with(func(c *Claims) { c.ExpiresAt = nil })),
		"not yet valid":                   sign(jwt.SigningMethodRS256, key, kid, with(func(c *Claims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Hour)) })),
		"issued in the future":            sign(jwt.SigningMethodRS256, key, kid, with(func(c *Claims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Hour)) })),
		"another audience":                sign(jwt.SigningMethodRS256, key, kid, with(func(c *Claims) { c.Audience = jwt.ClaimStrings{"other-registry"} })),
		"another issuer":                  sign(jwt.SigningMethodRS256, key, kid, with(func(c *Claims) { c.Issuer = "evil" })),
		"alg none":                        sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid, good),
		"HS256 keyed with the public key": sign(jwt.SigningMethodHS256, []byte("public key bytes"), kid, good),
		"claims changed after signing":    tampered,
		"garbage":                         "not.a.token",
		"empty":                           "",
	}
	for name, tok := range cases {
		if c, err := v.Verify(tok); err == nil || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Verify = %+v, %v; want ErrInvalid", name, c, err)
		}
	}
}

func TestNewIssuerRefusesWeakKeys(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for name, k := range map[string]crypto.Signer{"RSA-1024": small, "P-384": p384} {
		if _, err := NewIssuer(k, "x", time.Hour); err == nil {
			t.Errorf("NewIssuer accepted a %s key", name)
		}
	}
	if _, err := NewIssuer(ecKey(t), "x", time.Second); err == nil {
		t.Error("NewIssuer accepted a one-second lifetime")
	}
}

// TestVerifierRemembersSignatures: a token verified once is accepted again
// without its signature being checked (its key is gone for the second
// Verify), but only the exact token, and only while it is valid.
func TestVerifierRemembersSignatures(t *testing.T) {
	iss, err := NewIssuer(ecKey(t), "berth-token", 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	v := verifierFor(t, iss, "berth-registry")
	tok, err := iss.Issue("alice", "berth-registry", pullAB)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(tok.Token); err != nil {
		t.Fatal(err)
	}
	keys := v.keys
	v.keys = map[string]crypto.PublicKey{} // no signature can be checked now
	c, err := v.Verify(tok.Token)
	if err != nil || c.Subject != "alice" || len(c.Access) != 1 {
		t.Fatalf("the verified token again: %+v, %v", c, err)
	}
	other, _ := iss.Issue("alice", "berth-registry", pullAB)
	if _, err := v.Verify(other.Token); !errors.Is(err, ErrInvalid) {
		t.Errorf("another token was not checked: %v", err)
	}
	tampered := tok.Token[:len(tok.Token)-4] + "AAAA"
	if _, err := v.Verify(tampered); !errors.Is(err, ErrInvalid) {
		t.Errorf("a tampered copy: %v", err)
	}
	v.keys = keys
	v.now = func() time.Time { return time.Now().Add(10 * time.Minute) }
	if _, err := v.Verify(tok.Token); !errors.Is(err, ErrInvalid) {
		t.Errorf("a remembered token after its expiry: %v", err)
	}
}
