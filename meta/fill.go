package meta

import "context"

// fillKey marks a context whose Updates store content that manifests
// already recorded reference.
type fillKey struct{}

// MarkFill returns a context under which an Update stores content that
// manifests recorded earlier already reference: what a pull-through
// cache fetches after the manifest naming it (its blobs come on demand).
// Store wrappers that account for what manifests hold (quota) count such
// content when it arrives, not only when a manifest is put.
func MarkFill(ctx context.Context) context.Context {
	return context.WithValue(ctx, fillKey{}, true)
}

// IsFill reports whether ctx was made by MarkFill.
func IsFill(ctx context.Context) bool {
	ok, _ := ctx.Value(fillKey{}).(bool)
	return ok
}
