package storagetest

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/berthreg/berth/storage"
)

// testRoundTrip writes objects of several sizes and reads them back.
func testRoundTrip(t *testing.T, d storage.Driver) {
	for _, n := range []int{1, 7, 4096, 1<<20 + 13} {
		p := fmt.Sprintf("roundtrip/%d/data", n)
		data := pseudoRandom(uint64(n), n)
		put(t, d, p, data)
		wantContent(t, d, p, data)
	}
	// io.Copy uses the writer's ReadFrom when it has one; hide the source's
	// WriteTo so that it does.
	const p = "roundtrip/copied"
	data := pseudoRandom(11, 3<<20+5)
	w := openWriter(t, d, p, 0)
	n, err := io.Copy(w, io.LimitReader(bytes.NewReader(data), int64(len(data))))
	if err != nil || n != int64(len(data)) {
		t.Fatalf("io.Copy into writer = %d, %v; want %d", n, err, len(data))
	}
	if w.Size() != int64(len(data)) {
		t.Fatalf("Size() after io.Copy = %d, want %d", w.Size(), len(data))
	}
	commit(t, w)
	wantContent(t, d, p, data)
}

// testOverwrite checks that a new writer (offset 0) replaces an object,
// including with a shorter one.
func testOverwrite(t *testing.T, d storage.Driver) {
	const p = "overwrite/obj"
	put(t, d, p, []byte("the first, longer version"))
	put(t, d, p, []byte("second"))
	wantContent(t, d, p, []byte("second"))
}

// testZeroByte checks objects with no content.
func testZeroByte(t *testing.T, d storage.Driver) {
	ctx := t.Context()
	const p = "zero/empty"
	w := openWriter(t, d, p, 0)
	if w.Size() != 0 {
		t.Fatalf("new writer Size() = %d, want 0", w.Size())
	}
	commit(t, w)
	wantContent(t, d, p, nil)
	if got := get(t, d, p, 0); len(got) != 0 {
		t.Fatalf("Reader at 0 of empty object returned %d bytes", len(got))
	}
	_, err := d.Reader(ctx, p, 1)
	wantErr(t, err, storage.ErrInvalidOffset, "Reader(empty, 1)")
	if got := walkPaths(t, d, "zero"); len(got) != 1 || got[0] != p {
		t.Fatalf("Walk(zero) = %q, want [%q]", got, p)
	}
	got, err := d.List(ctx, "zero", "", 0)
	if err != nil || len(got) != 1 || got[0] != p {
		t.Fatalf("List(zero) = %q, %v; want [%q]", got, err, p)
	}
	// An empty object can be replaced like any other.
	w = openWriter(t, d, p, 0)
	writeAll(t, w, []byte("x"))
	commit(t, w)
	wantContent(t, d, p, []byte("x"))
}

// testReaderOffsets reads one object from many offsets.
func testReaderOffsets(t *testing.T, d storage.Driver) {
	ctx := t.Context()
	const p = "offsets/obj"
	data := pseudoRandom(1, 1000)
	put(t, d, p, data)
	for _, off := range []int64{0, 1, 500, 999, 1000} {
		got := get(t, d, p, off)
		if !bytes.Equal(got, data[off:]) {
			t.Errorf("Reader at %d: got %d bytes, want %d matching bytes", off, len(got), len(data)-int(off))
		}
	}
	for _, off := range []int64{1001, 1 << 40, -1} {
		r, err := d.Reader(ctx, p, off)
		if err == nil {
			r.Close()
		}
		wantErr(t, err, storage.ErrInvalidOffset, fmt.Sprintf("Reader at %d of 1000-byte object", off))
	}
	// Readers stream: reading in small pieces returns the same bytes.
	r, err := d.Reader(ctx, p, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var buf bytes.Buffer
	piece := make([]byte, 33)
	for {
		n, err := r.Read(piece)
		buf.Write(piece[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
	}
	if !bytes.Equal(buf.Bytes(), data[10:]) {
		t.Fatalf("piecewise read from 10 returned %d bytes, want %d matching", buf.Len(), len(data)-10)
	}
}

// testStat checks Stat on objects and directory prefixes.
func testStat(t *testing.T, d storage.Driver) {
	ctx := t.Context()
	put(t, d, "stat/dir/sub/obj", []byte("12345"))
	st, err := d.Stat(ctx, "stat/dir/sub/obj")
	if err != nil {
		t.Fatal(err)
	}
	if st.Path != "stat/dir/sub/obj" || st.Size != 5 || st.IsDir {
		t.Errorf("Stat(object) = %+v, want path stat/dir/sub/obj, size 5, not a directory", st)
	}
	for _, dir := range []string{"stat", "stat/dir", "stat/dir/sub"} {
		st, err := d.Stat(ctx, dir)
		if err != nil {
			t.Errorf("Stat(%q): %v", dir, err)
			continue
		}
		if st.Path != dir || !st.IsDir || st.Size != 0 {
			t.Errorf("Stat(%q) = %+v, want a directory of size 0 with that path", dir, st)
		}
	}
	// A string prefix that is not a path element is neither.
	for _, p := range []string{"stat/di", "stat/dir/sub/ob", "stat/dir/sub/obj2"} {
		_, err := d.Stat(ctx, p)
		wantErr(t, err, storage.ErrNotFound, "Stat("+p+")")
	}
}
