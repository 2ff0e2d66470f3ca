package fs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/berthreg/berth/storage"
)

// bufferSize is the write buffer of every writer, so that many small Write
// calls cost one system call per 64 KiB. Writes at least this large go
// straight to the file, so callers that stream big buffers pay no copy.
const bufferSize = 64 << 10

// buffers recycles write buffers between writers.
var buffers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, bufferSize) }}

// Writer implements storage.Driver. With offset 0 it writes a temporary file
// that Commit renames over path; with offset > 0 it appends to the committed
// file in place, first cutting it to offset (on the first write, or at
// Commit), so a writer closed without writing leaves the file untouched.
func (d *Driver) Writer(ctx context.Context, p string, offset int64) (storage.FileWriter, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkPath(p); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, fmt.Errorf("fs: writer %q at %d: %w", p, offset, storage.ErrInvalidOffset)
	}
	w := &writer{d: d, path: p, full: d.full(p), size: offset}
	if offset == 0 {
		dir := filepath.Dir(w.full)
		err := d.inDir(dir, func() (err error) {
			w.file.f, err = createTemp(dir)
			return err
		})
		if err != nil {
			d.prune(dir)
			return nil, fmt.Errorf("fs: writer %q: %w", p, err)
		}
		w.tmp = w.file.f.Name()
		w.file.sync = d.sync
	} else {
		f, err := os.OpenFile(w.full, os.O_WRONLY, 0)
		if err != nil {
			if isNotFound(err) || errors.Is(err, syscall.EISDIR) {
				return nil, notFound("resume", p)
			}
			return nil, fmt.Errorf("fs: resume %q: %w", p, err)
		}
		fi, err := f.Stat()
		switch {
		case err != nil:
			f.Close()
			return nil, fmt.Errorf("fs: resume %q: %w", p, err)
		case !fi.Mode().IsRegular():
			f.Close()
			return nil, notFound("resume", p)
		case offset > fi.Size():
			f.Close()
			return nil, fmt.Errorf("fs: resume %q at %d of %d bytes: %w", p, offset, fi.Size(), storage.ErrInvalidOffset)
		}
		if _, err := f.Seek(offset, 0); err != nil {
			f.Close()
			return nil, fmt.Errorf("fs: resume %q: %w", p, err)
		}
		w.file = file{f: f, cut: offset != fi.Size(), at: offset, sync: d.sync}
	}
	w.buf = buffers.Get().(*bufio.Writer)
	w.buf.Reset(&w.file)
	return w, nil
}

// file is the io.Writer under a writer's buffer. A resumed file is cut to
// the resume offset before its first write.
type file struct {
	f   *os.File
	cut bool  // truncate to at before writing
	at  int64 // resume offset
	// With sync on, dirty data is handed to the disk every writebackChunk
	// bytes instead of all at once by the fsync in Commit: the disk works
	// while more bytes arrive, and Commit's fsync has little left to do.
	sync    bool
	written int64 // bytes written since the writer opened
	kicked  int64 // bytes of those already handed to writeback
}

// writebackChunk is how many written bytes trigger early writeback.
const writebackChunk = 4 << 20

// Write implements io.Writer.
func (f *file) Write(p []byte) (int, error) {
	if err := f.truncate(); err != nil {
		return 0, err
	}
	n, err := f.f.Write(p)
	f.written += int64(n)
	if f.sync && f.written-f.kicked >= writebackChunk {
		startWriteback(f.f, f.at+f.kicked, f.written-f.kicked)
		f.kicked = f.written
	}
	return n, err
}

// copyFile appends up to limit bytes of src (to its end when limit < 0)
// with the kernel's copy_file_range where the system has it, in
// writebackChunk pieces so that writeback starts as it goes.
func (f *file) copyFile(src *os.File, limit int64) (int64, error) {
	if err := f.truncate(); err != nil {
		return 0, err
	}
	var total int64
	for limit < 0 || total < limit {
		piece := int64(writebackChunk)
		if limit >= 0 {
			piece = min(piece, limit-total)
		}
		n, err := f.f.ReadFrom(&io.LimitedReader{R: src, N: piece})
		total += n
		f.written += n
		if f.sync && f.written-f.kicked >= writebackChunk {
			startWriteback(f.f, f.at+f.kicked, f.written-f.kicked)
			f.kicked = f.written
		}
		if err != nil || n < piece {
			return total, err
		}
	}
	return total, nil
}

