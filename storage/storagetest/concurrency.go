package storagetest

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/berthreg/berth/storage"
)

// testConcurrentReaders reads one object from many goroutines at once, each
// at its own offsets.
func testConcurrentReaders(t *testing.T, d storage.Driver) {
	const p = "cr/obj"
	data := pseudoRandom(9, 2<<20+17)
	put(t, d, p, data)

	const goroutines, reads = 16, 8
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			buf := make([]byte, 96<<10)
			for i := range reads {
				off := int64((g*reads+i)*7919*13) % int64(len(data)+1)
				if i == reads-1 {
					off = int64(len(data)) - int64(g)
				}
				r, err := d.Reader(t.Context(), p, off)
				if err != nil {
					t.Errorf("Reader at %d: %v", off, err)
					return
				}
				n, err := io.ReadFull(r, buf)
				r.Close()
				if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
					t.Errorf("reading at %d: %v", off, err)
					return
				}
				want := data[off:min(off+int64(len(buf)), int64(len(data)))]
				if !bytes.Equal(buf[:n], want) {
					t.Errorf("read at %d: %d bytes differ from the object (want %d)", off, n, len(want))
					return
				}
			}
		})
	}
	wg.Wait()
}

// testConcurrentWriters writes many objects at once, some in one shared
// directory and some in directories of their own.
func testConcurrentWriters(t *testing.T, d storage.Driver) {
	const goroutines = 16
	paths := make([]string, goroutines)
	contents := make([][]byte, goroutines)
	for g := range goroutines {
		if g%2 == 0 {
			paths[g] = fmt.Sprintf("cw/shared/%02d", g)
		} else {
			paths[g] = fmt.Sprintf("cw/own%02d/deep/obj", g)
		}
		contents[g] = pseudoRandom(uint64(100+g), 100000+g*1000)
	}
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			w, err := d.Writer(t.Context(), paths[g], 0)
			if err != nil {
				t.Errorf("Writer(%q): %v", paths[g], err)
				return
			}
			defer w.Close()
			data := contents[g]
			for len(data) > 0 {
				n := min(len(data), 4093)
				if _, err := w.Write(data[:n]); err != nil {
					t.Errorf("Write to %q: %v", paths[g], err)
					return
				}
				data = data[n:]
			}
			if err := w.Commit(t.Context()); err != nil {
				t.Errorf("Commit of %q: %v", paths[g], err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for g := range goroutines {
		wantContent(t, d, paths[g], contents[g])
	}
	if got := list(t, d, "cw/shared", "", 0); len(got) != goroutines/2 {
		t.Fatalf("List(cw/shared) = %q, want %d objects", got, goroutines/2)
	}
	if got := walkPaths(t, d, "cw"); len(got) != goroutines {
		t.Fatalf("Walk(cw) = %q, want %d objects", got, goroutines)
	}
}

// testConcurrentWriteDelete writes, reads and deletes objects in a shared
// directory from several goroutines, so directories keep appearing and
// disappearing under concurrent writers and moves.
func testConcurrentWriteDelete(t *testing.T, d storage.Driver) {
	const goroutines, rounds = 4, 15
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			ctx := t.Context()
			for i := range rounds {
				p := fmt.Sprintf("cwd/a/b/%d-%d", g, i)
				data := []byte(p)
				w, err := d.Writer(ctx, p, 0)
				if err != nil {
					t.Errorf("Writer(%q): %v", p, err)
					return
				}
				_, err = w.Write(data)
				if err == nil {
					err = w.Commit(ctx)
				}
				if err != nil {
					w.Close()
					t.Errorf("writing %q: %v", p, err)
					return
				}
				dst := fmt.Sprintf("cwd/moved/%d/%d", g, i)
				if err := d.Move(ctx, p, dst); err != nil {
					t.Errorf("Move(%q, %q): %v", p, dst, err)
					return
				}
				r, err := d.Reader(ctx, dst, 0)
				if err != nil {
					t.Errorf("Reader(%q): %v", dst, err)
					return
				}
				got, err := io.ReadAll(r)
				r.Close()
				if err != nil || !bytes.Equal(got, data) {
					t.Errorf("read %q = %q, %v; want %q", dst, got, err, data)
					return
				}
				if err := d.Delete(ctx, dst); err != nil {
					t.Errorf("Delete(%q): %v", dst, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	_, err := d.List(t.Context(), "cwd", "", 0)
	wantErr(t, err, storage.ErrNotFound, "List of a directory after every object below it was deleted")
	if got := walkPaths(t, d, ""); len(got) != 0 {
		t.Fatalf("objects left behind: %q", got)
	}
}
