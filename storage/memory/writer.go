package memory

import (
	"context"
	"fmt"

	"github.com/berthreg/berth/storage"
)

// Chunk sizes for buffered writes: small objects get small chunks, large
// ones settle on maxChunk so no chunk is ever copied to grow.
const (
	minChunk = 512
	maxChunk = 1 << 20
)

// Writer implements storage.Driver. A resumed writer shares the committed
// chunks before offset; the bytes it writes are buffered and appended to them
// at Commit.
func (d *Driver) Writer(ctx context.Context, p string, offset int64) (storage.FileWriter, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkPath(p); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, fmt.Errorf("memory: writer %q: offset %d: %w", p, offset, storage.ErrInvalidOffset)
	}
	w := &writer{d: d, path: p, size: offset}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if offset == 0 {
		if err := d.conflict(p); err != nil {
			return nil, err
		}
		return w, nil
	}
	o := d.objects[p]
	if o == nil {
		return nil, fmt.Errorf("memory: resume %q: %w", p, storage.ErrNotFound)
	}
	if offset > o.size {
		return nil, fmt.Errorf("memory: resume %q at %d of %d bytes: %w", p, offset, o.size, storage.ErrInvalidOffset)
	}
	w.head = o.head(offset)
	return w, nil
}

// writer buffers one object's bytes until Commit. It is not safe for
// concurrent use, like any io.Writer.
type writer struct {
	d      *Driver
	path   string
	head   [][]byte // committed chunks kept from a resumed object
	chunks [][]byte // bytes written since the writer opened
	size   int64
	closed bool
}

// Write implements io.Writer.
func (w *writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, fmt.Errorf("memory: write %q: %w", w.path, storage.ErrClosed)
	}
	n := len(p)
	for len(p) > 0 {
		last := len(w.chunks) - 1
		if last < 0 || len(w.chunks[last]) == cap(w.chunks[last]) {
			c := minChunk
			if last >= 0 {
				c = 2 * cap(w.chunks[last])
			}
			c = min(max(c, len(p)), maxChunk)
			w.chunks = append(w.chunks, make([]byte, 0, c))
			last++
		}
		c := w.chunks[last]
		k := min(len(p), cap(c)-len(c))
		w.chunks[last] = append(c, p[:k]...)
		p = p[k:]
	}
	w.size += int64(n)
	return n, nil
}

// Size implements storage.FileWriter.
func (w *writer) Size() int64 { return w.size }

// Commit implements storage.FileWriter.
func (w *writer) Commit(ctx context.Context) error {
	if w.closed {
		return fmt.Errorf("memory: commit %q: %w", w.path, storage.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	chunks := make([][]byte, 0, len(w.head)+len(w.chunks))
	chunks = append(append(chunks, w.head...), w.chunks...)
	// Give back the unused tail of a small last chunk.
	if n := len(chunks) - 1; n >= 0 && cap(chunks[n]) > minChunk && cap(chunks[n]) > 2*len(chunks[n]) {
		chunks[n] = append([]byte(nil), chunks[n]...)
	}
	o := newObject(chunks, w.d.now())
	w.d.mu.Lock()
	defer w.d.mu.Unlock()
	if err := w.d.conflict(w.path); err != nil {
		return err
	}
	w.release()
	w.d.put(w.path, o)
	return nil
}

// Cancel implements storage.FileWriter.
func (w *writer) Cancel(ctx context.Context) error {
	if w.closed {
		return fmt.Errorf("memory: cancel %q: %w", w.path, storage.ErrClosed)
	}
	w.release()
	w.d.mu.Lock()
	w.d.remove(w.path)
	w.d.mu.Unlock()
	return nil
}

// Close implements storage.FileWriter.
func (w *writer) Close() error {
	w.release()
	return nil
}

// release marks the writer closed and drops its buffers.
func (w *writer) release() {
	w.closed = true
	w.head, w.chunks = nil, nil
}
