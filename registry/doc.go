// Package registry implements the OCI Distribution Specification v1.1 as an
// http.Handler: blobs (with Range), chunked, streamed and monolithic uploads
// that resume after a restart, cross-repository and anonymous mounts,
// manifests (OCI image manifest and index, Docker schema 2 manifest and
// manifest list), tags, the referrers API and the catalog.
//
// The handler keeps no state of its own beyond caches: bytes go to a
// storage.Driver, metadata to a meta.Store. Hooks let authorization, policies
// and event logging take part in every request without this package knowing
// about them.
//
// A blob is readable in a repository only when linked to it, so knowing a
// digest never exposes another repository's content.
package registry
