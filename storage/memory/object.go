package memory

import (
	"errors"
	"io"
	"sort"
	"time"
)

var errNegativeOffset = errors.New("memory: negative offset")

// object is one committed object: a list of chunks that are never modified
// once committed, so readers and later writers can share them.
type object struct {
	chunks  [][]byte
	starts  []int64 // starts[i] is the offset of chunks[i]
	size    int64
	modTime time.Time
}

// newObject assembles an object from chunks, dropping empty ones.
func newObject(chunks [][]byte, modTime time.Time) *object {
	o := &object{modTime: modTime}
	for _, c := range chunks {
		if len(c) == 0 {
			continue
		}
		o.chunks = append(o.chunks, c)
		o.starts = append(o.starts, o.size)
		o.size += int64(len(c))
	}
	return o
}

// head returns the chunks holding the first n bytes of o (n <= o.size),
// sharing o's memory.
func (o *object) head(n int64) [][]byte {
	var out [][]byte
	for i, c := range o.chunks {
		if o.starts[i] >= n {
			break
		}
		out = append(out, c[:min(int64(len(c)), n-o.starts[i])])
	}
	return out
}

// ReadAt implements io.ReaderAt.
func (o *object) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errNegativeOffset
	}
	if off >= o.size {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	// The last chunk starting at or before off.
	i := sort.Search(len(o.starts), func(i int) bool { return o.starts[i] > off }) - 1
	n := 0
	for ; i < len(o.chunks) && n < len(p); i++ {
		c := o.chunks[i]
		n += copy(p[n:], c[off+int64(n)-o.starts[i]:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// handle is a seekable, closable view of one object.
type handle struct {
	*io.SectionReader
}

// Close implements io.Closer; there is nothing to release.
func (handle) Close() error { return nil }
