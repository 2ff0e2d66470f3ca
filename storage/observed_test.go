package storage_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthreg/berth/storage"
	"github.com/berthreg/berth/storage/fs"
	"github.com/berthreg/berth/storage/memory"
	"github.com/berthreg/berth/storage/storagetest"
)

// call is one observation.
type call struct {
	op   string
	took time.Duration
	err  error
}

// recorder collects observations.
type recorder struct {
	mu    sync.Mutex
	calls []call
}

func (r *recorder) observe(_ context.Context, o storage.Observation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call{o.Op, o.Took, o.Err})
}

// ops returns the operations observed since the last call, in order.
func (r *recorder) ops() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.calls {
		out = append(out, c.op)
	}
	r.calls = nil
	return out
}

// last returns the last observation.
func (r *recorder) last(t *testing.T) call {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.calls) == 0 {
		t.Fatal("nothing observed")
	}
	return r.calls[len(r.calls)-1]
}

// fakeRedirector redirects every path.
type fakeRedirector struct{}

func (fakeRedirector) RedirectURL(_ context.Context, _ *http.Request, path string) (string, error) {
	return "https://bucket.example/" + path, nil
}

// fakeSessioner keeps sessions as the bytes saved so far.
type fakeSessioner struct{}

func (fakeSessioner) SessionWriter(_ context.Context, _ string, state []byte) (storage.SessionWriter, error) {
	return &fakeSessionWriter{buf: *bytes.NewBuffer(bytes.Clone(state))}, nil
}
func (fakeSessioner) CompleteSession(context.Context, string, []byte) error { return nil }
func (fakeSessioner) AbortSession(context.Context, string, []byte) error {
	return storage.ErrNotFound
}
func (fakeSessioner) SessionChunkSize() int64 { return 5 }

type fakeSessionWriter struct{ buf bytes.Buffer }

func (w *fakeSessionWriter) Write(p []byte) (int, error)          { return w.buf.Write(p) }
func (w *fakeSessionWriter) Size() int64                          { return int64(w.buf.Len()) }
func (w *fakeSessionWriter) Save(context.Context) ([]byte, error) { return w.buf.Bytes(), nil }
func (w *fakeSessionWriter) Close() error                         { return nil }

// combinations are drivers with each combination of the optional
// interfaces, named by the initials of those they have.
func combinations() map[string]storage.Driver {
	m := memory.New()
	var (
		d  storage.Driver     = m
		op storage.Opener     = m
		rd storage.Redirector = fakeRedirector{}
		ss storage.Sessioner  = fakeSessioner{}
	)
	return map[string]storage.Driver{
		"": struct{ storage.Driver }{d},
		"O": struct {
			storage.Driver
			storage.Opener
		}{d, op},
		"R": struct {
			storage.Driver
			storage.Redirector
		}{d, rd},
		"S": struct {
			storage.Driver
			storage.Sessioner
		}{d, ss},
		"OR": struct {
			storage.Driver
			storage.Opener
			storage.Redirector
		}{d, op, rd},
		"OS": struct {
			storage.Driver
			storage.Opener
			storage.Sessioner
		}{d, op, ss},
		"RS": struct {
			storage.Driver
			storage.Redirector
			storage.Sessioner
		}{d, rd, ss},
		"ORS": struct {
			storage.Driver
			storage.Opener
			storage.Redirector
			storage.Sessioner
		}{d, op, rd, ss},
	}
}

