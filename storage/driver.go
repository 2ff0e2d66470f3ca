package storage

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"
)

// Sentinel errors every driver returns (wrapped with %w is fine) so callers can
// test them with errors.Is.
var (
	// ErrNotFound reports that no object exists at the path.
	ErrNotFound = errors.New("storage: not found")
	// ErrInvalidPath reports a path that is empty, not clean, absolute, or
	// escapes the driver's root.
	ErrInvalidPath = errors.New("storage: invalid path")
	// ErrInvalidOffset reports a read or resume offset outside the object.
	ErrInvalidOffset = errors.New("storage: invalid offset")
	// ErrClosed reports use of a writer after Commit, Cancel or Close.
	ErrClosed = errors.New("storage: writer closed")
	// ErrUnavailable reports that the backend could not be reached or kept
	// failing (connection refused, timeouts, 5xx or throttling after the
	// driver's own retries). Nothing was changed that the caller relies
	// on; the same call may succeed later.
	ErrUnavailable = errors.New("storage: backend unavailable")
)

// Driver stores opaque byte objects addressed by slash-separated relative
// paths such as "blobs/sha256/ab/abcd…". It is the seam plugin authors
// implement for a new backend; storagetest.Run checks an implementation.
//
// Paths are clean, relative, use "/" and never contain "." or ".." elements.
// A "directory" is only a path prefix: it exists while an object exists below it.
// Every method is safe for concurrent use.
type Driver interface {
	// Reader streams the object at path starting at byte offset. An offset
	// equal to the size yields an empty stream; a larger one ErrInvalidOffset.
	Reader(ctx context.Context, path string, offset int64) (io.ReadCloser, error)
	// Writer opens a resumable writer for path. With offset 0 it starts a new
	// object, replacing any existing one when committed. With offset > 0 it
	// resumes after the first offset bytes that an earlier writer committed
	// (bytes after offset are discarded); ErrInvalidOffset if fewer exist.
	Writer(ctx context.Context, path string, offset int64) (FileWriter, error)
	// Stat describes the object or directory at path.
	Stat(ctx context.Context, path string) (FileInfo, error)
	// List returns, in byte-wise lexical order, up to limit full paths of the
	// direct children (objects and directories) of the directory prefix that
	// sort after the full path "after" ("" for the first page). A limit <= 0
	// means no limit. A missing directory is ErrNotFound. The prefix "" names
	// the root, which is never missing.
	List(ctx context.Context, prefix, after string, limit int) ([]string, error)
	// Walk calls fn for every object (not directory) below prefix, in lexical
	// order of path. Returning an error from fn stops the walk with that error.
	// A missing prefix walks nothing and returns nil; "" walks everything.
	Walk(ctx context.Context, prefix string, fn func(FileInfo) error) error
	// Move renames the object src to dst atomically, replacing dst if it exists.
	Move(ctx context.Context, src, dst string) error
	// Delete removes the object at path, or every object below it when path is
	// a directory prefix. A missing path is ErrNotFound.
	Delete(ctx context.Context, path string) error
}

// FileWriter receives the bytes of one object. Nothing written is guaranteed
// durable or visible to readers until Commit returns nil.
type FileWriter interface {
	io.Writer
	// Size is the object's size so far: the resume offset plus bytes written.
	Size() int64
	// Commit makes every byte written durable and visible at the writer's
	// path, and closes the writer. A later Writer with offset Size() resumes.
	Commit(ctx context.Context) error
	// Cancel discards the object (including bytes committed earlier) and
	// closes the writer.
	Cancel(ctx context.Context) error
	// Close releases the writer without committing the bytes written since
	// it was opened. Calling Close after Commit or Cancel is a no-op.
	Close() error
}

// FileInfo describes one object or directory.
type FileInfo struct {
	// Path is the full path the driver was asked about or walked to.
	Path string
	// Size is the object's length in bytes; 0 for directories.
	Size int64
	// ModTime is the last modification time, when the backend knows it.
	ModTime time.Time
	// IsDir reports a directory prefix rather than an object.
	IsDir bool
}

// Redirector is implemented by drivers that can hand clients a direct,
// time-limited URL (a presigned S3 GET, say) instead of streaming the bytes.
type Redirector interface {
	// RedirectURL returns a URL the client can GET for the object at path, or
	// "" when this request should be served by streaming.
	RedirectURL(ctx context.Context, r *http.Request, path string) (string, error)
}

// ReadSeekCloser is a readable, seekable object handle.
type ReadSeekCloser interface {
	io.ReadSeeker
	io.Closer
}

// Opener is implemented by drivers that can open an object for random access
// (the fs driver returns the *os.File, so http.ServeContent answers Range
// requests and the kernel's sendfile does the copy).
type Opener interface {
	// Open returns a seekable handle on the object at path.
	Open(ctx context.Context, path string) (ReadSeekCloser, error)
}

// Sessioner is implemented by drivers for object stores, where an object
// cannot be appended to and rewriting it on every resume would cost traffic
// quadratic in its size. Such a driver keeps an in-progress upload as parts
// on the backend plus an opaque state that the caller persists between
// chunks (the registry keeps it in the upload session's metadata, so a
// session started on one instance can continue on another that shares the
// bucket and the metadata store).
//
// A session is written at path: the caller opens a SessionWriter with the
// state the previous Save returned (nil for a new session), writes the next
// chunk and saves, persisting the returned state only once Save succeeds.
// CompleteSession then makes the bytes the object at path; AbortSession
// discards them. States are not reusable after a later Save, Complete or
// Abort of the same session.
type Sessioner interface {
	// SessionWriter continues the session at path whose state a previous
	// Save returned, or starts one when state is nil.
	SessionWriter(ctx context.Context, path string, state []byte) (SessionWriter, error)
	// CompleteSession makes the session's bytes the object at path,
	// replacing any object there. Completing a session that an earlier
	// call already completed succeeds when the object at path has the
	// session's size, so a caller that crashed after completing may retry.
	CompleteSession(ctx context.Context, path string, state []byte) error
	// AbortSession releases what the session holds on the backend. The
	// object at path, if any, is left alone.
	AbortSession(ctx context.Context, path string, state []byte) error
	// SessionChunkSize is the smallest chunk that the backend stores
	// without holding any of it in the state (S3's 5 MiB part minimum).
	SessionChunkSize() int64
}

// SessionWriter receives the next bytes of an upload session.
type SessionWriter interface {
	io.Writer
	// Size is the session's size so far: bytes saved before plus bytes
	// written since opening.
	Size() int64
	// Save makes every byte written durable in the session, closes the
	// writer and returns the state to pass to the next call.
	Save(ctx context.Context) ([]byte, error)
	// Close releases the writer without saving; the bytes written since it
	// was opened are lost. Calling Close after Save is a no-op.
	Close() error
}
