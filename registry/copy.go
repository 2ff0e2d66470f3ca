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

// smallBufferSize is the buffer for bodies announced smaller than it.
const smallBufferSize = 32 << 10

var smallBuffers = sync.Pool{New: func() any { b := make([]byte, smallBufferSize); return &b }}

// markedReader hides a reader's WriterTo (so io.CopyBuffer uses our buffer)
// and marks its failures as readError.
type markedReader struct{ r io.Reader }

func (m markedReader) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	if err != nil && err != io.EOF {
		err = readError{err}
	}
	return n, err
}

// onlyWriter writes every buffer to sum, then to dst.
type onlyWriter struct{ dst, sum io.Writer }

func (w onlyWriter) Write(p []byte) (int, error) {
	_, _ = w.sum.Write(p)
	return w.dst.Write(p)
}

// copyHashed copies src to dst and feeds every byte to sum. Bodies that fit
// in one buffer are copied inline; longer ones are pipelined: this goroutine
// reads and hashes buffer n+1 while another writes buffer n, so hashing and
// storage writes overlap instead of adding up. Read errors are returned
// wrapped in readError so callers can tell a broken client from a broken
// disk.
func copyHashed(dst, sum io.Writer, src io.Reader, sizeHint int64) (int64, error) {
	if sizeHint >= 0 && sizeHint < smallBufferSize {
		// A small body (a config, a small layer): one small buffer, inline.
		buf := smallBuffers.Get().(*[]byte)
		defer smallBuffers.Put(buf)
		return io.CopyBuffer(onlyWriter{dst, sum}, markedReader{src}, *buf)
	}
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
