package cosign

import (
	"github.com/opencontainers/go-digest"
)

// Verifier checks cosign signatures with PEM public keys: the verifier
// package trust takes.
type Verifier struct{}

// CheckKey reports why pemKey cannot be used.
func (Verifier) CheckKey(pemKey string) error {
	_, err := ParseKey(pemKey)
	return err
}

func parseAll(keys []string) []Key {
	out := make([]Key, 0, len(keys))
	for _, k := range keys {
		if key, err := ParseKey(k); err == nil {
			out = append(out, key)
		}
	}
	return out
}

// VerifyLegacy is VerifyLegacy with PEM keys.
func (Verifier) VerifyLegacy(payload []byte, sig string, d digest.Digest, keys []string) error {
	return VerifyLegacy(payload, sig, d, parseAll(keys))
}

// VerifyBundle is VerifyBundle with PEM keys.
func (Verifier) VerifyBundle(bundle []byte, d digest.Digest, keys []string) error {
	return VerifyBundle(bundle, d, parseAll(keys))
}
