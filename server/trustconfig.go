package server

import (
	"github.com/berthreg/berth/trust/cosign"
)

// TrustConfig configures content trust (each project's keys and
// identities are set through the admin API: /projects/{p}/trust).
type TrustConfig struct {
	// TrustedRoot is the path of a Sigstore trusted root
	// (trusted_root.json, as cosign's --trusted-root reads it) that
	// keyless signatures' certificates must chain to
	// (BERTH_TRUST_TRUSTED_ROOT). Unset, projects can trust public keys
	// only. It is read at start; nothing is fetched at verification time.
	// For the public Sigstore instance, it is the trusted_root.json of its
	// TUF repository; for a private certificate authority, "cosign
	// trusted-root create --fulcio=url=...,certificate-chain=ca.pem".
	TrustedRoot string `yaml:"trustedRoot"`
}

// verifier is the signature verifier c configures.
func (c TrustConfig) verifier() (*cosign.Verifier, error) {
	if c.TrustedRoot == "" {
		return cosign.NewVerifier()
	}
	tr, err := cosign.ReadTrustedRoot(c.TrustedRoot)
	if err != nil {
		return nil, err
	}
	return cosign.NewVerifier(cosign.WithTrustedRoot(tr))
}
