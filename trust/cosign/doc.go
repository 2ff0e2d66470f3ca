// Package cosign verifies cosign's signatures of OCI manifests with
// public keys: the legacy simple-signing form (a payload naming the
// manifest's digest, signed, in the "sha256-<hex>.sig" tag's manifest)
// with sigstore's signature package, and Sigstore bundles (cosign v3,
// attached as referrers: a DSSE envelope of an in-toto statement about
// the manifest) with sigstore-go. Bundles signed with a key offline carry
// no transparency-log entry or timestamp, and none is required. Verifier
// is what package trust takes.
package cosign
