package token

import (
	"crypto"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ErrInvalid wraps every reason Verify refuses a token.
var ErrInvalid = errors.New("token: invalid")

// Verifier checks tokens for one registry service.
type Verifier struct {
	keys     map[string]crypto.PublicKey
	issuer   string
	audience string
	parser   *jwt.Parser
}

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
	return &Verifier{
		keys: keys, issuer: issuer, audience: audience,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{"RS256", "ES256"}),
			jwt.WithIssuer(issuer),
			jwt.WithAudience(audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(30*time.Second),
		),
	}, nil
}

// Verify checks the token's signature, kid, algorithm, issuer, audience and
// validity period and returns its claims.
func (v *Verifier) Verify(s string) (*Claims, error) {
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
	return c, nil
}
