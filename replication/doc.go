// Package replication copies artifacts between OCI registries: Berth and
// any registry that speaks the distribution API (another Berth, CNCF
// Distribution, Harbor, zot), through go-containerregistry's client.
//
// A Filter selects repositories and tags with doublestar patterns
// (matches and excludes). Copy copies one tag — an image, an index with
// all its children, or any artifact — with its referrers (signatures,
// SBOMs) transitively, skipping what the destination already has: a copy
// run twice transfers nothing the second time.
//
// This is the copy engine; policies, triggers and their execution as
// jobs build on it.
package replication
