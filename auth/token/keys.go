package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// KeyID derives the kid of a public key: the unpadded base64url SHA-256 of
// its PKIX encoding, so issuer and verifier agree without configuration.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("token: key id: %w", err)
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// methodFor picks the JWT algorithm of a key: RS256 for RSA (2048 bits or
// more), ES256 for ECDSA P-256.
func methodFor(pub crypto.PublicKey) (jwt.SigningMethod, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("token: RSA key of %d bits; at least 2048 needed", k.N.BitLen())
		}
		return jwt.SigningMethodRS256, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, errors.New("token: ECDSA keys must use P-256 (ES256)")
		}
		return jwt.SigningMethodES256, nil
	}
	return nil, fmt.Errorf("token: unsupported key type %T (want RSA or ECDSA P-256)", pub)
}
