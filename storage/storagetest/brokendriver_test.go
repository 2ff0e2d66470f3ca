package storagetest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berthreg/berth/storage"
	"github.com/berthreg/berth/storage/memory"
)

// mutant is the memory driver with one deliberate bug, selected by kind.
// TestMutants checks that the suite notices every one of them.
type mutant struct {
	*memory.Driver
	kind    string
	mu      sync.Mutex
	walking atomic.Int32
	ghosts  map[string]bool                   // "ghost-dirs": directories left behind
	cursors map[string]storage.ReadSeekCloser // "reader-shared-cursor"
	shared  bytes.Buffer                      // "writer-shared-buffer"
}

func newMutant(kind string) *mutant {
	return &mutant{
		Driver:  memory.New(),
		kind:    kind,
		ghosts:  make(map[string]bool),
		cursors: make(map[string]storage.ReadSeekCloser),
	}
}

var errGeneric = errors.New("no such thing")

// clean applies the "cleans-paths" bug: it repairs paths the driver should
// reject.
func (m *mutant) clean(p string) string {
	if m.kind == "cleans-paths" && p != "" {
		return strings.TrimPrefix(path.Clean(p), "/")
	}
	return p
}

// mangle applies the "generic-notfound" bug: not-found errors lose the
// sentinel.
func (m *mutant) mangle(err error) error {
	if m.kind == "generic-notfound" && errors.Is(err, storage.ErrNotFound) {
		return errGeneric
	}
	return err
}

func (m *mutant) Reader(ctx context.Context, p string, off int64) (io.ReadCloser, error) {
	p = m.clean(p)
	switch m.kind {
	case "reader-ignores-offset":
		off = 0
	case "reader-past-end":
		if st, err := m.Driver.Stat(ctx, p); err == nil && off > st.Size {
			return io.NopCloser(strings.NewReader("")), nil
		}
	case "reader-shared-cursor":
		r, err := m.Driver.Reader(ctx, p, off)
		if err != nil {
			return nil, err
		}
		r.Close()
		m.mu.Lock()
		defer m.mu.Unlock()
		c := m.cursors[p]
		if c == nil {
			c, _ = m.Driver.Open(ctx, p)
			m.cursors[p] = c
		}
		_, _ = c.Seek(off, io.SeekStart)
		return io.NopCloser(&slowReader{m: m, r: c}), nil
	}
	r, err := m.Driver.Reader(ctx, p, off)
	return r, m.mangle(err)
}

// slowReader reads from a cursor shared by every reader of one object.
type slowReader struct {
	m *mutant
	r io.Reader
}

func (s *slowReader) Read(b []byte) (int, error) {
	time.Sleep(time.Millisecond)
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	return s.r.Read(b)
}

func (m *mutant) Open(ctx context.Context, p string) (storage.ReadSeekCloser, error) {
	f, err := m.Driver.Open(ctx, m.clean(p))
	if err == nil && m.kind == "opener-ignores-seek" {
		return stuckSeeker{f}, nil
	}
	return f, m.mangle(err)
}

// stuckSeeker ignores seeks relative to the start.
type stuckSeeker struct{ storage.ReadSeekCloser }

func (s stuckSeeker) Seek(off int64, whence int) (int64, error) {
	if whence == io.SeekStart {
		return off, nil
	}
	return s.ReadSeekCloser.Seek(off, whence)
}

func (m *mutant) Stat(ctx context.Context, p string) (storage.FileInfo, error) {
	p = m.clean(p)
	fi, err := m.Driver.Stat(ctx, p)
	switch {
	case m.kind == "stat-no-dirs" && err == nil && fi.IsDir:
		return storage.FileInfo{}, storage.ErrNotFound
	case m.kind == "ghost-dirs" && errors.Is(err, storage.ErrNotFound) && m.ghost(p):
		return storage.FileInfo{Path: p, IsDir: true}, nil
	}
	return fi, m.mangle(err)
}

func (m *mutant) ghost(p string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ghosts[p]
}

func (m *mutant) List(ctx context.Context, prefix, after string, limit int) ([]string, error) {
	prefix = m.clean(prefix)
	switch m.kind {
	case "list-ignores-after":
		after = ""
	case "list-nested":
		if _, err := m.Driver.List(ctx, prefix, after, limit); err != nil {
			return nil, err
		}
		var out []string
		err := m.Driver.Walk(ctx, prefix, func(fi storage.FileInfo) error {
			if fi.Path > after && (limit <= 0 || len(out) < limit) {
				out = append(out, fi.Path)
			}
			return nil
		})
		return out, err
	}
	out, err := m.Driver.List(ctx, prefix, after, limit)
	switch {
	case m.kind == "list-unsorted":
		slices.Reverse(out)
	case m.kind == "list-missing-nil" && errors.Is(err, storage.ErrNotFound):
		return nil, nil
	case m.kind == "ghost-dirs" && errors.Is(err, storage.ErrNotFound) && m.ghost(prefix):
		return nil, nil
	}
	return out, m.mangle(err)
}

