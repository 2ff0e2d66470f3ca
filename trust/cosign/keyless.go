package cosign

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/opencontainers/go-digest"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/berthreg/berth/trust"
)

// ErrNoTrustedRoot reports a keyless identity with no trusted root to
// check its certificates with.
var ErrNoTrustedRoot = errors.New("cosign: keyless identities need a trusted root (none is configured)")

// Keyless checks keyless signatures: a signature made with a certificate
// that chains to a certificate authority of a trusted root, naming an
// identity. Make one with NewKeyless.
type Keyless struct {
	verifier *verify.Verifier
}

// NewKeyless returns the keyless checks against tr, a Sigstore trusted
// root the operator provides (the trusted_root.json cosign's
// --trusted-root reads; "cosign trusted-root create" makes one for a
// private certificate authority). Nothing is fetched: what tr lists, a
// signature must carry. With certificate transparency logs, a signed
// certificate timestamp; with transparency logs, an entry in one, whose
// time the certificate must have been valid at; with only timestamp
// authorities, a signed timestamp. With none of them (a private
// certificate authority alone), the certificate must be valid now.
func NewKeyless(tr root.TrustedMaterial) (*Keyless, error) {
	if tr == nil || len(tr.FulcioCertificateAuthorities()) == 0 {
		return nil, errors.New("cosign: the trusted root has no certificate authority")
	}
	var opts []verify.VerifierOption
	if len(tr.CTLogs()) > 0 {
		opts = append(opts, verify.WithSignedCertificateTimestamps(1))
	}
	if len(tr.RekorLogs()) > 0 {
		opts = append(opts, verify.WithTransparencyLog(1))
	}
	if len(tr.RekorLogs()) > 0 || len(tr.TimestampingAuthorities()) > 0 {
		opts = append(opts, verify.WithObserverTimestamps(1))
	} else {
		opts = append(opts, verify.WithCurrentTime())
	}
	v, err := verify.NewVerifier(tr, opts...)
	if err != nil {
		return nil, fmt.Errorf("cosign: the trusted root: %w", err)
	}
	return &Keyless{verifier: v}, nil
}

// CheckIdentity reports why id cannot be used.
func CheckIdentity(id trust.Identity) error {
	_, err := certificateIdentity(id)
	return err
}

// certificateIdentity is id as sigstore-go matches it; a subject
// expression is anchored.
func certificateIdentity(id trust.Identity) (verify.CertificateIdentity, error) {
	expr := id.SubjectRegExp
	if expr != "" {
		if _, err := regexp.Compile(expr); err != nil {
			return verify.CertificateIdentity{}, fmt.Errorf("subjectRegExp: %w", err)
		}
		expr = "^(?:" + expr + ")$"
	}
	ci, err := verify.NewShortCertificateIdentity(id.Issuer, "", id.Subject, expr)
	if err != nil {
		return ci, fmt.Errorf("cosign: identity: %w", err)
	}
	return ci, nil
}

// verify checks entity, about artifact, against ids.
func (k *Keyless) verify(entity verify.SignedEntity, artifact verify.ArtifactPolicyOption, ids []trust.Identity) error {
	if len(ids) == 0 {
		return fmt.Errorf("%w: it is signed keyless and the project trusts no identity", ErrUnverified)
	}
	opts := make([]verify.PolicyOption, 0, len(ids))
	for _, id := range ids {
		ci, err := certificateIdentity(id)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrUnverified, err)
		}
		opts = append(opts, verify.WithCertificateIdentity(ci))
	}
	if _, err := k.verifier.Verify(entity, verify.NewPolicy(artifact, opts...)); err != nil {
		return fmt.Errorf("%w with the project's identities: %v", ErrUnverified, err)
	}
	return nil
}

// VerifyBundle checks a keyless Sigstore bundle (cosign v3's signature of
// manifest d, attached as a referrer): it verifies when its certificate
// chains to the trusted root, names one of ids, and the bundle is about
// d.
func (k *Keyless) VerifyBundle(bundleJSON []byte, d digest.Digest, ids []trust.Identity) error {
	b, err := parseBundle(bundleJSON)
	if err != nil {
		return err
	}
	return k.verifyBundle(b, d, ids)
}

// verifyBundle is VerifyBundle of a parsed bundle.
func (k *Keyless) verifyBundle(b *bundle.Bundle, d digest.Digest, ids []trust.Identity) error {
	want, err := digestBytes(d)
	if err != nil {
		return err
	}
	return k.verify(b, verify.WithArtifactDigest(d.Algorithm().String(), want), ids)
}

