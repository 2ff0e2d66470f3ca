// Package cosign verifies cosign's signatures of OCI manifests, in both
// of cosign's forms: the legacy simple-signing form (a payload naming the
// manifest's digest, signed, in the "sha256-<hex>.sig" tag's manifest)
// and Sigstore bundles (cosign v3, attached as referrers: a DSSE envelope
// of an in-toto statement about the manifest).
//
// With public keys (ParseKey, VerifyLegacy, VerifyBundle): sigstore's
// signature package and sigstore-go. Bundles signed with a key offline
// carry no transparency-log entry or timestamp, and none is required.
//
// Keyless (Keyless, made by NewKeyless over a Sigstore trusted root the
// operator provides): the signing certificate must chain to one of the
// root's certificate authorities and name a trusted identity, and the
// signature must carry what the root lists (a signed certificate
// timestamp, a transparency log entry, a signed timestamp); a legacy
// signature's certificate and Rekor inclusion promise are read from its
// annotations into a bundle, and everything is verified by sigstore-go.
// No cryptography is written here and nothing is fetched.
//
// Verifier, made by NewVerifier, is what package trust takes.
package cosign