func (m *mutant) Walk(ctx context.Context, prefix string, fn func(storage.FileInfo) error) error {
	prefix = m.clean(prefix)
	switch m.kind {
	case "walk-ignores-error":
		return m.Driver.Walk(ctx, prefix, func(fi storage.FileInfo) error { _ = fn(fi); return nil })
	case "walk-exclusive":
		m.walking.Add(1)
		defer m.walking.Add(-1)
	case "walk-per-directory-order", "walk-missing-error":
		var all []storage.FileInfo
		if err := m.Driver.Walk(ctx, prefix, func(fi storage.FileInfo) error { all = append(all, fi); return nil }); err != nil {
			return err
		}
		if len(all) == 0 && m.kind == "walk-missing-error" {
			return storage.ErrNotFound
		}
		if m.kind == "walk-per-directory-order" {
			key := func(fi storage.FileInfo) string { return strings.ReplaceAll(fi.Path, "/", "\x00") }
			slices.SortFunc(all, func(a, b storage.FileInfo) int { return strings.Compare(key(a), key(b)) })
		}
		for _, fi := range all {
			if err := fn(fi); err != nil {
				return err
			}
		}
		return nil
	}
	return m.Driver.Walk(ctx, prefix, fn)
}

func (m *mutant) Move(ctx context.Context, src, dst string) error {
	src, dst = m.clean(src), m.clean(dst)
	switch m.kind {
	case "move-copies":
		r, err := m.Driver.Reader(ctx, src, 0)
		if err != nil {
			return err
		}
		defer r.Close()
		w, err := m.Driver.Writer(ctx, dst, 0)
		if err != nil {
			return err
		}
		defer w.Close()
		if _, err := io.Copy(w, r); err != nil {
			return err
		}
		return w.Commit(ctx)
	case "move-no-replace":
		if _, err := m.Driver.Stat(ctx, dst); err == nil {
			return errors.New("destination exists")
		}
	}
	err := m.Driver.Move(ctx, src, dst)
	if m.kind == "move-missing-nil" && errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err == nil {
		m.addGhosts(src)
	}
	return m.mangle(err)
}

func (m *mutant) Delete(ctx context.Context, p string) error {
	p = m.clean(p)
	switch m.kind {
	case "walk-exclusive":
		if m.walking.Load() > 0 {
			return errors.New("driver busy walking")
		}
	case "delete-object-only":
		if fi, err := m.Driver.Stat(ctx, p); err == nil && fi.IsDir {
			return storage.ErrNotFound
		}
	}
	err := m.Driver.Delete(ctx, p)
	if m.kind == "delete-missing-nil" && errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err == nil {
		m.addGhosts(p)
	}
	return m.mangle(err)
}

// addGhosts remembers the directories above p for the "ghost-dirs" bug.
func (m *mutant) addGhosts(p string) {
	if m.kind != "ghost-dirs" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for d := path.Dir(p); d != "."; d = path.Dir(d) {
		m.ghosts[d] = true
	}
}

func (m *mutant) Writer(ctx context.Context, p string, off int64) (storage.FileWriter, error) {
	p = m.clean(p)
	var extra int64
	if off > 0 {
		st, err := m.Driver.Stat(ctx, p)
		switch {
		case err != nil:
		case m.kind == "resume-appends":
			off = st.Size
		case m.kind == "resume-unchecked":
			off = min(off, st.Size)
		case m.kind == "resume-restarts":
			extra, off = off, 0
		}
	}
	var old []byte
	if m.kind == "overwrite-keeps-tail" && off == 0 {
		if r, err := m.Driver.Reader(ctx, p, 0); err == nil {
			old, _ = io.ReadAll(r)
			r.Close()
		}
	}
	w, err := m.Driver.Writer(ctx, p, off)
	if err != nil {
		return nil, m.mangle(err)
	}
	if off == 0 {
		m.addGhosts(p) // a new object's directories appear at once
	}
	return &mwriter{FileWriter: w, m: m, path: p, extra: extra, old: old}, nil
}

// mwriter carries the writer bugs.
type mwriter struct {
	storage.FileWriter
	m         *mutant
	path      string
	extra     int64 // "resume-restarts": the offset it pretends to resume at
	old       []byte
	pending   int64  // "writer-shared-buffer": bytes parked in the shared buffer
	dropped   int64  // "large-truncates"
	block     []byte // "commit-no-flush": bytes not yet written through
	committed bool
}

const truncateAt = 200 << 20

// ReadFrom is what io.Copy calls: through Write, except for
// "readfrom-ignores-limit", which copies a limited reader's source to its
// end (a driver that unwraps the limit and forgets it).
func (w *mwriter) ReadFrom(r io.Reader) (int64, error) {
	if lr, ok := r.(*io.LimitedReader); ok && w.m.kind == "readfrom-ignores-limit" {
		r = lr.R
	}
	return io.Copy(struct{ io.Writer }{w}, r)
}

