package storagetest

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/berthreg/berth/storage"
)

// testResumableWriter commits, resumes at the committed size, appends and
// commits again, the way an upload session moves from chunk to chunk.
func testResumableWriter(t *testing.T, d storage.Driver) {
	const p = "resume/upload/data"
	chunks := [][]byte{pseudoRandom(1, 100), pseudoRandom(2, 70000), pseudoRandom(3, 1), pseudoRandom(4, 5000)}
	var want []byte
	var size int64
	for i, c := range chunks {
		w := openWriter(t, d, p, size)
		if w.Size() != size {
			t.Fatalf("chunk %d: Size() = %d right after Writer(offset %d)", i, w.Size(), size)
		}
		writeAll(t, w, c)
		want = append(want, c...)
		if w.Size() != int64(len(want)) {
			t.Fatalf("chunk %d: Size() = %d, want %d", i, w.Size(), len(want))
		}
		size = w.Size()
		commit(t, w)
		wantContent(t, d, p, want)
	}
}

// testResumeDiscardsTail resumes before the end of an object: the bytes after
// the offset are replaced by what the new writer writes.
func testResumeDiscardsTail(t *testing.T, d storage.Driver) {
	const p = "resume/tail"
	put(t, d, p, []byte("0123456789"))

	w := openWriter(t, d, p, 4)
	writeAll(t, w, []byte("ab"))
	if w.Size() != 6 {
		t.Fatalf("Size() = %d, want 6", w.Size())
	}
	commit(t, w)
	wantContent(t, d, p, []byte("0123ab"))

	// Resuming at the exact size with nothing written keeps the object.
	w = openWriter(t, d, p, 6)
	commit(t, w)
	wantContent(t, d, p, []byte("0123ab"))

	// Resuming at a shorter offset and committing nothing truncates.
	w = openWriter(t, d, p, 2)
	commit(t, w)
	wantContent(t, d, p, []byte("01"))
}

// testResumeInvalidOffset asks for offsets past the committed size.
func testResumeInvalidOffset(t *testing.T, d storage.Driver) {
	ctx := t.Context()
	const p = "resume/short"
	put(t, d, p, []byte("12345"))
	for _, off := range []int64{6, 1 << 40, -1} {
		w, err := d.Writer(ctx, p, off)
		if err == nil {
			_ = w.Close()
		}
		wantErr(t, err, storage.ErrInvalidOffset, "Writer at offset past the committed size")
	}
	wantContent(t, d, p, []byte("12345"))
}

// testCloseWithoutCommit checks that Close drops what a writer wrote.
func testCloseWithoutCommit(t *testing.T, d storage.Driver) {
	ctx := t.Context()

	// A new object never appears, nor does its directory.
	w := openWriter(t, d, "close/new/obj", 0)
	writeAll(t, w, pseudoRandom(5, 3<<20))
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wantGone(t, d, "close/new/obj")
	_, err := d.List(ctx, "close", "", 0)
	wantErr(t, err, storage.ErrNotFound, "List of a directory whose only writer closed without Commit")
	if got := walkPaths(t, d, "close"); len(got) != 0 {
		t.Fatalf("Walk found %q after Close without Commit", got)
	}

	// A replacement (offset 0) leaves the existing object as it was.
	const p = "close/existing"
	put(t, d, p, []byte("committed"))
	w = openWriter(t, d, p, 0)
	writeAll(t, w, pseudoRandom(6, 2<<20))
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wantContent(t, d, p, []byte("committed"))

	// A resumed writer keeps at least the committed bytes before its offset,
	// and the object can be resumed from there.
	w = openWriter(t, d, p, 4)
	writeAll(t, w, []byte("XYZ"))
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	got := get(t, d, p, 0)
	if len(got) < 4 || !bytes.Equal(got[:4], []byte("comm")) {
		t.Fatalf("after Close of a resumed writer the object is %q, want it to start with %q", got, "comm")
	}
	w = openWriter(t, d, p, 4)
	writeAll(t, w, []byte("on"))
	commit(t, w)
	wantContent(t, d, p, []byte("common"))

	// Close twice is harmless.
	if err := w.Close(); err != nil {
		t.Fatalf("Close after Commit: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close after Commit: %v", err)
	}
}

