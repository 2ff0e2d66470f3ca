package storagetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/berthreg/berth/storage"
)

// listTree is the object set the List tests use. Its names are chosen so
// that the byte-wise order of full paths differs from a per-directory order
// ("l/b.txt" < "l/b/c") and so that "lx" shares a string prefix with "l".
var listTree = []string{
	"l/a",
	"l/b/c",
	"l/b/d",
	"l/b.txt",
	"l/b0",
	"l/c",
	"l/d/e/f",
	"l/d/e/g",
	"lx/y",
}

func putTree(t *testing.T, d storage.Driver, paths []string) {
	t.Helper()
	for i, p := range paths {
		put(t, d, p, []byte(fmt.Sprintf("object %d at %s", i, p)))
	}
}

// list calls List or fails the test.
func list(t *testing.T, d storage.Driver, prefix, after string, limit int) []string {
	t.Helper()
	got, err := d.List(t.Context(), prefix, after, limit)
	if err != nil {
		t.Fatalf("List(%q, %q, %d): %v", prefix, after, limit, err)
	}
	return got
}

func wantList(t *testing.T, d storage.Driver, prefix, after string, limit int, want []string) {
	t.Helper()
	got := list(t, d, prefix, after, limit)
	if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Errorf("List(%q, %q, %d) = %q, want %q", prefix, after, limit, got, want)
	}
}

// testList checks that List returns the direct children, objects and
// directories, as full paths in byte-wise order.
func testList(t *testing.T, d storage.Driver) {
	// The root of an empty driver has no children and is not missing.
	wantList(t, d, "", "", 0, nil)

	putTree(t, d, listTree)
	all := []string{"l/a", "l/b", "l/b.txt", "l/b0", "l/c", "l/d"}
	wantList(t, d, "l", "", 0, all)
	wantList(t, d, "l", "", -1, all)
	wantList(t, d, "l", "", 100, all)
	wantList(t, d, "l/b", "", 0, []string{"l/b/c", "l/b/d"})
	wantList(t, d, "l/d", "", 0, []string{"l/d/e"})
	wantList(t, d, "l/d/e", "", 0, []string{"l/d/e/f", "l/d/e/g"})
	wantList(t, d, "", "", 0, []string{"l", "lx"})

	// A directory disappears with its last object.
	for _, p := range []string{"l/d/e/f", "l/d/e/g"} {
		if err := d.Delete(t.Context(), p); err != nil {
			t.Fatalf("Delete(%q): %v", p, err)
		}
	}
	wantList(t, d, "l", "", 0, []string{"l/a", "l/b", "l/b.txt", "l/b0", "l/c"})
	_, err := d.List(t.Context(), "l/d", "", 0)
	wantErr(t, err, storage.ErrNotFound, "List of a directory whose objects were deleted")
}

// testListPaging pages through a directory with after and limit.
func testListPaging(t *testing.T, d storage.Driver) {
	putTree(t, d, listTree)
	wantList(t, d, "l", "", 2, []string{"l/a", "l/b"})
	wantList(t, d, "l", "l/b", 2, []string{"l/b.txt", "l/b0"})
	wantList(t, d, "l", "l/b0", 2, []string{"l/c", "l/d"})
	wantList(t, d, "l", "l/d", 2, nil)
	// "after" need not name a child: it is compared byte-wise as a string
	// ("l/b.txt" < "l/b/zzz" < "l/b0").
	wantList(t, d, "l", "l/b/zzz", 0, []string{"l/b0", "l/c", "l/d"})
	wantList(t, d, "l", "l/b.", 0, []string{"l/b.txt", "l/b0", "l/c", "l/d"})
	wantList(t, d, "l", "l/bz", 1, []string{"l/c"})
	wantList(t, d, "l", "l/", 1, []string{"l/a"})
	wantList(t, d, "l", "m", 0, nil)

	// Paging with limit 1 visits every child once, in order.
	var got []string
	after := ""
	for range 100 {
		page := list(t, d, "l", after, 1)
		if len(page) == 0 {
			break
		}
		if len(page) != 1 {
			t.Fatalf("List with limit 1 returned %q", page)
		}
		got = append(got, page[0])
		after = page[0]
	}
	want := []string{"l/a", "l/b", "l/b.txt", "l/b0", "l/c", "l/d"}
	if !slices.Equal(got, want) {
		t.Fatalf("paging with limit 1 = %q, want %q", got, want)
	}
}

// testListMissing lists directories that do not exist.
func testListMissing(t *testing.T, d storage.Driver) {
	ctx := t.Context()
	putTree(t, d, listTree)
	for _, p := range []string{"missing", "l/missing", "l/b/c", "l/a", "l/b/c/d", "lx/y/z", "l/d/e/f"} {
		_, err := d.List(ctx, p, "", 0)
		wantErr(t, err, storage.ErrNotFound, "List("+p+")")
	}
}
