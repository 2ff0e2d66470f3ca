package registry

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

type failingWriter struct{ after int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.after -= len(p); w.after < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

type failingReader struct {
	r   io.Reader
	err error
}

func (f failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func TestCopyHashed(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, size := range []int{0, 1, 4096, copyBufferSize - 1, copyBufferSize, copyBufferSize + 1, 3*copyBufferSize + 7} {
		src := make([]byte, size)
		for i := range src {
			src[i] = byte(rng.Uint32())
		}
		var dst bytes.Buffer
		sum := sha256.New()
		for _, hint := range []int64{-1, int64(size)} {
			dst.Reset()
			sum.Reset()
			n, err := copyHashed(&dst, sum, iotestHalfReader{bytes.NewReader(src)}, hint)
			if err != nil || n != int64(size) || !bytes.Equal(dst.Bytes(), src) {
				t.Fatalf("size %d hint %d: n %d err %v, copied equal %v", size, hint, n, err, bytes.Equal(dst.Bytes(), src))
			}
			want := sha256.Sum256(src)
			if !bytes.Equal(sum.Sum(nil), want[:]) {
				t.Fatalf("size %d hint %d: hash differs", size, hint)
			}
		}
	}
	big := make([]byte, 4*copyBufferSize)
	broken := errors.New("connection reset")
	for _, c := range []struct {
		data []byte
		hint int64
	}{{big, -1}, {big[:1000], 1000}} {
		if _, err := copyHashed(&failingWriter{after: len(c.data) / 2}, sha256.New(), bytes.NewReader(c.data), c.hint); err == nil || errors.As(err, new(readError)) {
			t.Fatalf("write failure (%d bytes): got %v, want a non-read error", len(c.data), err)
		}
		_, err := copyHashed(io.Discard, sha256.New(), failingReader{bytes.NewReader(c.data), broken}, c.hint)
		var re readError
		if !errors.As(err, &re) || !errors.Is(err, broken) {
			t.Fatalf("read failure (%d bytes): got %v, want readError wrapping it", len(c.data), err)
		}
	}
}

// iotestHalfReader returns at most half of what is asked, as a network
// connection often does.
type iotestHalfReader struct{ r io.Reader }

func (h iotestHalfReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:len(p)/2]
	}
	return h.r.Read(p)
}
