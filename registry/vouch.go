package registry

import "context"

// vouchKey marks a context made by Vouched.
type vouchKey struct{}

// Vouched returns a context under which the caller vouches that the body
// of a monolithic blob upload (POST ?digest=) is the content the digest
// names, having verified it itself: the handler stores the body without
// hashing it a second time (from a file, the storage driver may copy it
// in the kernel), and takes a blob it already holds without reading the
// body. Only Go code in the process can make such a context; package
// proxy uses it to store a blob it verified while fetching it.
func Vouched(ctx context.Context) context.Context {
	return context.WithValue(ctx, vouchKey{}, true)
}

// isVouched reports whether ctx was made by Vouched.
func isVouched(ctx context.Context) bool {
	ok, _ := ctx.Value(vouchKey{}).(bool)
	return ok
}