func (w *mwriter) Write(p []byte) (int, error) {
	switch {
	case w.m.kind == "write-after-commit" && w.committed:
		return len(p), nil
	case w.m.kind == "writer-shared-buffer":
		w.m.mu.Lock()
		w.m.shared.Write(p)
		w.m.mu.Unlock()
		time.Sleep(100 * time.Microsecond)
		w.pending += int64(len(p))
		return len(p), nil
	case w.m.kind == "commit-no-flush":
		w.block = append(w.block, p...)
		if len(w.block) >= 64<<10 {
			if _, err := w.FileWriter.Write(w.block); err != nil {
				return 0, err
			}
			w.block = w.block[:0]
		}
		return len(p), nil
	case w.m.kind == "large-truncates":
		keep := max(0, min(int64(len(p)), truncateAt-w.FileWriter.Size()))
		if _, err := w.FileWriter.Write(p[:keep]); err != nil {
			return 0, err
		}
		w.dropped += int64(len(p)) - keep
		return len(p), nil
	}
	return w.FileWriter.Write(p)
}

func (w *mwriter) Size() int64 {
	return w.FileWriter.Size() + w.extra + w.pending + w.dropped + int64(len(w.block))
}

func (w *mwriter) Commit(ctx context.Context) error {
	if w.m.kind == "write-after-commit" && w.committed {
		return nil
	}
	if w.m.kind == "empty-not-stored" && w.Size() == 0 {
		w.FileWriter.Close()
		w.committed = true
		return nil
	}
	if w.pending > 0 {
		w.m.mu.Lock()
		_, err := w.FileWriter.Write(w.m.shared.Next(int(w.pending)))
		w.m.mu.Unlock()
		if err != nil {
			return err
		}
		w.pending = 0
	}
	if n := w.FileWriter.Size(); int64(len(w.old)) > n {
		if _, err := w.FileWriter.Write(w.old[n:]); err != nil {
			return err
		}
	}
	err := w.FileWriter.Commit(ctx)
	if err == nil {
		w.committed = true
	}
	return err
}

func (w *mwriter) Cancel(ctx context.Context) error {
	if w.m.kind == "cancel-keeps" {
		return w.FileWriter.Close()
	}
	err := w.FileWriter.Cancel(ctx)
	if err == nil {
		w.m.addGhosts(w.path)
	}
	return err
}

func (w *mwriter) Close() error {
	if w.m.kind == "close-commits" {
		if err := w.Commit(context.Background()); err != nil && !errors.Is(err, storage.ErrClosed) {
			return err
		}
		return nil
	}
	return w.FileWriter.Close()
}

// mutantChunk is the chunk size of the mutant's sessions.
const mutantChunk = 64 << 10

// SessionWriter makes the mutant a storage.Sessioner whose state is a marker
// byte followed by every byte of the session.
func (m *mutant) SessionWriter(_ context.Context, p string, state []byte) (storage.SessionWriter, error) {
	if p != m.clean(p) || path.Clean(p) != p || strings.HasPrefix(p, "../") {
		return nil, storage.ErrInvalidPath
	}
	if state != nil && (len(state) == 0 || state[0] != 'M') {
		return nil, errors.New("bad state")
	}
	w := &msession{m: m, p: p}
	if state != nil {
		w.buf.Write(state[1:])
	}
	return w, nil
}

// CompleteSession implements storage.Sessioner.
func (m *mutant) CompleteSession(ctx context.Context, p string, state []byte) error {
	if state != nil && (len(state) == 0 || state[0] != 'M') {
		return errors.New("bad state")
	}
	w, err := m.Driver.Writer(ctx, p, 0)
	if err != nil {
		return err
	}
	if len(state) > 0 {
		_, _ = w.Write(state[1:])
	}
	return w.Commit(ctx)
}

// AbortSession implements storage.Sessioner.
func (m *mutant) AbortSession(context.Context, string, []byte) error { return nil }

// SessionChunkSize implements storage.Sessioner.
func (m *mutant) SessionChunkSize() int64 { return mutantChunk }

// msession is the mutant's storage.SessionWriter.
type msession struct {
	m      *mutant
	p      string
	buf    bytes.Buffer
	n      int
	closed bool
}

func (w *msession) Write(b []byte) (int, error) {
	if w.closed {
		return 0, storage.ErrClosed
	}
	w.n = len(b)
	return w.buf.Write(b)
}

func (w *msession) Size() int64 { return int64(w.buf.Len()) }

func (w *msession) Save(ctx context.Context) ([]byte, error) {
	w.closed = true
	b := w.buf.Bytes()
	switch w.m.kind {
	case "session-drops-tiny-chunk":
		if w.n > 0 && w.n < 10 {
			b = b[:len(b)-w.n]
		}
	case "session-visible-early":
		if err := w.m.CompleteSession(ctx, w.p, append([]byte{'M'}, b...)); err != nil {
			return nil, err
		}
	}
	return append([]byte{'M'}, b...), nil
}

func (w *msession) Close() error {
	w.closed = true
	return nil
}
