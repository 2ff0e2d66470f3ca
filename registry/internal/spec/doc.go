// Package spec holds the grammar of the OCI Distribution Specification that
// the registry handler parses at its HTTP edge: repository names, tags,
// manifest references and digests, the Range and Content-Range headers, and
// manifest bodies. Every parser here has a fuzz target.
package spec
