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
		n, err := copyHashed(&dst, sum, iotestHalfReader{bytes.NewReader(src)})
		if err != nil || n != int64(size) || !bytes.Equal(dst.Bytes(), src) {
			t.Fatalf("size %d: n %d err %v, copied equal %v", size, n, err, bytes.Equal(dst.Bytes(), src))
		}
		want := sha256.Sum256(src)
		if !bytes.Equal(sum.Sum(nil), want[:]) {
			t.Fatalf("size %d: hash differs", size)
		}
	}
	big := make([]byte, 4*copyBufferSize)
	if _, err := copyHashed(&failingWriter{after: copyBufferSize}, sha256.New(), bytes.NewReader(big)); err == nil || errors.As(err, new(readError)) {
		t.Fatalf("write failure: got %v, want a non-read error", err)
	}
	broken := errors.New("connection reset")
	_, err := copyHashed(io.Discard, sha256.New(), failingReader{bytes.NewReader(big), broken})
	var re readError
	if !errors.As(err, &re) || !errors.Is(err, broken) {
		t.Fatalf("read failure: got %v, want readError wrapping it", err)
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
