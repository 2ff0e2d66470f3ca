package storage

import (
	"context"
	"io"
	"net/http"
	"time"
)

// The operations Observed reports, one per call it times.
const (
	OpReader          = "reader"           // Driver.Reader (opening the stream, not reading it)
	OpWriter          = "writer"           // Driver.Writer
	OpCommit          = "commit"           // FileWriter.Commit
	OpCancel          = "cancel"           // FileWriter.Cancel
	OpStat            = "stat"             // Driver.Stat
	OpList            = "list"             // Driver.List
	OpWalk            = "walk"             // Driver.Walk, less the time spent in its callback
	OpMove            = "move"             // Driver.Move
	OpDelete          = "delete"           // Driver.Delete
	OpOpen            = "open"             // Opener.Open
	OpRedirect        = "redirect"         // Redirector.RedirectURL
	OpSessionWriter   = "session_writer"   // Sessioner.SessionWriter
	OpSessionSave     = "session_save"     // SessionWriter.Save
	OpSessionComplete = "session_complete" // Sessioner.CompleteSession
	OpSessionAbort    = "session_abort"    // Sessioner.AbortSession
)

// Observed returns d with its calls reported to observe: the operation
// (one of the Op constants), how long it took and the error it returned.
// The returned driver implements exactly the optional interfaces d does
// (Opener, Redirector, Sessioner), so callers that type-assert them keep
// their fast paths, and its writers implement io.ReaderFrom when d's do.
//
// Streams are handed back as d returns them (an Opener's handle or a
// Reader's *os.File stays one, for sendfile): their reads, like the
// Write calls of writers, are not timed; opening them, and a writer's
// Commit, Cancel or Save, is. Write's hot path gains nothing but a call
// through an interface.
func Observed(d Driver, observe func(ctx context.Context, o Observation)) Driver {
	return observedWith(d, observe, time.Now)
}

// observedWith is Observed reading the time from now.
func observedWith(d Driver, observe func(ctx context.Context, o Observation), now func() time.Time) Driver {
	o := &observed{d: d, observe: observe, now: now}
	op, isOpener := d.(Opener)
	rd, isRedirector := d.(Redirector)
	ss, isSessioner := d.(Sessioner)
	var (
		oo  = opener{o, op}
		or  = redirector{o, rd}
		ses = sessioner{o, ss}
	)
	switch {
	case isOpener && isRedirector && isSessioner:
		return &observedORS{o, oo, or, ses}
	case isOpener && isRedirector:
		return &observedOR{o, oo, or}
	case isOpener && isSessioner:
		return &observedOS{o, oo, ses}
	case isRedirector && isSessioner:
		return &observedRS{o, or, ses}
	case isOpener:
		return &observedO{o, oo}
	case isRedirector:
		return &observedR{o, or}
	case isSessioner:
		return &observedS{o, ses}
	}
	return o
}

// The drivers Observed returns for each combination of the optional
// interfaces.
type (
	observedO struct {
		*observed
		opener
	}
	observedR struct {
		*observed
		redirector
	}
	observedS struct {
		*observed
		sessioner
	}
	observedOR struct {
		*observed
		opener
		redirector
	}
	observedOS struct {
		*observed
		opener
		sessioner
	}
	observedRS struct {
		*observed
		redirector
		sessioner
	}
	observedORS struct {
		*observed
		opener
		redirector
		sessioner
	}
)

// observed is the Driver part of what Observed returns.
type observed struct {
	d       Driver
	observe func(ctx context.Context, o Observation)
	now     func() time.Time
}

// Observation is one call Observed reports.
type Observation struct {
	// Op is the operation, one of the Op constants.
	Op string
	// Start is when the call began, Took how long it ran (for a walk,
	// less the time spent in its callback).
	Start time.Time
	Took  time.Duration
	// Err is the error the call returned.
	Err error
}

// timed reports op of the call with ctx, started at start, with err,
// and returns err.
func (o *observed) timed(ctx context.Context, op string, start time.Time, err error) error {
	o.observe(ctx, Observation{Op: op, Start: start, Took: o.now().Sub(start), Err: err})
	return err
}

func (o *observed) Reader(ctx context.Context, path string, offset int64) (io.ReadCloser, error) {
	start := o.now()
	rc, err := o.d.Reader(ctx, path, offset)
	return rc, o.timed(ctx, OpReader, start, err)
}

func (o *observed) Writer(ctx context.Context, path string, offset int64) (FileWriter, error) {
	start := o.now()
	w, err := o.d.Writer(ctx, path, offset)
	if err = o.timed(ctx, OpWriter, start, err); err != nil {
		return w, err
	}
	ow := &observedWriter{FileWriter: w, o: o}
	if rf, ok := w.(io.ReaderFrom); ok {
		return &observedReaderFromWriter{ow, rf}, nil
	}
	return ow, nil
}

