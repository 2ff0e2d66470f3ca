// Package trust lets a project allow only pulls of artifacts with a
// verified cosign signature: content trust, checking that a signature
// verifies with a key the project trusts, not merely that one exists.
//
// A project's Settings hold whether trust is enforced, the PEM public
// keys (ECDSA, RSA, Ed25519) a signature may verify with, and the keyless
// identities it may come from. With it on, a
// manifest GET (Service.Hooks' BeforePull) is let through only when the
// manifest has a signature that verifies with one of those keys, in
// either of cosign's forms: the legacy "sha256-<hex>.sig" tag (cosign v2,
// and v3 with --new-bundle-format=false) or a Sigstore bundle attached as
// an OCI referrer (cosign v3's default). Otherwise the pull gets 412
// PROJECTPOLICYVIOLATION saying why (no signature; a signature that does
// not verify with the project's keys). Each manifest pulled needs its own
// signature: an index and the images it lists alike (cosign sign
// --recursive signs them all); a client pulling a multi-platform image
// fetches the index, then the image for its platform, and both are
// checked.
//
// Who is gated: those who only pull. A HEAD serves no content and is let
// through. A request whose credentials allow pushing to the repository
// (registry.Event.Allows: a basic login's account, a bearer token's scope
// or its subject's account) is let through too: a signer must read the
// manifest it signs (cosign does a GET), which Harbor's gate refuses, so
// that an image pushed into a project with trust on cannot be signed
// there; and who may push could push anything anyway. Scanners' own
// pulls are exempted by the server.
//
// Verification is package trust/cosign's (sigstore-go and sigstore's
// signature package: no hand-written cryptography), behind the Verifier
// interface, so that this package, which the admin API imports, stays
// off those libraries. A manifest found signed is remembered for
// WithVerifiedFor (default 1 minute); a refusal is not, so a signature
// pushed afterwards counts at once. Changing a project's settings forgets
// every result at once, on this instance and (WithWatcher) on the others
// within the watcher's bound; deleting a signature here forgets the
// repository's results, on other instances once they expire.
//
// Keyless signatures (made with a short-lived certificate, from Fulcio or
// a private certificate authority, naming an OIDC identity) count when the
// project trusts the identity (Settings.Identities: an issuer and the
// subject, exactly or by an anchored expression) and the verifier was
// given a trusted root the certificate chains to (trust/cosign's
// WithTrustedRoot); both of cosign's forms carry the certificate.
//
// What is not gated: signatures, attestations and SBOMs themselves (a
// manifest without a filesystem layer that is a referrer, is pulled by a
// cosign attachment tag, or holds only simple-signing payloads), since
// verifying needs them and they have no signature of their own; an image
// is gated whatever it is tagged or refers to.
package trust
