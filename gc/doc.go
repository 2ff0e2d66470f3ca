// Package gc finds and removes what no tag, manifest or upload needs:
// online mark-and-sweep garbage collection whose mark phase reads the
// metadata store, not object storage.
//
// Plan marks from the metadata: tags lead to manifests, an index to its
// child manifests, a manifest to its config and layers, and a kept
// manifest to its referrers (signatures, SBOMs, attestations), which are
// kept with their subject and go with it. With DeleteUntagged, manifests
// no tag reaches that way are candidates; without it, every manifest is a
// root. Blobs no kept manifest references, and upload sessions idle past
// their timeout, are candidates too; everything written within the grace
// window is left alone, so pushes in progress keep what they uploaded.
// A Plan is what a dry run reports, and what a real run deletes.
//
// Run (Collector.Run) sweeps online. It marks with the collection active
// in the metadata store (meta.Collector), so manifest and tag puts and
// blob links made meanwhile are recorded as touched; writers claim a
// digest before they write its bytes. Each candidate is re-checked in the
// transaction that deletes its metadata: still untagged, not touched, not
// claimed. A blob's record gives way to a tombstone, which hides it from
// every repository and refuses pushes of that digest with 503 until its
// bytes are gone, so a racing push either keeps the blob or fails cleanly
// and pushes again. A crash leaves tombstones the next run finishes. Job
// runs collections on the job queue and reports Progress in the job's
// result.
package gc