// fileSource reports whether r reads a file: the file and how many bytes
// r may read of it (-1: to its end).
func fileSource(r io.Reader) (*os.File, int64, bool) {
	limit := int64(-1)
	if lr, ok := r.(*io.LimitedReader); ok {
		r, limit = lr.R, max(lr.N, 0)
	}
	f, ok := r.(*os.File)
	return f, limit, ok
}

// truncate discards the bytes after the resume offset, once.
func (f *file) truncate() error {
	if !f.cut {
		return nil
	}
	if err := f.f.Truncate(f.at); err != nil {
		return err
	}
	f.cut = false
	return nil
}

// writer is a storage.FileWriter over one file. Like any io.Writer it is not
// safe for concurrent use.
type writer struct {
	d      *Driver
	path   string
	full   string // final file name
	tmp    string // temporary file name; "" when resuming in place
	file   file
	buf    *bufio.Writer
	size   int64
	closed bool
}

// Write implements io.Writer.
func (w *writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, fmt.Errorf("fs: write %q: %w", w.path, storage.ErrClosed)
	}
	n, err := w.buf.Write(p)
	w.size += int64(n)
	if err != nil {
		return n, fmt.Errorf("fs: write %q: %w", w.path, err)
	}
	return n, nil
}

// ReadFrom lets io.Copy fill the writer's buffer directly; from a file
// (or a limited reader of one) the kernel copies (copyFile).
func (w *writer) ReadFrom(r io.Reader) (int64, error) {
	if w.closed {
		return 0, fmt.Errorf("fs: write %q: %w", w.path, storage.ErrClosed)
	}
	var n int64
	var err error
	if src, limit, ok := fileSource(r); ok {
		if err = w.buf.Flush(); err == nil {
			n, err = w.file.copyFile(src, limit)
		}
		if lr, ok := r.(*io.LimitedReader); ok {
			lr.N -= n
		}
	} else {
		n, err = w.buf.ReadFrom(r)
	}
	w.size += n
	if err != nil {
		return n, fmt.Errorf("fs: write %q: %w", w.path, err)
	}
	return n, nil
}

// Size implements storage.FileWriter.
func (w *writer) Size() int64 { return w.size }

// Commit implements storage.FileWriter: flush, truncate if nothing was
// written after a resume offset, fsync, close, and for a new object rename
// into place and fsync the directory.
func (w *writer) Commit(ctx context.Context) error {
	if w.closed {
		return fmt.Errorf("fs: commit %q: %w", w.path, storage.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	err := w.buf.Flush()
	if err == nil {
		err = w.file.truncate()
	}
	if err == nil && w.d.sync {
		err = w.file.f.Sync()
	}
	w.release()
	if cerr := w.file.f.Close(); err == nil {
		err = cerr
	}
	if err == nil && w.tmp != "" {
		err = os.Rename(w.tmp, w.full)
		if err == nil {
			err = w.d.syncDir(filepath.Dir(w.full))
		}
	}
	if err != nil {
		w.discardTemp()
		return fmt.Errorf("fs: commit %q: %w", w.path, err)
	}
	return nil
}

// Cancel implements storage.FileWriter: the temporary file and any committed
// object at the path are removed.
func (w *writer) Cancel(ctx context.Context) error {
	if w.closed {
		return fmt.Errorf("fs: cancel %q: %w", w.path, storage.ErrClosed)
	}
	w.release()
	w.file.f.Close()
	if w.tmp != "" {
		os.Remove(w.tmp)
	}
	if err := os.Remove(w.full); err != nil && !isNotFound(err) {
		return fmt.Errorf("fs: cancel %q: %w", w.path, err)
	}
	w.d.prune(filepath.Dir(w.full))
	return nil
}

// Close implements storage.FileWriter. Buffered bytes are dropped; for a
// resumed writer, bytes already flushed stay in the file until a later
// writer cuts them off.
func (w *writer) Close() error {
	if w.closed {
		return nil
	}
	w.release()
	err := w.file.f.Close()
	w.discardTemp()
	if err != nil && !errors.Is(err, iofs.ErrClosed) {
		return fmt.Errorf("fs: close %q: %w", w.path, err)
	}
	return nil
}

// release marks the writer closed and returns its buffer to the pool.
func (w *writer) release() {
	w.closed = true
	if w.buf != nil {
		w.buf.Reset(nil)
		buffers.Put(w.buf)
		w.buf = nil
	}
}

// discardTemp removes the temporary file of a new object and any directory
// its creation left empty.
func (w *writer) discardTemp() {
	if w.tmp == "" {
		return
	}
	os.Remove(w.tmp)
	w.d.prune(filepath.Dir(w.tmp))
}
