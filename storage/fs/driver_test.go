package fs_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthreg/berth/storage"
	"github.com/berthreg/berth/storage/fs"
)

func newDriver(t *testing.T) (*fs.Driver, string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	d, err := fs.New(root)
	if err != nil {
		t.Fatal(err)
	}
	return d, root
}

func put(t *testing.T, d storage.Driver, p, s string) {
	t.Helper()
	w, err := d.Writer(t.Context(), p, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, s); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestNew(t *testing.T) {
	if _, err := fs.New(""); err == nil {
		t.Error("New(\"\") succeeded")
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.New(file); err == nil {
		t.Error("New on a regular file succeeded")
	}
	d, root := newDriver(t)
	if d.Root() != root {
		t.Errorf("Root() = %q, want %q", d.Root(), root)
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		t.Fatalf("New did not create the root: %v", err)
	}
}

// TestFilesOnDisk checks the on-disk layout: objects are plain files at
// their path, and another Driver on the same root sees them.
func TestFilesOnDisk(t *testing.T) {
	d, root := newDriver(t)
	put(t, d, "blobs/sha256/ab/abcd", "content")
	b, err := os.ReadFile(filepath.Join(root, "blobs", "sha256", "ab", "abcd"))
	if err != nil || string(b) != "content" {
		t.Fatalf("file on disk = %q, %v", b, err)
	}
	d2, err := fs.New(root)
	if err != nil {
		t.Fatal(err)
	}
	st, err := d2.Stat(t.Context(), "blobs/sha256/ab/abcd")
	if err != nil || st.Size != 7 {
		t.Fatalf("second driver Stat = %+v, %v", st, err)
	}
	// Deleting everything prunes directories but keeps the root.
	if err := d.Delete(t.Context(), "blobs/sha256/ab/abcd"); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(root)
	if err != nil || len(entries) != 0 {
		t.Fatalf("root after deleting the only object: %v, %v", entries, err)
	}
}

// TestTempFilesHidden checks that an uncommitted new object lives in a
// temporary file that List and Walk never show.
func TestTempFilesHidden(t *testing.T) {
	d, root := newDriver(t)
	ctx := t.Context()
	put(t, d, "uploads/a/data", "a")
	w, err := d.Writer(ctx, "uploads/b/data", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := io.WriteString(w, strings.Repeat("x", 2<<20)); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(root, "uploads", "b"))
	if err != nil || len(entries) != 1 || !strings.HasPrefix(entries[0].Name(), ".tmp-") {
		t.Fatalf("expected one temporary file on disk, got %v, %v", entries, err)
	}
	var walked []string
	if err := d.Walk(ctx, "", func(fi storage.FileInfo) error { walked = append(walked, fi.Path); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(walked) != 1 || walked[0] != "uploads/a/data" {
		t.Fatalf("Walk = %q, want only the committed object", walked)
	}
	if _, err := d.List(ctx, "uploads/b", "", 0); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("List of a directory holding only a temporary file: %v, want ErrNotFound", err)
	}
	if _, err := d.Stat(ctx, "uploads/b/data"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Stat of an uncommitted object: %v, want ErrNotFound", err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := d.List(ctx, "uploads/b", "", 0)
	if err != nil || len(got) != 1 || got[0] != "uploads/b/data" {
		t.Fatalf("List after Commit = %q, %v", got, err)
	}
	entries, _ = os.ReadDir(filepath.Join(root, "uploads", "b"))
	if len(entries) != 1 || entries[0].Name() != "data" {
		t.Fatalf("temporary file left behind: %v", entries)
	}
}

func TestTempNamesRejected(t *testing.T) {
	d, _ := newDriver(t)
	for _, p := range []string{".tmp-x", "a/.tmp-x", "a/.tmp-/b"} {
		if _, err := d.Writer(t.Context(), p, 0); !errors.Is(err, storage.ErrInvalidPath) {
			t.Errorf("Writer(%q): %v, want ErrInvalidPath", p, err)
		}
	}
	// Names that merely contain the prefix are fine.
	put(t, d, "a/x.tmp-y", "ok")
}

// TestResumeCloseKeepsFile checks that a resumed writer closed before
// writing leaves the committed bytes alone.
func TestResumeCloseKeepsFile(t *testing.T) {
	d, _ := newDriver(t)
	ctx := t.Context()
	put(t, d, "u/data", "0123456789")
	w, err := d.Writer(ctx, "u/data", 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := d.Stat(ctx, "u/data")
	if err != nil || st.Size != 10 {
		t.Fatalf("Stat after closing an unused resumed writer = %+v, %v; want size 10", st, err)
	}
}

// TestReaderIsFile checks that Reader and Open hand out the *os.File, and
// that http.ServeContent answers a Range request from it.
func TestReaderIsFile(t *testing.T) {
	d, _ := newDriver(t)
	ctx := t.Context()
	put(t, d, "blob", "0123456789")
	r, err := d.Reader(ctx, "blob", 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.(*os.File); !ok {
		t.Errorf("Reader returned %T, want *os.File", r)
	}
	r.Close()
	f, err := d.Open(ctx, "blob")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, ok := f.(*os.File); !ok {
		t.Errorf("Open returned %T, want *os.File", f)
	}
	req := httptest.NewRequest(http.MethodGet, "/blob", nil)
	req.Header.Set("Range", "bytes=2-5")
	rec := httptest.NewRecorder()
	http.ServeContent(rec, req, "", st(t, d, "blob").ModTime, f)
	if rec.Code != http.StatusPartialContent || !bytes.Equal(rec.Body.Bytes(), []byte("2345")) {
		t.Fatalf("ServeContent = %d %q, want 206 \"2345\"", rec.Code, rec.Body.Bytes())
	}
}

func st(t *testing.T, d storage.Driver, p string) storage.FileInfo {
	t.Helper()
	fi, err := d.Stat(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

// TestStaysInRoot checks that nothing is created beside the root.
func TestStaysInRoot(t *testing.T) {
	d, root := newDriver(t)
	ctx := t.Context()
	for _, p := range []string{"../escape", "a/../../escape", "/escape"} {
		if w, err := d.Writer(ctx, p, 0); err == nil {
			w.Close()
			t.Errorf("Writer(%q) succeeded", p)
		}
		if err := d.Move(ctx, p, "x"); !errors.Is(err, storage.ErrInvalidPath) {
			t.Errorf("Move(%q): %v", p, err)
		}
	}
	entries, err := os.ReadDir(filepath.Dir(root))
	if err != nil || len(entries) != 1 || entries[0].Name() != "root" {
		t.Fatalf("beside the root: %v, %v", entries, err)
	}
}
