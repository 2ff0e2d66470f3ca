package cosign

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/berthreg/berth/trust"
)

// The media types of cosign's two signature forms (package trust's).
const (
	// SimpleSigningType is the layer of a legacy signature manifest (the
	// "sha256-<hex>.sig" tag): the signed payload, its signature in the
	// layer's SignatureAnnotation.
	SimpleSigningType = trust.SimpleSigningType
	// SignatureAnnotation holds a legacy signature, base64.
	SignatureAnnotation = trust.SignatureAnnotation
	// BundleType is the artifact type of a Sigstore bundle attached as an
	// OCI referrer (cosign v3), and of its layer.
	BundleType = trust.BundleType
)

// ErrUnverified reports a signature that does not verify with any key.
var ErrUnverified = errors.New("cosign: signature does not verify")

// Key is a public key signatures are checked with.
type Key struct {
	verifier signature.Verifier
}

// ParseKey reads a PEM public key: ECDSA, RSA or Ed25519, as cosign's
// generate-key-pair and KMS exports write them.
func ParseKey(pemKey string) (Key, error) {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey([]byte(pemKey))
	if err != nil {
		return Key{}, fmt.Errorf("cosign: not a PEM public key: %w", err)
	}
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return Key{}, fmt.Errorf("cosign: unusable public key: %w", err)
	}
	return Key{verifier: v}, nil
}

// simpleSigning is the part of cosign's signed payload that says what was
// signed.
type simpleSigning struct {
	Critical struct {
		Image struct {
			Digest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
}

// payloadNames checks that a legacy signature's payload is about
// manifest d.
func payloadNames(payload []byte, d digest.Digest) error {
	var p simpleSigning
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("%w: the payload is not cosign's: %v", ErrUnverified, err)
	}
	if p.Critical.Image.Digest != d.String() {
		return fmt.Errorf("%w: it signs %q, not %s", ErrUnverified, p.Critical.Image.Digest, d)
	}
	return nil
}

// VerifyLegacy checks a legacy cosign signature of manifest d: payload
// is the simple-signing layer's bytes and sig its SignatureAnnotation.
// It verifies when sig is a signature of payload by one of keys and the
// payload names d.
func VerifyLegacy(payload []byte, sig string, d digest.Digest, keys []Key) error {
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return fmt.Errorf("%w: the signature is not base64", ErrUnverified)
	}
	if err := payloadNames(payload, d); err != nil {
		return err
	}
	for _, k := range keys {
		if k.verifier.VerifySignature(bytes.NewReader(raw), bytes.NewReader(payload)) == nil {
			return nil
		}
	}
	return fmt.Errorf("%w with the project's keys", ErrUnverified)
}

// VerifyBundle checks a Sigstore bundle (cosign v3's signature of
// manifest d, attached as a referrer) with sigstore-go: it verifies when
// one of keys signed it and it is about d. Bundles signed with keys carry
// no transparency-log entry or timestamp when signed offline, and none is
// required.
func VerifyBundle(bundleJSON []byte, d digest.Digest, keys []Key) error {
	b, err := parseBundle(bundleJSON)
	if err != nil {
		return err
	}
	return verifyBundleKeys(b, d, keys)
}

// verifyBundleKeys is VerifyBundle of a parsed bundle.
func verifyBundleKeys(b *bundle.Bundle, d digest.Digest, keys []Key) error {
	want, err := digestBytes(d)
	if err != nil {
		return err
	}
	policy := verify.NewPolicy(verify.WithArtifactDigest(d.Algorithm().String(), want), verify.WithKey())
	var last error
	for _, k := range keys {
		key := root.NewExpiringKey(k.verifier, time.Time{}, time.Time{}) // no validity bounds
		material := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) { return key, nil })
		v, err := verify.NewVerifier(material, verify.WithNoObserverTimestamps())
		if err != nil {
			return err
		}
		if _, last = v.Verify(b, policy); last == nil {
			return nil
		}
	}
	if last == nil {
		return fmt.Errorf("%w: no key to check it with", ErrUnverified)
	}
	return fmt.Errorf("%w with the project's keys: %v", ErrUnverified, last)
}

func digestBytes(d digest.Digest) ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnverified, err)
	}
	return hex.DecodeString(d.Encoded())
}
