package objectstore

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/berthreg/berth/storage"
)

// Writer implements storage.Driver.
//
// With offset 0 the writer buffers up to PartSize bytes and uploads each
// full buffer as a part of a multipart upload started on the first full
// buffer; Commit stores a small object with one Put, otherwise uploads the
// rest as the last part and completes the upload.
//
// With offset > 0 the object must exist with at least offset bytes. When
// offset >= MinPartSize, bytes [0, offset) become the first parts of a new
// multipart upload for the same key by server-side CopyPart (no data passes
// through this process). Below MinPartSize those bytes are read back and
// uploaded again: resuming an object through Writer costs up to MinPartSize
// of traffic, which is why the registry keeps upload sessions with
// SessionWriter instead.
//
// Either way the object is replaced atomically when Commit completes (a
// multipart upload shows only once completed); until then readers see the
// previous version. Close without Commit aborts the upload and leaves any
// earlier object untouched. Write uploads full parts with the context given
// to Writer; Commit and Cancel use their own.
func (d *Driver) Writer(ctx context.Context, p string, offset int64) (storage.FileWriter, error) {
	if err := d.check(p); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, fmt.Errorf("%s: write %q at %d: %w", d.name, p, offset, storage.ErrInvalidOffset)
	}
	w := &writer{u: upload{d: d, path: p}, ctx: ctx, offset: offset}
	if offset == 0 {
		return w, nil
	}
	o, err := d.head(ctx, "write", p)
	if err != nil {
		return nil, err
	}
	if o.Size < offset {
		return nil, fmt.Errorf("%s: write %q at %d of %d bytes: %w", d.name, p, offset, o.Size, storage.ErrInvalidOffset)
	}
	if offset >= d.o.MinPartSize {
		w.copyLen, w.etag = offset, o.ETag
		return w, nil
	}
	rc, err := d.b.Get(ctx, d.Key(p), 0)
	if err != nil {
		return nil, d.fail("write: read back", p, err)
	}
	defer rc.Close()
	w.u.grow(int(offset))
	w.u.buf = w.u.buf[:offset]
	if _, err := io.ReadFull(rc, w.u.buf); err != nil {
		w.u.release()
		return nil, d.fail("write: read back", p, err)
	}
	return w, nil
}

// writer is the storage.FileWriter of Driver.Writer.
type writer struct {
	u      upload
	ctx    context.Context
	offset int64 // resume offset
	n      int64 // bytes written since opening
	// copyLen bytes of the existing object (ETag etag) become the first
	// parts of the multipart upload, by server-side copy, once it starts.
	copyLen int64
	etag    string
	err     error // sticky failure of a part upload
	closed  bool
}

// Size implements storage.FileWriter.
func (w *writer) Size() int64 { return w.offset + w.n }

// prepare copies the resume prefix server-side before the first part.
func (w *writer) prepare(ctx context.Context) error {
	if w.copyLen == 0 {
		return nil
	}
	n := w.copyLen
	w.copyLen = 0
	return w.u.copyFrom(ctx, w.u.path, n, w.etag)
}

// Write implements storage.FileWriter, uploading a part whenever PartSize
// bytes are buffered.
func (w *writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, fmt.Errorf("%s: write %q: %w", w.u.d.name, w.u.path, storage.ErrClosed)
	}
	if w.err != nil {
		return 0, w.err
	}
	if len(p) >= int(w.u.d.o.PartSize)-len(w.u.buf) {
		if err := w.prepare(w.ctx); err != nil {
			w.err = err
			return 0, err
		}
	}
	n, err := w.u.write(w.ctx, p)
	w.n += int64(n)
	if err != nil {
		w.err = err
	}
	return n, err
}

// Commit implements storage.FileWriter.
func (w *writer) Commit(ctx context.Context) error {
	if w.closed {
		return fmt.Errorf("%s: commit %q: %w", w.u.d.name, w.u.path, storage.ErrClosed)
	}
	w.closed = true
	err := w.err
	if err == nil {
		err = w.prepare(ctx)
	}
	if err == nil {
		err = w.u.finish(ctx)
	}
	if err != nil {
		err = errors.Join(err, w.u.abort(ctx))
	}
	w.u.release()
	return err
}

// Cancel implements storage.FileWriter: it aborts the upload and deletes
// the object.
func (w *writer) Cancel(ctx context.Context) error {
	if w.closed {
		return fmt.Errorf("%s: cancel %q: %w", w.u.d.name, w.u.path, storage.ErrClosed)
	}
	w.closed = true
	w.u.release()
	err := w.u.abort(ctx)
	if derr := w.u.d.b.Delete(ctx, []string{w.u.d.Key(w.u.path)}); derr != nil {
		err = errors.Join(err, w.u.d.fail("cancel", w.u.path, derr))
	}
	return err
}

// Close implements storage.FileWriter: it aborts any multipart upload,
// leaving the committed object as it was.
func (w *writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	w.u.release()
	return w.u.abort(w.ctx)
}