func (o *observed) Stat(ctx context.Context, path string) (FileInfo, error) {
	start := o.now()
	fi, err := o.d.Stat(ctx, path)
	return fi, o.timed(ctx, OpStat, start, err)
}

func (o *observed) List(ctx context.Context, prefix, after string, limit int) ([]string, error) {
	start := o.now()
	out, err := o.d.List(ctx, prefix, after, limit)
	return out, o.timed(ctx, OpList, start, err)
}

// Walk reports the walk's own time: what fn spent is taken out.
func (o *observed) Walk(ctx context.Context, prefix string, fn func(FileInfo) error) error {
	var inFn time.Duration
	start := o.now()
	err := o.d.Walk(ctx, prefix, func(fi FileInfo) error {
		at := o.now()
		defer func() { inFn += o.now().Sub(at) }()
		return fn(fi)
	})
	o.observe(ctx, Observation{Op: OpWalk, Start: start, Took: o.now().Sub(start) - inFn, Err: err})
	return err
}

func (o *observed) Move(ctx context.Context, src, dst string) error {
	start := o.now()
	return o.timed(ctx, OpMove, start, o.d.Move(ctx, src, dst))
}

func (o *observed) Delete(ctx context.Context, path string) error {
	start := o.now()
	return o.timed(ctx, OpDelete, start, o.d.Delete(ctx, path))
}

// opener is the Opener part of what Observed returns.
type opener struct {
	o  *observed
	op Opener
}

func (p opener) Open(ctx context.Context, path string) (ReadSeekCloser, error) {
	start := p.o.now()
	f, err := p.op.Open(ctx, path)
	return f, p.o.timed(ctx, OpOpen, start, err)
}

// redirector is the Redirector part of what Observed returns.
type redirector struct {
	o  *observed
	rd Redirector
}

func (r redirector) RedirectURL(ctx context.Context, req *http.Request, path string) (string, error) {
	start := r.o.now()
	u, err := r.rd.RedirectURL(ctx, req, path)
	return u, r.o.timed(ctx, OpRedirect, start, err)
}

// sessioner is the Sessioner part of what Observed returns.
type sessioner struct {
	o  *observed
	ss Sessioner
}

func (s sessioner) SessionWriter(ctx context.Context, path string, state []byte) (SessionWriter, error) {
	start := s.o.now()
	w, err := s.ss.SessionWriter(ctx, path, state)
	if err = s.o.timed(ctx, OpSessionWriter, start, err); err != nil {
		return w, err
	}
	ow := &observedSessionWriter{SessionWriter: w, o: s.o}
	if rf, ok := w.(io.ReaderFrom); ok {
		return &observedReaderFromSessionWriter{ow, rf}, nil
	}
	return ow, nil
}

func (s sessioner) CompleteSession(ctx context.Context, path string, state []byte) error {
	start := s.o.now()
	return s.o.timed(ctx, OpSessionComplete, start, s.ss.CompleteSession(ctx, path, state))
}

func (s sessioner) AbortSession(ctx context.Context, path string, state []byte) error {
	start := s.o.now()
	return s.o.timed(ctx, OpSessionAbort, start, s.ss.AbortSession(ctx, path, state))
}

func (s sessioner) SessionChunkSize() int64 { return s.ss.SessionChunkSize() }

// observedWriter times a FileWriter's Commit and Cancel; Write, Size and
// Close go straight through.
type observedWriter struct {
	FileWriter
	o *observed
}

func (w *observedWriter) Commit(ctx context.Context) error {
	start := w.o.now()
	return w.o.timed(ctx, OpCommit, start, w.FileWriter.Commit(ctx))
}

func (w *observedWriter) Cancel(ctx context.Context) error {
	start := w.o.now()
	return w.o.timed(ctx, OpCancel, start, w.FileWriter.Cancel(ctx))
}

// observedReaderFromWriter is an observedWriter over a writer that
// implements io.ReaderFrom (the fs driver's copies from a file in the
// kernel), which it keeps.
type observedReaderFromWriter struct {
	*observedWriter
	rf io.ReaderFrom
}

func (w *observedReaderFromWriter) ReadFrom(r io.Reader) (int64, error) { return w.rf.ReadFrom(r) }

// observedSessionWriter times a SessionWriter's Save; Write, Size and
// Close go straight through.
type observedSessionWriter struct {
	SessionWriter
	o *observed
}

func (w *observedSessionWriter) Save(ctx context.Context) ([]byte, error) {
	start := w.o.now()
	state, err := w.SessionWriter.Save(ctx)
	return state, w.o.timed(ctx, OpSessionSave, start, err)
}

// observedReaderFromSessionWriter is an observedSessionWriter over a
// writer that implements io.ReaderFrom, which it keeps.
type observedReaderFromSessionWriter struct {
	*observedSessionWriter
	rf io.ReaderFrom
}

func (w *observedReaderFromSessionWriter) ReadFrom(r io.Reader) (int64, error) {
	return w.rf.ReadFrom(r)
}