// parseBundle reads a bundle as cosign writes it: a v0.3 bundle of cosign
// signing with a certificate of its own lists it as a chain.
func parseBundle(bundleJSON []byte) (*bundle.Bundle, error) {
	var b bundle.Bundle
	bundle.AllowCertificateChain()(&b)
	if err := b.UnmarshalJSON(bundleJSON); err != nil {
		return nil, fmt.Errorf("%w: not a Sigstore bundle: %v", ErrUnverified, err)
	}
	return &b, nil
}

// VerifyLegacy checks a keyless legacy signature of manifest d: it
// verifies when its certificate chains to the trusted root and names one
// of ids, it signs the payload, the payload names d, and (when the
// trusted root lists transparency logs) its inclusion promise holds.
func (k *Keyless) VerifyLegacy(sig trust.LegacySignature, d digest.Digest, ids []trust.Identity) error {
	if err := payloadNames(sig.Payload, d); err != nil {
		return err
	}
	entity, err := legacyEntity(sig)
	if err != nil {
		return err
	}
	return k.verify(entity, verify.WithArtifact(bytes.NewReader(sig.Payload)), ids)
}

// legacyBundleType is the bundle version a legacy signature is read as:
// the one whose transparency log entries carry an inclusion promise, as
// cosign's legacy annotation does.
const legacyBundleType = "application/vnd.dev.sigstore.bundle+json;version=0.1"

// legacyEntity is sig as a Sigstore bundle: a message signature of the
// payload, its certificate, and its transparency log entry.
func legacyEntity(sig trust.LegacySignature) (*bundle.Bundle, error) {
	raw, err := base64.StdEncoding.DecodeString(sig.Signature)
	if err != nil {
		return nil, fmt.Errorf("%w: the signature is not base64", ErrUnverified)
	}
	certs, err := cryptoutils.UnmarshalCertificatesFromPEM([]byte(sig.Certificate))
	if err != nil || len(certs) == 0 {
		return nil, fmt.Errorf("%w: its certificate is not PEM", ErrUnverified)
	}
	sum := sha256.Sum256(sig.Payload)
	material := &protobundle.VerificationMaterial{
		Content: &protobundle.VerificationMaterial_X509CertificateChain{X509CertificateChain: &protocommon.X509CertificateChain{
			Certificates: []*protocommon.X509Certificate{{RawBytes: certs[0].Raw}},
		}},
	}
	if sig.RekorBundle != "" {
		entry, err := rekorEntry(sig.RekorBundle)
		if err != nil {
			return nil, err
		}
		material.TlogEntries = []*protorekor.TransparencyLogEntry{entry}
	}
	b, err := bundle.NewBundle(&protobundle.Bundle{
		MediaType:            legacyBundleType,
		VerificationMaterial: material,
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: sum[:]},
			Signature:     raw,
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnverified, err)
	}
	return b, nil
}

// rekorBundle is cosign's legacy transparency log annotation.
type rekorBundle struct {
	SignedEntryTimestamp []byte
	Payload              struct {
		Body           string `json:"body"`
		IntegratedTime int64  `json:"integratedTime"`
		LogIndex       int64  `json:"logIndex"`
		LogID          string `json:"logID"`
	}
}

// rekorEntry reads cosign's legacy annotation as a transparency log
// entry with its inclusion promise.
func rekorEntry(annotation string) (*protorekor.TransparencyLogEntry, error) {
	var rb rekorBundle
	if err := json.Unmarshal([]byte(annotation), &rb); err != nil {
		return nil, fmt.Errorf("%w: its transparency log bundle: %v", ErrUnverified, err)
	}
	body, err := base64.StdEncoding.DecodeString(rb.Payload.Body)
	if err != nil {
		return nil, fmt.Errorf("%w: its transparency log entry's body is not base64", ErrUnverified)
	}
	logID, err := hex.DecodeString(rb.Payload.LogID)
	if err != nil {
		return nil, fmt.Errorf("%w: its transparency log id is not hex", ErrUnverified)
	}
	var kind struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := json.Unmarshal(body, &kind); err != nil {
		return nil, fmt.Errorf("%w: its transparency log entry's body: %v", ErrUnverified, err)
	}
	return &protorekor.TransparencyLogEntry{
		LogIndex:          rb.Payload.LogIndex,
		LogId:             &protocommon.LogId{KeyId: logID},
		KindVersion:       &protorekor.KindVersion{Kind: kind.Kind, Version: kind.APIVersion},
		IntegratedTime:    rb.Payload.IntegratedTime,
		InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: rb.SignedEntryTimestamp},
		CanonicalizedBody: body,
	}, nil
}
