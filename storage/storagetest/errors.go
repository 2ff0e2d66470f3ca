package storagetest

import (
	"testing"

	"github.com/berthreg/berth/storage"
)

// testNotFound checks ErrNotFound from every method that looks an object up.
func testNotFound(t *testing.T, d storage.Driver) {
	ctx := t.Context()
	put(t, d, "nf/obj", []byte("x"))
	for _, p := range []string{"missing", "nf/missing", "nf/ob", "nf/obj/below", "missing/deeper/still"} {
		r, err := d.Reader(ctx, p, 0)
		if err == nil {
			r.Close()
		}
		wantErr(t, err, storage.ErrNotFound, "Reader("+p+")")
		_, err = d.Stat(ctx, p)
		wantErr(t, err, storage.ErrNotFound, "Stat("+p+")")
		w, err := d.Writer(ctx, p, 1)
		if err == nil {
			_ = w.Close()
		}
		wantErr(t, err, storage.ErrNotFound, "Writer("+p+", 1) resuming a missing object")
	}
	// A directory is not an object.
	put(t, d, "nf/dir/obj", []byte("x"))
	r, err := d.Reader(ctx, "nf/dir", 0)
	if err == nil {
		r.Close()
	}
	wantErr(t, err, storage.ErrNotFound, "Reader of a directory")
	w, err := d.Writer(ctx, "nf/dir", 1)
	if err == nil {
		_ = w.Close()
	}
	wantErr(t, err, storage.ErrNotFound, "Writer resuming a directory")
}

// invalidPaths are rejected by every method with ErrInvalidPath.
var invalidPaths = []string{"/abs", "../x", "a/../b", "a//b", "a/./b", "./a", "a/", ".", "..", "a/.."}

// testInvalidPath checks that malformed paths are rejected before any I/O.
func testInvalidPath(t *testing.T, d storage.Driver) {
	ctx := t.Context()
	put(t, d, "a/b", []byte("x"))
	for _, p := range append([]string{""}, invalidPaths...) {
		r, err := d.Reader(ctx, p, 0)
		if err == nil {
			r.Close()
		}
		wantErr(t, err, storage.ErrInvalidPath, "Reader("+p+")")
		w, err := d.Writer(ctx, p, 0)
		if err == nil {
			_ = w.Close()
		}
		wantErr(t, err, storage.ErrInvalidPath, "Writer("+p+", 0)")
		w, err = d.Writer(ctx, p, 1)
		if err == nil {
			_ = w.Close()
		}
		wantErr(t, err, storage.ErrInvalidPath, "Writer("+p+", 1)")
		_, err = d.Stat(ctx, p)
		wantErr(t, err, storage.ErrInvalidPath, "Stat("+p+")")
		wantErr(t, d.Move(ctx, p, "a/c"), storage.ErrInvalidPath, "Move("+p+", a/c)")
		wantErr(t, d.Move(ctx, "a/b", p), storage.ErrInvalidPath, "Move(a/b, "+p+")")
		wantErr(t, d.Delete(ctx, p), storage.ErrInvalidPath, "Delete("+p+")")
		if o, ok := d.(storage.Opener); ok {
			f, err := o.Open(ctx, p)
			if err == nil {
				f.Close()
			}
			wantErr(t, err, storage.ErrInvalidPath, "Open("+p+")")
		}
	}
	// The empty prefix is the root for List and Walk; others are invalid.
	for _, p := range invalidPaths {
		_, err := d.List(ctx, p, "", 0)
		wantErr(t, err, storage.ErrInvalidPath, "List("+p+")")
		err = d.Walk(ctx, p, func(storage.FileInfo) error { return nil })
		wantErr(t, err, storage.ErrInvalidPath, "Walk("+p+")")
	}
	// Nothing was moved, deleted or created.
	if got := walkPaths(t, d, ""); len(got) != 1 || got[0] != "a/b" {
		t.Fatalf("after invalid calls, the driver holds %q, want [a/b]", got)
	}
	wantContent(t, d, "a/b", []byte("x"))
}
