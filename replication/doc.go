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
// A Policy maps source repositories to destination names (namespace and
// Harbor-style flattening) and says whether destination tags pointing at
// other content are overridden; Run copies every selected tag once and is
// idempotent. Triggers (manual, cron, event-based), execution as jobs with
// tasks, bandwidth limits and deletions are still to come.
package replication