// testCancel checks that Cancel removes the object, including bytes an
// earlier writer committed.
func testCancel(t *testing.T, d storage.Driver) {
	ctx := t.Context()

	w := openWriter(t, d, "cancel/new", 0)
	writeAll(t, w, []byte("never visible"))
	if err := w.Cancel(ctx); err != nil {
		t.Fatalf("Cancel of a new writer: %v", err)
	}
	wantGone(t, d, "cancel/new")

	const p = "cancel/resumed"
	put(t, d, p, []byte("first chunk"))
	w = openWriter(t, d, p, 11)
	writeAll(t, w, []byte(" second chunk"))
	if err := w.Cancel(ctx); err != nil {
		t.Fatalf("Cancel of a resumed writer: %v", err)
	}
	wantGone(t, d, p)
	_, err := d.List(ctx, "cancel", "", 0)
	wantErr(t, err, storage.ErrNotFound, "List of a directory whose objects were all cancelled")
	if err := w.Close(); err != nil {
		t.Fatalf("Close after Cancel: %v", err)
	}
}

// testWriterClosed checks ErrClosed after Commit, Cancel and Close, and that
// a late Cancel cannot remove a committed object.
func testWriterClosed(t *testing.T, d storage.Driver) {
	ctx := t.Context()

	w := openWriter(t, d, "closed/committed", 0)
	writeAll(t, w, []byte("data"))
	commit(t, w)
	_, err := w.Write([]byte("more"))
	wantErr(t, err, storage.ErrClosed, "Write after Commit")
	wantErr(t, w.Commit(ctx), storage.ErrClosed, "Commit after Commit")
	wantErr(t, w.Cancel(ctx), storage.ErrClosed, "Cancel after Commit")
	if err := w.Close(); err != nil {
		t.Errorf("Close after Commit = %v, want nil", err)
	}
	wantContent(t, d, "closed/committed", []byte("data"))

	w = openWriter(t, d, "closed/cancelled", 0)
	if err := w.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = w.Write([]byte("x"))
	wantErr(t, err, storage.ErrClosed, "Write after Cancel")
	wantErr(t, w.Commit(ctx), storage.ErrClosed, "Commit after Cancel")
	wantGone(t, d, "closed/cancelled")

	w = openWriter(t, d, "closed/closed", 0)
	writeAll(t, w, []byte("x"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = w.Write([]byte("x"))
	wantErr(t, err, storage.ErrClosed, "Write after Close")
	wantErr(t, w.Commit(ctx), storage.ErrClosed, "Commit after Close")
	wantGone(t, d, "closed/closed")
}

// testCopyFromFile feeds writers with io.Copy from a file, whole and
// through a limit, after bytes already written and on a resume: what
// io.Copy hands a driver's ReadFrom (the fs driver copies in the kernel)
// must land exactly, and a limit must be honoured and used up.
func testCopyFromFile(t *testing.T, d storage.Driver) {
	src := pseudoRandom(11, 9<<20+123) // more than one 4 MiB piece, not a multiple
	f, err := os.CreateTemp(t.TempDir(), "source")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(src); err != nil {
		t.Fatal(err)
	}
	const p = "copy/from/file"

	// Some bytes written first, then the file from offset 7 to its end.
	w := openWriter(t, d, p, 0)
	writeAll(t, w, []byte("head"))
	if _, err := f.Seek(7, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(w, f)
	if err != nil || n != int64(len(src)-7) {
		t.Fatalf("io.Copy from the file: %d bytes, %v; want %d", n, err, len(src)-7)
	}
	if w.Size() != int64(4+len(src)-7) {
		t.Fatalf("Size() = %d after the copy, want %d", w.Size(), 4+len(src)-7)
	}
	commit(t, w)
	want := append([]byte("head"), src[7:]...)
	wantContent(t, d, p, want)

	// A resume fed through a limit: exactly the limit, the file's
	// offset and the limit moved on by what was copied.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	lr := &io.LimitedReader{R: f, N: 5<<20 + 1}
	w = openWriter(t, d, p, 4)
	if n, err := io.Copy(w, lr); err != nil || n != 5<<20+1 || lr.N != 0 {
		t.Fatalf("io.Copy through a limit: %d bytes, %v, %d left; want %d, nil, 0", n, err, lr.N, 5<<20+1)
	}
	if off, _ := f.Seek(0, io.SeekCurrent); off != 5<<20+1 {
		t.Fatalf("the source file's offset is %d after the copy, want %d", off, 5<<20+1)
	}
	writeAll(t, w, []byte("tail"))
	commit(t, w)
	want = append(append([]byte("head"), src[:5<<20+1]...), "tail"...)
	wantContent(t, d, p, want)
}
