package objectstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/berthreg/berth/storage"
)

// SessionWriter implements storage.Sessioner. Bytes fill parts of PartSize
// as they arrive; Save uploads what is buffered as one more part when it
// reaches MinPartSize and keeps a shorter tail in the returned state, so no
// byte is ever uploaded twice or read back, whatever the chunk sizes. A
// session's multipart upload starts with its first part; one that stays
// below MinPartSize lives entirely in its state until CompleteSession puts
// it.
func (d *Driver) SessionWriter(ctx context.Context, p string, state []byte) (storage.SessionWriter, error) {
	if err := d.check(p); err != nil {
		return nil, err
	}
	s, err := d.decode(p, state)
	if err != nil {
		return nil, err
	}
	w := &sessionWriter{u: upload{d: d, path: p, id: s.id, parts: s.parts}, ctx: ctx}
	if len(s.tail) > 0 {
		w.u.grow(len(s.tail))
		w.u.buf = append(w.u.buf, s.tail...)
	}
	w.base = w.u.size()
	return w, nil
}

// decode parses the state of the session at p.
func (d *Driver) decode(p string, state []byte) (sessionState, error) {
	s, err := decodeState(state, d.o.MaxParts)
	if err != nil {
		return s, fmt.Errorf("%s: session %q: %w", d.name, p, err)
	}
	return s, nil
}

// CompleteSession implements storage.Sessioner: the tail becomes the last
// part and the multipart upload is completed, or a session that never
// reached MinPartSize is stored with one Put.
func (d *Driver) CompleteSession(ctx context.Context, p string, state []byte) error {
	if err := d.check(p); err != nil {
		return err
	}
	s, err := d.decode(p, state)
	if err != nil {
		return err
	}
	u := upload{d: d, path: p, id: s.id, parts: s.parts, buf: s.tail}
	err = u.finish(ctx)
	if err == nil || !errors.Is(err, ErrNoSuchUpload) {
		return err
	}
	// Completed before (the caller is retrying after a failure that came
	// later): the object is there if it has the session's size.
	if o, herr := d.head(ctx, "complete session", p); herr == nil && o.Size == s.size() {
		return nil
	}
	return err
}

// AbortSession implements storage.Sessioner.
func (d *Driver) AbortSession(ctx context.Context, p string, state []byte) error {
	if err := d.check(p); err != nil {
		return err
	}
	s, err := d.decode(p, state)
	if err != nil {
		return err
	}
	u := upload{d: d, path: p, id: s.id}
	return u.abort(ctx)
}

// SessionChunkSize implements storage.Sessioner: MinPartSize.
func (d *Driver) SessionChunkSize() int64 { return d.o.MinPartSize }

// sessionWriter is the storage.SessionWriter of Driver.SessionWriter.
type sessionWriter struct {
	u      upload
	ctx    context.Context
	base   int64 // bytes the session held when opened
	n      int64 // bytes written since
	err    error // sticky failure of a part upload
	closed bool
}

// Size implements storage.SessionWriter.
func (w *sessionWriter) Size() int64 { return w.base + w.n }

// Write implements storage.SessionWriter.
func (w *sessionWriter) Write(p []byte) (int, error) {
	if w.closed {
		return 0, fmt.Errorf("%s: write session %q: %w", w.u.d.name, w.u.path, storage.ErrClosed)
	}
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.u.write(w.ctx, p)
	w.n += int64(n)
	if err != nil {
		w.err = err
	}
	return n, err
}

// Save implements storage.SessionWriter.
func (w *sessionWriter) Save(ctx context.Context) ([]byte, error) {
	if w.closed {
		return nil, fmt.Errorf("%s: save session %q: %w", w.u.d.name, w.u.path, storage.ErrClosed)
	}
	w.closed = true
	defer w.u.release()
	if w.err != nil {
		return nil, w.err
	}
	if int64(len(w.u.buf)) >= w.u.d.o.MinPartSize {
		if err := w.u.flush(ctx); err != nil {
			return nil, err
		}
	}
	if err := w.u.wait(); err != nil {
		return nil, err
	}
	s := sessionState{id: w.u.id, parts: w.u.parts, tail: w.u.buf}
	return s.encode(), nil // a copy: the buffer goes back to the pool
}

// Close implements storage.SessionWriter. Parts uploaded since opening stay
// with the multipart upload but out of any saved state; the next Save
// replaces them under the same part numbers.
func (w *sessionWriter) Close() error {
	if !w.closed {
		w.closed = true
		_ = w.u.wait() // parts still uploading finish before the caller moves on
		w.u.release()
	}
	return nil
}
