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
package gc
