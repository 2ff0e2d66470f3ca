// Package memory is a storage.Driver that keeps every object in memory.
//
// It is meant for tests and throw-away registries: nothing survives the
// process. A Driver is safe for concurrent use. Objects are held as lists of
// immutable chunks, so appending to a large object (a resumed upload) never
// copies the bytes already committed, and readers keep a consistent view of
// an object even while it is replaced.
//
// The Driver also implements storage.Opener, returning a seekable handle
// over the object's bytes.
package memory
