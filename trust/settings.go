package trust

import (
	"errors"
	"fmt"
	"time"

	"github.com/berthreg/berth/meta"
)

// MaxKeys bounds the public keys a project trusts.
const MaxKeys = 16

// Settings are a project's content trust settings.
type Settings struct {
	// Project is the project's name.
	Project string `json:"project"`
	// Enabled lets only manifests with a verified signature be pulled.
	Enabled bool `json:"enabled"`
	// Keys are the PEM public keys (ECDSA, RSA, Ed25519) a signature must
	// verify with, one of them.
	Keys []string `json:"keys,omitempty"`
	// Identities are the keyless signers (a certificate from the
	// operator's trusted root naming one of them) a signature may come
	// from instead.
	Identities []Identity `json:"identities,omitempty"`
	// UpdatedAt is when they were last set.
	UpdatedAt time.Time `json:"updatedAt"`
}

// Errors of the settings methods.
var (
	// ErrInvalid reports settings that fail their checks.
	ErrInvalid = errors.New("trust: invalid settings")
	// ErrNotFound reports a missing project.
	ErrNotFound = errors.New("trust: not found")
)

// check reports what is wrong with s, naming the field; v checks keys
// and identities.
func (s Settings) check(v Verifier) error {
	switch {
	case len(s.Keys) > MaxKeys:
		return fmt.Errorf("%w: keys: %d, at most %d", ErrInvalid, len(s.Keys), MaxKeys)
	case len(s.Identities) > MaxIdentities:
		return fmt.Errorf("%w: identities: %d, at most %d", ErrInvalid, len(s.Identities), MaxIdentities)
	case s.Enabled && len(s.Keys) == 0 && len(s.Identities) == 0:
		return fmt.Errorf("%w: keys: content trust needs at least one public key or identity", ErrInvalid)
	}
	for i, id := range s.Identities {
		if err := id.check(); err != nil {
			return fmt.Errorf("%w: identities[%d].%v", ErrInvalid, i, err)
		}
		if err := v.CheckIdentity(id); err != nil {
			return fmt.Errorf("%w: identities[%d]: %v", ErrInvalid, i, err)
		}
	}
	for i, k := range s.Keys {
		if len(k) > 16<<10 {
			return fmt.Errorf("%w: keys[%d]: longer than 16 KiB", ErrInvalid, i)
		}
		if err := v.CheckKey(k); err != nil {
			return fmt.Errorf("%w: keys[%d]: %v", ErrInvalid, i, err)
		}
	}
	return nil
}

// settings are the stored settings, one record per project.
var settings = meta.RecordType[Settings]{Kind: "trustSettings", Key: func(s Settings) string { return s.Project }}
