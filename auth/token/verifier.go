package token

import (
	"crypto"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ErrInvalid wraps every reason Verify refuses a token.
var ErrInvalid = errors.New("token: invalid")

// Verifier checks tokens for one registry service. It remembers the
// tokens whose signatures it verified (at most verifiedCacheSize, each
// until it expires), so a client presenting its token on every request
// pays the signature check once: a hit is the exact token verified, and
// its validity period, issuer and audience are checked again.
type Verifier struct {
	keys      map[string]crypto.PublicKey
	issuer    string
	audience  string
	parser    *jwt.Parser
	validator *jwt.Validator

	mu       sync.Mutex
	verified map[[sha256.Size]byte]*Claims

	now func() time.Time // for tests; time.Now when nil
}

func (v *Verifier) clock() time.Time {
	if v.now != nil {
		return v.now()
	}
	return time.Now()
}

// verifiedCacheSize bounds the tokens a Verifier remembers.
const verifiedCacheSize = 4096

// NewVerifier returns a Verifier accepting tokens signed by one of keys
// (by kid, see KeyID), issued by issuer for audience. Clocks may differ by
// up to 30 seconds.
func NewVerifier(issuer, audience string, keys map[string]crypto.PublicKey) (*Verifier, error) {
	if issuer == "" || audience == "" || len(keys) == 0 {
		return nil, errors.New("token: NewVerifier needs an issuer, an audience and at least one key")
	}
	for kid, k := range keys {
		if _, err := methodFor(k); err != nil {
			return nil, fmt.Errorf("token: key %s: %w", kid, err)
		}
	}
	v := &Verifier{keys: keys, issuer: issuer, audience: audience, verified: map[[sha256.Size]byte]*Claims{}}
	checks := []jwt.ParserOption{
		jwt.WithTimeFunc(func() time.Time { return v.clock() }),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(30 * time.Second),
	}
	v.parser = jwt.NewParser(append(checks, jwt.WithValidMethods([]string{"RS256", "ES256"}))...)
	v.validator = jwt.NewValidator(checks...)
	return v, nil
}

// remembered returns the claims of token id if its signature was verified
// before and they are still valid now.
func (v *Verifier) remembered(id [sha256.Size]byte) (*Claims, bool) {
	v.mu.Lock()
	c, ok := v.verified[id]
	v.mu.Unlock()
	if !ok {
		return nil, false
	}
	if v.validator.Validate(c) != nil {
		v.mu.Lock()
		delete(v.verified, id)
		v.mu.Unlock()
		return nil, false
	}
	cp := *c
	return &cp, true
}

// remember keeps the claims of verified token id, making room by
// dropping expired entries, then arbitrary ones.
func (v *Verifier) remember(id [sha256.Size]byte, c *Claims) {
	cp := *c
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.verified) >= verifiedCacheSize {
		for k, old := range v.verified {
			if v.validator.Validate(old) != nil {
				delete(v.verified, k)
			}
		}
		for k := range v.verified {
			if len(v.verified) < verifiedCacheSize {
				break
			}
			delete(v.verified, k)
		}
	}
	v.verified[id] = &cp
}

// Verify checks the token's signature, kid, algorithm, issuer, audience and
// validity period and returns its claims.
func (v *Verifier) Verify(s string) (*Claims, error) {
	id := sha256.Sum256([]byte(s))
	if c, ok := v.remembered(id); ok {
		return c, nil
	}
	c := &Claims{}
	_, err := v.parser.ParseWithClaims(s, c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, ok := v.keys[kid]
		if !ok {
			return nil, fmt.Errorf("unknown key id %q", kid)
		}
		if m, err := methodFor(k); err != nil || m.Alg() != t.Method.Alg() {
			return nil, fmt.Errorf("algorithm %s does not match key %s", t.Method.Alg(), kid)
		}
		return k, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	v.remember(id, c)
	return c, nil
}
