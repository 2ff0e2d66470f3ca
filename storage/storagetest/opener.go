package storagetest

import (
	"bytes"
	"io"
	"testing"

	"github.com/berthreg/berth/storage"
)

// testOpener checks storage.Opener when the driver implements it.
func testOpener(t *testing.T, d storage.Driver) {
	o, ok := d.(storage.Opener)
	if !ok {
		t.Skip("driver does not implement storage.Opener")
	}
	ctx := t.Context()
	data := pseudoRandom(8, 300000)
	put(t, d, "open/obj", data)

	f, err := o.Open(ctx, "open/obj")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer f.Close()
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil || end != int64(len(data)) {
		t.Fatalf("Seek to end = %d, %v; want %d", end, err, len(data))
	}
	for _, off := range []int64{12345, 0, 299999, 70000} {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			t.Fatalf("Seek(%d): %v", off, err)
		}
		buf := make([]byte, 1000)
		n, err := io.ReadFull(f, buf)
		if err != nil && err != io.ErrUnexpectedEOF {
			t.Fatalf("read at %d: %v", off, err)
		}
		if want := data[off:min(off+1000, int64(len(data)))]; !bytes.Equal(buf[:n], want) {
			t.Fatalf("read at %d returned %d bytes that differ from the object", off, n)
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	all, err := io.ReadAll(f)
	if err != nil || !bytes.Equal(all, data) {
		t.Fatalf("reading the whole handle: %d bytes, %v", len(all), err)
	}

	for _, p := range []string{"open/missing", "open", "open/obj/below"} {
		f, err := o.Open(ctx, p)
		if err == nil {
			f.Close()
		}
		wantErr(t, err, storage.ErrNotFound, "Open("+p+")")
	}
}
