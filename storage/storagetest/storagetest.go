package storagetest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/berthreg/berth/storage"
)

// Run runs the conformance suite against the driver returned by newDriver.
// Every subtest calls newDriver with its own *testing.T and expects an empty
// driver.
func Run(t *testing.T, newDriver func(t *testing.T) storage.Driver) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, d storage.Driver)
	}{
		{"RoundTrip", testRoundTrip},
		{"Overwrite", testOverwrite},
		{"ZeroByte", testZeroByte},
		{"ReaderOffsets", testReaderOffsets},
		{"Stat", testStat},
		{"ResumableWriter", testResumableWriter},
		{"CopyFromFile", testCopyFromFile},
		{"ResumeDiscardsTail", testResumeDiscardsTail},
		{"ResumeInvalidOffset", testResumeInvalidOffset},
		{"CloseWithoutCommit", testCloseWithoutCommit},
		{"Cancel", testCancel},
		{"WriterClosed", testWriterClosed},
		{"List", testList},
		{"ListPaging", testListPaging},
		{"ListMissing", testListMissing},
		{"Walk", testWalk},
		{"WalkStop", testWalkStop},
		{"WalkMissing", testWalkMissing},
		{"WalkDelete", testWalkDelete},
		{"Move", testMove},
		{"MoveReplaces", testMoveReplaces},
		{"MoveMissing", testMoveMissing},
		{"Delete", testDelete},
		{"DeleteDirectory", testDeleteDirectory},
		{"DeleteMissing", testDeleteMissing},
		{"NotFound", testNotFound},
		{"InvalidPath", testInvalidPath},
		{"Opener", testOpener},
		{"Sessions", testSessions},
		{"ConcurrentReaders", testConcurrentReaders},
		{"ConcurrentWriters", testConcurrentWriters},
		{"ConcurrentWriteDelete", testConcurrentWriteDelete},
		{"LargeStream", testLargeStream},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newDriver(t)
			if d == nil {
				t.Fatal("newDriver returned nil")
			}
			tc.fn(t, d)
		})
	}
}

// pseudoRandom returns n deterministic bytes derived from seed.
func pseudoRandom(seed uint64, n int) []byte {
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(key).Read(b)
	return b
}

// openWriter opens a writer or fails the test.
func openWriter(t *testing.T, d storage.Driver, p string, offset int64) storage.FileWriter {
	t.Helper()
	w, err := d.Writer(t.Context(), p, offset)
	if err != nil {
		t.Fatalf("Writer(%q, %d): %v", p, offset, err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w
}

// writeAll writes data to w in uneven pieces, checking every Write result.
func writeAll(t *testing.T, w storage.FileWriter, data []byte) {
	t.Helper()
	pieces := []int{1, 3, 1000, 64 << 10, 7}
	for i := 0; len(data) > 0; i++ {
		n := min(pieces[i%len(pieces)], len(data))
		m, err := w.Write(data[:n])
		if err != nil {
			t.Fatalf("Write(%d bytes): %v", n, err)
		}
		if m != n {
			t.Fatalf("Write(%d bytes) = %d", n, m)
		}
		data = data[n:]
	}
}

// commit commits w or fails the test.
func commit(t *testing.T, w storage.FileWriter) {
	t.Helper()
	if err := w.Commit(t.Context()); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

// put stores data at p with a new writer.
func put(t *testing.T, d storage.Driver, p string, data []byte) {
	t.Helper()
	w := openWriter(t, d, p, 0)
	writeAll(t, w, data)
	if got := w.Size(); got != int64(len(data)) {
		t.Fatalf("Size() = %d after writing %d bytes to %q", got, len(data), p)
	}
	commit(t, w)
}

// get reads the object at p from offset to the end.
func get(t *testing.T, d storage.Driver, p string, offset int64) []byte {
	t.Helper()
	r, err := d.Reader(t.Context(), p, offset)
	if err != nil {
		t.Fatalf("Reader(%q, %d): %v", p, offset, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading %q from %d: %v", p, offset, err)
	}
	return b
}

// wantContent checks that the object at p holds exactly want.
func wantContent(t *testing.T, d storage.Driver, p string, want []byte) {
	t.Helper()
	got := get(t, d, p, 0)
	if !bytes.Equal(got, want) {
		t.Fatalf("content of %q: got %d bytes %s, want %d bytes %s", p, len(got), short(got), len(want), short(want))
	}
	st, err := d.Stat(t.Context(), p)
	if err != nil {
		t.Fatalf("Stat(%q): %v", p, err)
	}
	if st.Size != int64(len(want)) || st.IsDir {
		t.Fatalf("Stat(%q) = size %d dir %v, want size %d dir false", p, st.Size, st.IsDir, len(want))
	}
}

// wantErr checks that err matches target with errors.Is.
func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want %v", what, err, target)
	}
}

// wantGone checks that no object and no directory exists at p.
func wantGone(t *testing.T, d storage.Driver, p string) {
	t.Helper()
	_, err := d.Stat(t.Context(), p)
	wantErr(t, err, storage.ErrNotFound, "Stat("+p+")")
	r, err := d.Reader(t.Context(), p, 0)
	if err == nil {
		r.Close()
	}
	wantErr(t, err, storage.ErrNotFound, "Reader("+p+")")
}

// walkPaths returns the paths Walk visits below prefix.
func walkPaths(t *testing.T, d storage.Driver, prefix string) []string {
	t.Helper()
	var got []string
	err := d.Walk(t.Context(), prefix, func(fi storage.FileInfo) error {
		got = append(got, fi.Path)
		return nil
	})
	if err != nil {
		t.Fatalf("Walk(%q): %v", prefix, err)
	}
	return got
}

// short formats the head of b for failure messages.
func short(b []byte) string {
	const n = 16
	if len(b) > n {
		return fmt.Sprintf("%q…", b[:n])
	}
	return fmt.Sprintf("%q", b)
}
