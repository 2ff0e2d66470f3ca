package trust

import (
	"fmt"
)

// MaxIdentities bounds the keyless identities a project trusts.
const MaxIdentities = 16

// Identity is a keyless signer a project trusts: a signature made with a
// short-lived certificate (cosign's keyless signing) verifies when the
// certificate chains to the operator's trusted root and names this
// identity.
type Identity struct {
	// Issuer is the OIDC issuer the certificate must name, exactly (for
	// example https://token.actions.githubusercontent.com).
	Issuer string `json:"issuer"`
	// Subject is the certificate's subject (an email address or URI, its
	// subject alternative name), exactly. Set it or SubjectRegExp.
	Subject string `json:"subject,omitempty"`
	// SubjectRegExp is an RE2 expression the whole subject must match
	// (it is anchored at both ends, unlike cosign's
	// --certificate-identity-regexp). Set it or Subject.
	SubjectRegExp string `json:"subjectRegExp,omitempty"`
}

// maxIdentityField bounds each field of an Identity.
const maxIdentityField = 1024

// check reports what is wrong with id, field by field; the verifier
// checks the expression.
func (id Identity) check() error {
	switch {
	case id.Issuer == "":
		return fmt.Errorf("issuer: required")
	case (id.Subject == "") == (id.SubjectRegExp == ""):
		return fmt.Errorf("subject, subjectRegExp: set exactly one")
	case len(id.Issuer) > maxIdentityField:
		return fmt.Errorf("issuer: longer than %d bytes", maxIdentityField)
	case len(id.Subject) > maxIdentityField:
		return fmt.Errorf("subject: longer than %d bytes", maxIdentityField)
	case len(id.SubjectRegExp) > maxIdentityField:
		return fmt.Errorf("subjectRegExp: longer than %d bytes", maxIdentityField)
	}
	return nil
}

// Signers are whom a signature must come from to count: one of Keys, or
// one of Identities.
type Signers struct {
	// Keys are PEM public keys.
	Keys []string
	// Identities are keyless signers.
	Identities []Identity
}

// LegacySignature is one signature of a legacy cosign signature manifest
// (the "sha256-<hex>.sig" tag): a layer and its annotations.
type LegacySignature struct {
	// Payload is the signed simple-signing payload (the layer).
	Payload []byte
	// Signature is the signature of Payload, base64
	// (SignatureAnnotation).
	Signature string
	// Certificate is the signing certificate, PEM, when it was signed
	// keyless (CertificateAnnotation).
	Certificate string
	// Chain is the certificate's chain, PEM (ChainAnnotation).
	Chain string
	// RekorBundle is the transparency log's promise of inclusion, JSON
	// (RekorBundleAnnotation).
	RekorBundle string
}
