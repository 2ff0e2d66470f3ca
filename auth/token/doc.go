// Package token implements the Docker registry token flow: an Issuer signs
// bearer tokens (RS256 or ES256 JWTs with a kid, the granted accesses in an
// "access" claim), Service is the /service/token endpoint that
// authenticates a client and grants the requested scopes it is allowed, and
// Verifier checks tokens on the registry side (signature, kid, issuer,
// audience, expiry). Challenge renders the WWW-Authenticate header that
// sends clients to the endpoint. GenerateKey, MarshalKey and ParseKey
// make, store and read signing keys as PEM: instances behind one address
// sign with one key, so a token one issued verifies on the others.
package token
