package objectstoretest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/berthreg/berth/storage"
	"github.com/berthreg/berth/storage/memory"
	"github.com/berthreg/berth/storage/objectstore"
)

// pattern returns n deterministic bytes.
func pattern(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7+i/251)
	}
	return b
}

func putObject(t *testing.T, d storage.Driver, p string, offset int64, data []byte) {
	t.Helper()
	w, err := d.Writer(t.Context(), p, offset)
	if err != nil {
		t.Fatalf("Writer(%q, %d): %v", p, offset, err)
	}
	defer w.Close()
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(t.Context()); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

func readObject(t *testing.T, d storage.Driver, p string) []byte {
	t.Helper()
	r, err := d.Reader(t.Context(), p, 0)
	if err != nil {
		t.Fatalf("Reader(%q): %v", p, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// minPart is the part minimum of the tests' resumes: above 5 MiB, S3's,
// whatever smaller minimum the adapter's store has.
const minPart = 5 << 20

// testResumeServerSideCopy resumes above the part minimum, where the
// committed prefix is copied server-side: discarding a tail, appending, and
// closing a resumed writer without Commit.
func testResumeServerSideCopy(t *testing.T, h *harness) {
	d := h.driver(t, Setup{})
	const p = "big/obj"
	data := pattern(1, 12<<20+5)
	putObject(t, d, p, 0, data)

	// Close without Commit leaves the object as it was.
	w, err := d.Writer(t.Context(), p, 7<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(pattern(9, 9<<20)); err != nil { // uploads the copy and one part
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readObject(t, d, p), data) {
		t.Fatal("Close of a resumed writer changed the object")
	}

	// Resume at 6 MiB: the tail is discarded and replaced.
	tail := pattern(2, 3<<20)
	putObject(t, d, p, minPart+1<<20, tail)
	want := append(append([]byte{}, data[:minPart+1<<20]...), tail...)
	if got := readObject(t, d, p); !bytes.Equal(got, want) {
		t.Fatalf("after resuming at 6 MiB: %d bytes, want %d matching", len(got), len(want))
	}
	// Resume at the exact size with nothing written keeps it.
	putObject(t, d, p, int64(len(want)), nil)
	if got := readObject(t, d, p); !bytes.Equal(got, want) {
		t.Fatal("resuming at the end and committing nothing changed the object")
	}
}

// testMultipartMove moves an object larger than the copy limit, lowered
// for the test to 10 MiB.
func testMultipartMove(t *testing.T, h *harness) {
	d := h.driver(t, Setup{Options: func(o *objectstore.Options) {
		o.MaxCopySize, o.MaxPartSize = 10<<20, 10<<20
	}})
	data := pattern(3, 25<<20+3)
	putObject(t, d, "mv/src", 0, data)
	if err := d.Move(t.Context(), "mv/src", "mv/dst"); err != nil {
		t.Fatal(err)
	}
	if got := readObject(t, d, "mv/dst"); !bytes.Equal(got, data) {
		t.Fatalf("moved object: %d bytes, want %d matching", len(got), len(data))
	}
	if _, err := d.Stat(t.Context(), "mv/src"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Stat of the moved source: %v", err)
	}
	// Resuming with a lowered copy limit splits the copied prefix too.
	putObject(t, d, "mv/dst", 22<<20, []byte("end"))
	want := append(append([]byte{}, data[:22<<20]...), "end"...)
	if got := readObject(t, d, "mv/dst"); !bytes.Equal(got, want) {
		t.Fatalf("resumed object: %d bytes, want %d matching", len(got), len(want))
	}
}

// testListPagingOrder lists with pages of one, two and three keys, where
// the store's order (a directory at "x/b/") and the contract's ("x/b"
// before "x/b.txt") differ across page boundaries, and compares with
// storage/memory.
func testListPagingOrder(t *testing.T, h *harness) {
	d := h.driver(t, Setup{})
	ref := memory.New()
	tree := []string{"x/a", "x/b!", "x/b-c/d", "x/b.txt", "x/b/c", "x/b/d/e", "x/b0", "x/bb", "x/c", "x/c!", "y"}
	for _, p := range tree {
		putObject(t, d, p, 0, []byte(p))
		putObject(t, ref, p, 0, []byte(p))
	}
	for _, page := range []int{1, 2, 3, 0} {
		d := h.driver(t, Setup{Root: d.Root(), Options: func(o *objectstore.Options) { o.ListPageSize = page }})
		for _, prefix := range []string{"", "x", "x/b"} {
			for _, after := range []string{"", "x/a", "x/b", "x/b!", "x/b.", "x/b.txt", "x/b/zz", "x/bz"} {
				for _, limit := range []int{0, 1, 2, 3, 5} {
					want, werr := ref.List(t.Context(), prefix, after, limit)
					got, err := d.List(t.Context(), prefix, after, limit)
					if err != nil || werr != nil || !slices.Equal(got, want) {
						t.Errorf("page %d: List(%q, %q, %d) = %q, %v; want %q, %v", page, prefix, after, limit, got, err, want, werr)
					}
				}
			}
		}
	}
}

// failingParts is a Bucket whose UploadPart fails for one part number.
type failingParts struct {
	objectstore.Bucket
	num int32
}

var errInjected = errors.New("objectstoretest: injected part failure")

func (f failingParts) UploadPart(ctx context.Context, key, id string, num int32, body []byte) (string, error) {
	if num == f.num {
		return "", errInjected
	}
	return f.Bucket.UploadPart(ctx, key, id, num, body)
}

// testConcurrentParts writes a 40 MiB object in 5 MiB parts uploaded in
// line and four at a time, and a session the same way; then a writer whose
// third part fails in the background: Commit reports it, the object stays
// as it was, and no multipart upload is left behind.
func testConcurrentParts(t *testing.T, h *harness) {
	data := pattern(4, 40<<20+9)
	for _, n := range []int{1, 4} {
		tune := func(o *objectstore.Options) { o.PartSize, o.Concurrency = minPart, n }
		d := h.driver(t, Setup{Options: tune})
		putObject(t, d, "c/obj", 0, data)
		if got := readObject(t, d, "c/obj"); !bytes.Equal(got, data) {
			t.Fatalf("concurrency %d: %d bytes, want %d matching", n, len(got), len(data))
		}
		var state []byte
		for off := 0; off < len(data); off += 13 << 20 {
			w, err := d.SessionWriter(t.Context(), "c/sess", state)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(data[off:min(off+13<<20, len(data))]); err != nil {
				t.Fatal(err)
			}
			if state, err = w.Save(t.Context()); err != nil {
				t.Fatalf("concurrency %d: Save: %v", n, err)
			}
		}
		if err := d.CompleteSession(t.Context(), "c/sess", state); err != nil {
			t.Fatal(err)
		}
		if got := readObject(t, d, "c/sess"); !bytes.Equal(got, data) {
			t.Fatalf("concurrency %d: session: %d bytes, want %d matching", n, len(got), len(data))
		}

		failing := h.driver(t, Setup{Root: d.Root(), Options: tune, Wrap: func(b objectstore.Bucket) objectstore.Bucket {
			return failingParts{Bucket: b, num: 3}
		}})
		w, err := failing.Writer(t.Context(), "c/obj", 0)
		if err != nil {
			t.Fatal(err)
		}
		_, werr := w.Write(pattern(6, 30<<20))
		cerr := w.Commit(t.Context())
		if !errors.Is(werr, errInjected) && !errors.Is(cerr, errInjected) {
			t.Fatalf("concurrency %d: a failed part went unreported: Write %v, Commit %v", n, werr, cerr)
		}
		if got := readObject(t, d, "c/obj"); !bytes.Equal(got, data) {
			t.Fatalf("concurrency %d: a failed commit changed the object", n)
		}
	}
}
