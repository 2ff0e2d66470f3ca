package cosign

import (
	"fmt"

	"github.com/opencontainers/go-digest"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/berthreg/berth/trust"
)

// Verifier checks cosign signatures for package trust: with PEM public
// keys, and, given a trusted root, keyless. Make one with NewVerifier.
type Verifier struct {
	keyless *Keyless
}

// VerifierOption configures a Verifier made by NewVerifier.
type VerifierOption func(*verifierConfig)

type verifierConfig struct {
	root root.TrustedMaterial
}

// WithTrustedRoot checks keyless signatures against tr (see NewKeyless).
// Without it, projects can trust keys only.
func WithTrustedRoot(tr root.TrustedMaterial) VerifierOption {
	return func(c *verifierConfig) { c.root = tr }
}

// NewVerifier returns the verifier package trust takes.
func NewVerifier(opts ...VerifierOption) (*Verifier, error) {
	var c verifierConfig
	for _, o := range opts {
		o(&c)
	}
	v := &Verifier{}
	if c.root != nil {
		k, err := NewKeyless(c.root)
		if err != nil {
			return nil, err
		}
		v.keyless = k
	}
	return v, nil
}

// ReadTrustedRoot reads a Sigstore trusted root (trusted_root.json) from
// path.
func ReadTrustedRoot(path string) (*root.TrustedRoot, error) {
	tr, err := root.NewTrustedRootFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("cosign: trusted root %s: %w", path, err)
	}
	return tr, nil
}

// CheckKey reports why pemKey cannot be used.
func (v *Verifier) CheckKey(pemKey string) error {
	_, err := ParseKey(pemKey)
	return err
}

// CheckIdentity reports why id cannot be used: no trusted root, or an
// expression that does not compile.
func (v *Verifier) CheckIdentity(id trust.Identity) error {
	if v.keyless == nil {
		return ErrNoTrustedRoot
	}
	return CheckIdentity(id)
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

// VerifyLegacy checks a legacy signature: with a certificate, against
// by's identities (keyless), else against its keys.
func (v *Verifier) VerifyLegacy(sig trust.LegacySignature, d digest.Digest, by trust.Signers) error {
	if sig.Certificate == "" {
		return VerifyLegacy(sig.Payload, sig.Signature, d, parseAll(by.Keys))
	}
	return v.either(len(by.Keys) > 0,
		func() error { return VerifyLegacy(sig.Payload, sig.Signature, d, parseAll(by.Keys)) },
		func(k *Keyless) error { return k.VerifyLegacy(sig, d, by.Identities) })
}

// VerifyBundle checks a bundle: with a certificate, against by's
// identities (keyless), else against its keys.
func (v *Verifier) VerifyBundle(raw []byte, d digest.Digest, by trust.Signers) error {
	b, err := parseBundle(raw) // once, for either check
	if err != nil {
		return err
	}
	if !hasCertificate(b) {
		return verifyBundleKeys(b, d, parseAll(by.Keys))
	}
	return v.either(len(by.Keys) > 0,
		func() error { return verifyBundleKeys(b, d, parseAll(by.Keys)) },
		func(k *Keyless) error { return k.verifyBundle(b, d, by.Identities) })
}

// either checks a signature made with a certificate: keyless when a root
// is configured; with a key too, as cosign verify --key does (a signer's
// certificate may certify a key the project trusts).
func (v *Verifier) either(keys bool, withKey func() error, keyless func(*Keyless) error) error {
	var errKey error
	if keys {
		if errKey = withKey(); errKey == nil {
			return nil
		}
	}
	var errKeyless error
	if v.keyless == nil {
		errKeyless = fmt.Errorf("%w: it is signed keyless and no trusted root is configured", ErrUnverified)
	} else if errKeyless = keyless(v.keyless); errKeyless == nil {
		return nil
	}
	if errKey == nil {
		return errKeyless
	}
	return fmt.Errorf("%w; %v", errKeyless, errKey)
}

// hasCertificate reports whether a bundle's verification material is a
// certificate (keyless) rather than a key.
func hasCertificate(b *bundle.Bundle) bool {
	vc, err := b.VerificationContent()
	return err == nil && vc.Certificate() != nil
}