func TestObservedKeepsExactlyTheOptionalInterfaces(t *testing.T) {
	ctx := t.Context()
	for name, d := range combinations() {
		t.Run("with"+name, func(t *testing.T) {
			var rec recorder
			o := storage.Observed(d, rec.observe)
			w, err := o.Writer(ctx, "a/obj", 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write([]byte("bytes")); err != nil {
				t.Fatal(err)
			}
			if err := w.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			rec.ops()

			op, isOpener := o.(storage.Opener)
			rd, isRedirector := o.(storage.Redirector)
			ss, isSessioner := o.(storage.Sessioner)
			for _, c := range []struct {
				iface     string
				got, want bool
			}{
				{"Opener", isOpener, strings.Contains(name, "O")},
				{"Redirector", isRedirector, strings.Contains(name, "R")},
				{"Sessioner", isSessioner, strings.Contains(name, "S")},
			} {
				if c.got != c.want {
					t.Errorf("Observed driver implements %s: %v, the driver it wraps: %v", c.iface, c.got, c.want)
				}
			}
			var want []string
			if isOpener {
				f, err := op.Open(ctx, "a/obj")
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(f)
				f.Close()
				if string(b) != "bytes" {
					t.Errorf("Open read %q", b)
				}
				want = append(want, storage.OpOpen)
			}
			if isRedirector {
				if u, err := rd.RedirectURL(ctx, nil, "a/obj"); err != nil || u != "https://bucket.example/a/obj" {
					t.Errorf("RedirectURL = %q, %v", u, err)
				}
				want = append(want, storage.OpRedirect)
			}
			if isSessioner {
				sw, err := ss.SessionWriter(ctx, "a/up", []byte("ab"))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := sw.Write([]byte("cd")); err != nil {
					t.Fatal(err)
				}
				if state, err := sw.Save(ctx); err != nil || string(state) != "abcd" || sw.Size() != 4 {
					t.Errorf("Save = %q, %v; size %d", state, err, sw.Size())
				}
				if err := ss.CompleteSession(ctx, "a/up", nil); err != nil {
					t.Fatal(err)
				}
				if err := ss.AbortSession(ctx, "a/up", nil); !errors.Is(err, storage.ErrNotFound) {
					t.Errorf("AbortSession: %v, want the wrapped driver's error", err)
				}
				if n := ss.SessionChunkSize(); n != 5 {
					t.Errorf("SessionChunkSize = %d", n)
				}
				want = append(want, storage.OpSessionWriter, storage.OpSessionSave, storage.OpSessionComplete, storage.OpSessionAbort)
				if got := rec.last(t); !errors.Is(got.err, storage.ErrNotFound) {
					t.Errorf("AbortSession observed with %v", got.err)
				}
			}
			if got := rec.ops(); !slices.Equal(got, want) {
				t.Errorf("observed %q, want %q", got, want)
			}
		})
	}
}

func TestObservedDriverCalls(t *testing.T) {
	ctx := t.Context()
	var rec recorder
	d := storage.Observed(memory.New(), rec.observe)

	w, err := d.Writer(ctx, "dir/a", 0)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := w.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := w.(io.ReaderFrom); ok {
		t.Error("the memory driver's writer gained io.ReaderFrom")
	}
	w, err = d.Writer(ctx, "dir/b", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	rc, err := d.Reader(ctx, "dir/a", 0)
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if _, err := d.Stat(ctx, "dir/a"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.List(ctx, "dir", "", 0); err != nil {
		t.Fatal(err)
	}
	if err := d.Walk(ctx, "", func(storage.FileInfo) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := d.Move(ctx, "dir/a", "dir/c"); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(ctx, "dir/c"); err != nil {
		t.Fatal(err)
	}
	want := []string{storage.OpWriter, storage.OpCommit, storage.OpWriter, storage.OpCancel, storage.OpReader,
		storage.OpStat, storage.OpList, storage.OpWalk, storage.OpMove, storage.OpDelete}
	if got := rec.ops(); !slices.Equal(got, want) {
		t.Errorf("observed %q, want %q (no Write)", got, want)
	}

	if _, err := d.Stat(ctx, "dir/missing"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Stat of a missing object: %v", err)
	}
	if got := rec.last(t); got.op != storage.OpStat || !errors.Is(got.err, storage.ErrNotFound) {
		t.Errorf("a missing object's Stat observed as %+v", got)
	}
	if _, err := d.Writer(ctx, "/bad", 0); err == nil {
		t.Fatal("Writer of an invalid path succeeded")
	}
	if got := rec.last(t); got.op != storage.OpWriter || !errors.Is(got.err, storage.ErrInvalidPath) {
		t.Errorf("a failed Writer observed as %+v", got)
	}
}

// The fs driver's writers copy from files in the kernel through
// io.ReaderFrom, and its Reader hands back the *os.File: both survive.
func TestObservedKeepsTheFSFastPaths(t *testing.T) {
	ctx := t.Context()
	inner, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var rec recorder
	d := storage.Observed(inner, rec.observe)
	w, err := d.Writer(ctx, "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	rf, ok := w.(io.ReaderFrom)
	if !ok {
		t.Fatal("the fs driver's writer lost io.ReaderFrom")
	}
	if _, err := rf.ReadFrom(strings.NewReader("content")); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	rc, err := d.Reader(ctx, "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, ok := rc.(interface{ Fd() uintptr }); !ok {
		t.Errorf("Reader returned %T, not the file", rc)
	}
	if got := rec.ops(); !slices.Equal(got, []string{storage.OpWriter, storage.OpCommit, storage.OpReader}) {
		t.Errorf("observed %q", got)
	}
}

// Walk reports its own time, not its callback's.
func TestObservedWalkLeavesOutTheCallback(t *testing.T) {
	ctx := t.Context()
	m := memory.New()
	for _, p := range []string{"a", "b", "c"} {
		w, err := m.Writer(ctx, p, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu  sync.Mutex
		now = time.Unix(0, 0)
	)
	tick := func(d time.Duration) time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(d)
		return now
	}
	var rec recorder
	d := storage.ObservedWith(m, rec.observe, func() time.Time { return tick(time.Millisecond) })
	if _, err := d.Stat(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if got := rec.last(t); got.took != time.Millisecond {
		t.Errorf("Stat took %v on a clock that ticks 1ms a reading", got.took)
	}
	if err := d.Walk(ctx, "", func(storage.FileInfo) error {
		tick(time.Hour)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The walk's own ticks (the readings before each of the 3 callbacks
	// and the last one) count; the hours spent in the callbacks do not.
	if got := rec.last(t); got.op != storage.OpWalk || got.took != 4*time.Millisecond {
		t.Errorf("Walk observed as %+v, want 4ms: the callbacks' hours left out", got)
	}
}

func TestObservedConformance(t *testing.T) {
	noop := func(context.Context, storage.Observation) {}
	t.Run("memory", func(t *testing.T) {
		storagetest.Run(t, func(*testing.T) storage.Driver { return storage.Observed(memory.New(), noop) })
	})
	t.Run("fs", func(t *testing.T) {
		storagetest.Run(t, func(t *testing.T) storage.Driver {
			d, err := fs.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return storage.Observed(d, noop)
		})
	})
}
