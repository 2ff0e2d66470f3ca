package storagetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/berthreg/berth/storage"
)

// walkTree is the object set the Walk tests use; see listTree.
var walkTree = []string{
	"w/b/d/e",
	"w/b0",
	"w/a",
	"w/b/c",
	"w/b.txt",
	"w/c/x",
	"wx/z",
}

// testWalk checks that Walk visits every object below a prefix, in lexical
// order of full path, and no directory.
func testWalk(t *testing.T, d storage.Driver) {
	putTree(t, d, walkTree)
	want := []string{"w/a", "w/b.txt", "w/b/c", "w/b/d/e", "w/b0", "w/c/x"}
	var got []string
	err := d.Walk(t.Context(), "w", func(fi storage.FileInfo) error {
		if fi.IsDir {
			t.Errorf("Walk visited directory %q", fi.Path)
		}
		st, err := d.Stat(t.Context(), fi.Path)
		if err != nil {
			t.Errorf("Stat(%q) of a walked path: %v", fi.Path, err)
		} else if fi.Size != st.Size {
			t.Errorf("Walk reported size %d for %q, Stat %d", fi.Size, fi.Path, st.Size)
		}
		got = append(got, fi.Path)
		return nil
	})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Walk(w) = %q, want %q", got, want)
	}
	if got := walkPaths(t, d, "w/b"); !slices.Equal(got, []string{"w/b/c", "w/b/d/e"}) {
		t.Fatalf("Walk(w/b) = %q", got)
	}
	all := slices.Clone(walkTree)
	slices.Sort(all)
	if got := walkPaths(t, d, ""); !slices.Equal(got, all) {
		t.Fatalf("Walk of the root = %q, want %q", got, all)
	}
	_, err = d.Stat(t.Context(), "w/b/d")
	if err != nil {
		t.Fatalf("Stat of a walked directory: %v", err)
	}
}

// testWalkStop checks that an error from fn stops the walk and is returned.
func testWalkStop(t *testing.T, d storage.Driver) {
	putTree(t, d, walkTree)
	stop := errors.New("stop here")
	var got []string
	err := d.Walk(t.Context(), "w", func(fi storage.FileInfo) error {
		got = append(got, fi.Path)
		if len(got) == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("Walk returned %v, want the error fn returned", err)
	}
	if !slices.Equal(got, []string{"w/a", "w/b.txt"}) {
		t.Fatalf("Walk kept going after fn failed: visited %q", got)
	}
}

// testWalkMissing walks prefixes with nothing below them.
func testWalkMissing(t *testing.T, d storage.Driver) {
	if got := walkPaths(t, d, ""); len(got) != 0 {
		t.Fatalf("Walk of an empty driver visited %q", got)
	}
	putTree(t, d, walkTree)
	for _, p := range []string{"missing", "w/missing", "w/b/c/d", "ww", "w/b/d/e/f"} {
		if got := walkPaths(t, d, p); len(got) != 0 {
			t.Errorf("Walk(%q) visited %q", p, got)
		}
	}
}

// testWalkDelete deletes every object from inside the walk callback, the way
// a garbage-collection sweep does.
func testWalkDelete(t *testing.T, d storage.Driver) {
	putTree(t, d, walkTree)
	n := 0
	err := d.Walk(t.Context(), "w", func(fi storage.FileInfo) error {
		n++
		return d.Delete(t.Context(), fi.Path)
	})
	if err != nil {
		t.Fatalf("Walk deleting as it goes: %v", err)
	}
	if n != 6 {
		t.Fatalf("Walk deleting as it goes visited %d objects, want 6", n)
	}
	if got := walkPaths(t, d, ""); !slices.Equal(got, []string{"wx/z"}) {
		t.Fatalf("after deleting everything below w, Walk of the root = %q", got)
	}
	wantList(t, d, "", "", 0, []string{"wx"})
}
