package token

import (
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/berthreg/berth/auth"
)

// MaxTokenBytes is the largest token Issue signs: clients send it back in
// a header on every registry request. Tokens within auth.MaxScopes
// resources of ordinary names are a few kilobytes.
const MaxTokenBytes = 64 << 10

// ErrTokenTooLarge is returned by Issue for a token beyond MaxTokenBytes.
var ErrTokenTooLarge = errors.New("token: too large")

// Issuer signs registry tokens with one key.
type Issuer struct {
	key      crypto.Signer
	method   jwt.SigningMethod
	kid      string
	name     string
	lifetime time.Duration
	now      func() time.Time
}

// NewIssuer returns an Issuer that signs with key (RSA of at least 2048 bits
// for RS256, or ECDSA P-256 for ES256) as issuer name, for tokens valid for
// lifetime.
func NewIssuer(key crypto.Signer, name string, lifetime time.Duration) (*Issuer, error) {
	if key == nil {
		return nil, errors.New("token: NewIssuer: nil key")
	}
	if name == "" {
		return nil, errors.New("token: NewIssuer: empty issuer name")
	}
	if lifetime < time.Minute {
		return nil, fmt.Errorf("token: NewIssuer: lifetime %v is under a minute", lifetime)
	}
	m, err := methodFor(key.Public())
	if err != nil {
		return nil, err
	}
	kid, err := KeyID(key.Public())
	if err != nil {
		return nil, err
	}
	return &Issuer{key: key, method: m, kid: kid, name: name, lifetime: lifetime, now: time.Now}, nil
}

// PublicKey returns the verification key and its kid.
func (i *Issuer) PublicKey() (string, crypto.PublicKey) { return i.kid, i.key.Public() }

// Name returns the issuer name tokens carry in "iss".
func (i *Issuer) Name() string { return i.name }

// Issued is a signed token and its validity.
type Issued struct {
	// Token is the compact JWT.
	Token string
	// IssuedAt is when it was issued.
	IssuedAt time.Time
	// ExpiresIn is how long it is valid.
	ExpiresIn time.Duration
}

// Issue signs a token for subject (the account name, "" for anonymous)
// valid for audience (the registry's service name) granting access.
func (i *Issuer) Issue(subject, audience string, access []auth.Access) (Issued, error) {
	now := i.now().Truncate(time.Second)
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	if access == nil {
		access = []auth.Access{}
	}
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    i.name,
			Subject:   subject,
			Audience:  jwt.ClaimStrings{audience},
			ExpiresAt: jwt.NewNumericDate(now.Add(i.lifetime)),
			NotBefore: jwt.NewNumericDate(now.Add(-time.Second)),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        hex.EncodeToString(jti[:]),
		},
		Access: access,
	}
	// Check the size before signing: the claims' JSON, base64url-encoded,
	// is most of the token.
	payload, err := json.Marshal(c)
	if err != nil {
		return Issued{}, fmt.Errorf("token: encode claims: %w", err)
	}
	if n := base64.RawURLEncoding.EncodedLen(len(payload)); n > MaxTokenBytes {
		return Issued{}, fmt.Errorf("%w: its claims alone are %d bytes encoded, at most %d", ErrTokenTooLarge, n, MaxTokenBytes)
	}
	t := jwt.NewWithClaims(i.method, c)
	t.Header["kid"] = i.kid
	s, err := t.SignedString(i.key)
	if err != nil {
		return Issued{}, fmt.Errorf("token: sign: %w", err)
	}
	if len(s) > MaxTokenBytes {
		return Issued{}, fmt.Errorf("%w: %d bytes, at most %d", ErrTokenTooLarge, len(s), MaxTokenBytes)
	}
	return Issued{Token: s, IssuedAt: now, ExpiresIn: i.lifetime}, nil
}
