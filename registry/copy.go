package registry

import (
	"io"
	"sync"
	"sync/atomic"
)

// copyBufferSize is the unit in which upload bodies are read, hashed and
// written: large enough that each storage write is big, small enough that
// many concurrent uploads stay cheap. Buffers are pooled.
const copyBufferSize = 256 << 10

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, copyBufferSize); return &b }}

// copyHashed copies src to dst and feeds every byte to sum. Bodies that fit
// in one buffer are copied inline; longer ones are pipelined: this goroutine
// reads and hashes buffer n+1 while another writes buffer n, so hashing and
// storage writes overlap instead of adding up. Read errors are returned
// wrapped in readError so callers can tell a broken client from a broken
// disk.
func copyHashed(dst, sum io.Writer, src io.Reader) (int64, error) {
	first := copyBuffers.Get().(*[]byte)
	n, err := io.ReadFull(src, *first)
	if n > 0 {
		_, _ = sum.Write((*first)[:n])
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		// The whole body fit in one buffer.
		defer copyBuffers.Put(first)
		if n > 0 {
			if _, werr := dst.Write((*first)[:n]); werr != nil {
				return 0, werr
			}
		}
		return int64(n), nil
	}
	if err != nil {
		copyBuffers.Put(first)
		return int64(n), readError{err}
	}

	type chunk struct {
		buf *[]byte
		n   int
	}
	work := make(chan chunk, 1)
	free := make(chan *[]byte, 2)
	free <- copyBuffers.Get().(*[]byte)
	var werr error
	var failed atomic.Bool // set once werr is; stops reading early
	done := make(chan struct{})
	go func() {
		defer close(done)
		for c := range work {
			if werr == nil {
				if _, werr = dst.Write((*c.buf)[:c.n]); werr != nil {
					failed.Store(true)
				}
			}
			free <- c.buf
		}
	}()
	total := int64(n)
	work <- chunk{first, n}
	var rerr error
	for !failed.Load() {
		buf := <-free
		m, err := io.ReadFull(src, *buf)
		if m > 0 {
			_, _ = sum.Write((*buf)[:m])
			total += int64(m)
			work <- chunk{buf, m}
		} else {
			free <- buf
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			rerr = readError{err}
			break
		}
	}
	close(work)
	<-done
	close(free)
	for b := range free {
		copyBuffers.Put(b)
	}
	if werr != nil {
		return total, werr
	}
	return total, rerr
}

// readError marks a failure to read the request body.
type readError struct{ err error }

func (e readError) Error() string { return e.err.Error() }
func (e readError) Unwrap() error { return e.err }
