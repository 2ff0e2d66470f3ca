//go:build unix

package fs_test

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	berthfs "github.com/berthreg/berth/storage/fs"
)

// TestModesArePrivate: the driver creates its root, directories and files
// readable by their owner only, even under a umask of 0 (the umask can
// only narrow them further): blobs are other tenants' layers.
func TestModesArePrivate(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)

	root := filepath.Join(t.TempDir(), "root")
	d, err := berthfs.New(root)
	if err != nil {
		t.Fatal(err)
	}
	hex := strings.Repeat("ab", 32)
	blob := "blobs/sha256/ab/" + hex
	put(t, d, blob, "layer")

	// An upload in progress: a committed first chunk, and a second one
	// still being written (its temporary file).
	put(t, d, "uploads/u1/data", "chunk")
	w, err := d.Writer(t.Context(), "uploads/u2/data", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Cancel(t.Context())
	if _, err := io.WriteString(w, "half"); err != nil {
		t.Fatal(err)
	}

	seen := map[string]bool{}
	err = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if fi.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
		}
		rel, _ := filepath.Rel(root, p)
		seen[filepath.ToSlash(rel)] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{".", "blobs", "blobs/sha256/ab", blob, "uploads/u1", "uploads/u1/data", "uploads/u2"} {
		if !seen[p] {
			t.Errorf("%s was not checked (walked %v)", p, seen)
		}
	}
	if len(seen) < 10 {
		t.Errorf("the temporary file of the open writer was not walked: %v", seen)
	}
}
