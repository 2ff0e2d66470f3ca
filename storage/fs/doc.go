// Package fs is a storage.Driver that keeps objects as files below a root
// directory on local disk. It is Berth's default driver.
//
// Writes are atomic and durable. A new object is written to a temporary file
// in its destination directory and renamed into place by Commit, after the
// file and then its directory are synced, so readers see the old object or
// the new one, never a torn one. A resumed writer (offset > 0), which upload
// sessions use between chunks, appends to the committed file in place and
// Commit syncs it. Move is a rename followed by a sync of the destination
// directory; directories a write or a move needs are created (and their
// parents synced), and Delete, Move and abandoned writers remove directories
// they leave empty, never the root itself.
//
// Temporary files are named with the prefix ".tmp-" and never appear in List
// or Walk; paths with an element starting with ".tmp-" are therefore
// rejected with storage.ErrInvalidPath, as are absolute, unclean and empty
// paths, so no path reaches outside the root.
//
// The Driver implements storage.Opener and its Reader returns the *os.File
// itself, so http.ServeContent can answer Range requests and the kernel can
// copy the bytes with sendfile.
package fs
