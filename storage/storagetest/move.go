package storagetest

import (
	"testing"

	"github.com/berthreg/berth/storage"
)

// testMove moves an object into a new directory.
func testMove(t *testing.T, d storage.Driver) {
	ctx := t.Context()
	data := pseudoRandom(7, 100000)
	put(t, d, "uploads/id1/data", data)
	put(t, d, "uploads/id2/data", []byte("other upload"))

	const dst = "blobs/sha256/ab/abcdef"
	if err := d.Move(ctx, "uploads/id1/data", dst); err != nil {
		t.Fatalf("Move: %v", err)
	}
	wantContent(t, d, dst, data)
	wantGone(t, d, "uploads/id1/data")
	// The source directory went away with its only object; its sibling stayed.
	_, err := d.List(ctx, "uploads/id1", "", 0)
	wantErr(t, err, storage.ErrNotFound, "List of the emptied source directory")
	wantList(t, d, "uploads", "", 0, []string{"uploads/id2"})
	wantContent(t, d, "uploads/id2/data", []byte("other upload"))
}

// testMoveReplaces moves onto an existing object.
func testMoveReplaces(t *testing.T, d storage.Driver) {
	ctx := t.Context()
	put(t, d, "mv/src", []byte("new content"))
	put(t, d, "mv/dst", []byte("old content that is longer"))
	if err := d.Move(ctx, "mv/src", "mv/dst"); err != nil {
		t.Fatalf("Move over an existing object: %v", err)
	}
	wantContent(t, d, "mv/dst", []byte("new content"))
	wantGone(t, d, "mv/src")
	wantList(t, d, "mv", "", 0, []string{"mv/dst"})
}

// testMoveMissing moves an object that does not exist.
func testMoveMissing(t *testing.T, d storage.Driver) {
	ctx := t.Context()
	put(t, d, "mv/dst", []byte("kept"))
	wantErr(t, d.Move(ctx, "mv/missing", "mv/dst"), storage.ErrNotFound, "Move of a missing object")
	wantErr(t, d.Move(ctx, "nowhere/missing", "elsewhere/x"), storage.ErrNotFound, "Move from a missing directory")
	wantContent(t, d, "mv/dst", []byte("kept"))
	wantGone(t, d, "elsewhere/x")
}

// testDelete deletes single objects.
func testDelete(t *testing.T, d storage.Driver) {
	ctx := t.Context()
	put(t, d, "del/a", []byte("a"))
	put(t, d, "del/b", []byte("b"))
	if err := d.Delete(ctx, "del/a"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantGone(t, d, "del/a")
	wantContent(t, d, "del/b", []byte("b"))
	wantList(t, d, "del", "", 0, []string{"del/b"})
	if err := d.Delete(ctx, "del/b"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantGone(t, d, "del")
	wantList(t, d, "", "", 0, nil)
	// A deleted path can be written again.
	put(t, d, "del/a", []byte("again"))
	wantContent(t, d, "del/a", []byte("again"))
}

// testDeleteDirectory deletes a directory prefix and everything below it.
func testDeleteDirectory(t *testing.T, d storage.Driver) {
	ctx := t.Context()
	putTree(t, d, []string{"dd/x/1", "dd/x/2/3", "dd/x/2/4/5", "dd/x.txt", "dd/xy/6", "dd/y"})
	if err := d.Delete(ctx, "dd/x"); err != nil {
		t.Fatalf("Delete of a directory: %v", err)
	}
	for _, p := range []string{"dd/x", "dd/x/1", "dd/x/2", "dd/x/2/3", "dd/x/2/4/5"} {
		wantGone(t, d, p)
	}
	if got := walkPaths(t, d, "dd"); len(got) != 3 || got[0] != "dd/x.txt" || got[1] != "dd/xy/6" || got[2] != "dd/y" {
		t.Fatalf("after Delete(dd/x), Walk(dd) = %q, want [dd/x.txt dd/xy/6 dd/y]", got)
	}
	wantList(t, d, "dd", "", 0, []string{"dd/x.txt", "dd/xy", "dd/y"})
	if err := d.Delete(ctx, "dd"); err != nil {
		t.Fatalf("Delete of a directory: %v", err)
	}
	wantGone(t, d, "dd")
	if got := walkPaths(t, d, ""); len(got) != 0 {
		t.Fatalf("after Delete(dd), Walk of the root = %q", got)
	}
}

// testDeleteMissing deletes paths that do not exist.
func testDeleteMissing(t *testing.T, d storage.Driver) {
	ctx := t.Context()
	wantErr(t, d.Delete(ctx, "missing"), storage.ErrNotFound, "Delete of a missing path in an empty driver")
	put(t, d, "dm/obj", []byte("x"))
	for _, p := range []string{"dm/missing", "dm/ob", "dm/obj/below", "d"} {
		wantErr(t, d.Delete(ctx, p), storage.ErrNotFound, "Delete("+p+")")
	}
	if err := d.Delete(ctx, "dm/obj"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, d.Delete(ctx, "dm/obj"), storage.ErrNotFound, "second Delete of the same object")
}
