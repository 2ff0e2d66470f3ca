package storagetest

import (
	"bytes"
	"crypto/sha256"
	"hash"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/berthreg/berth/storage"
)

// largeSize is a little over 256 MiB, deliberately not a multiple of any
// buffer size.
const largeSize = 256<<20 + 4099

// testLargeStream streams largeSize deterministic bytes into the driver in
// pieces of varying size, committing and resuming once half way, then reads
// the object back (whole, and from an offset near the end) and compares
// SHA-256 sums. The data is generated on the fly and never held in memory.
func testLargeStream(t *testing.T, d storage.Driver) {
	if testing.Short() {
		t.Skip("streams 256 MiB; skipped with -short")
	}
	const p = "large/obj"
	const tailOffset = largeSize - 37<<20 - 11
	gen := rand.NewChaCha8([32]byte{'b', 'e', 'r', 't', 'h'})
	whole, tail := sha256.New(), sha256.New()
	buf := make([]byte, 1<<20+1)
	pieces := []int{1 << 20, 1, 65536, 777777, 4096, 1<<20 + 1, 3}

	w := openWriter(t, d, p, 0)
	resumed := false
	var pos int64
	for i := 0; pos < largeSize; i++ {
		n := int(min(int64(pieces[i%len(pieces)]), largeSize-pos))
		chunk := buf[:n]
		_, _ = gen.Read(chunk)
		whole.Write(chunk)
		if end := pos + int64(n); end > tailOffset {
			tail.Write(chunk[max(0, tailOffset-pos):])
		}
		if m, err := w.Write(chunk); err != nil || m != n {
			t.Fatalf("Write of %d bytes at %d = %d, %v", n, pos, m, err)
		}
		pos += int64(n)
		if !resumed && pos >= largeSize/2 {
			resumed = true
			if w.Size() != pos {
				t.Fatalf("Size() = %d, want %d", w.Size(), pos)
			}
			commit(t, w)
			w = openWriter(t, d, p, pos)
		}
	}
	if w.Size() != largeSize {
		t.Fatalf("Size() = %d, want %d", w.Size(), largeSize)
	}
	commit(t, w)

	st, err := d.Stat(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size != largeSize {
		t.Fatalf("Stat size = %d, want %d", st.Size, largeSize)
	}
	checkSum(t, d, p, 0, largeSize, whole, buf)
	checkSum(t, d, p, tailOffset, largeSize-tailOffset, tail, buf)
}

// checkSum reads the object at p from offset and compares its length and
// SHA-256 with want.
func checkSum(t *testing.T, d storage.Driver, p string, offset, size int64, want hash.Hash, buf []byte) {
	t.Helper()
	r, err := d.Reader(t.Context(), p, offset)
	if err != nil {
		t.Fatalf("Reader at %d: %v", offset, err)
	}
	defer r.Close()
	got := sha256.New()
	n, err := io.CopyBuffer(got, r, buf)
	if err != nil {
		t.Fatalf("reading from %d: %v", offset, err)
	}
	if n != size {
		t.Fatalf("read %d bytes from %d, want %d", n, offset, size)
	}
	if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatalf("SHA-256 of the bytes read from %d differs from what was written", offset)
	}
}
