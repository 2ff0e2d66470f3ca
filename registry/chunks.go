package registry

import (
	"context"
	"fmt"
	"io"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/storage"
)

// chunkWriter receives one chunk of an upload session: from a FileWriter
// resumed at the session's offset, or, on a storage.Sessioner driver, from
// a SessionWriter continuing the session's driver state.
type chunkWriter interface {
	io.Writer
	// save makes the chunk durable and records what the driver needs in
	// u (u.Offset is still the offset before the chunk).
	save(ctx context.Context, u *meta.Upload) error
	// Close releases the writer, discarding an unsaved chunk.
	Close() error
}

// fileChunk is a chunkWriter on storage.FileWriter.
type fileChunk struct{ storage.FileWriter }

func (c fileChunk) save(ctx context.Context, _ *meta.Upload) error { return c.Commit(ctx) }

// sessionChunk is a chunkWriter on storage.SessionWriter.
type sessionChunk struct{ storage.SessionWriter }

func (c sessionChunk) save(ctx context.Context, u *meta.Upload) error {
	state, err := c.Save(ctx)
	if err != nil {
		return err
	}
	u.DriverState = state
	return nil
}

// openChunk opens the writer for the next chunk of session u.
func (h *Handler) openChunk(ctx context.Context, u *meta.Upload) (chunkWriter, error) {
	p := storage.UploadPath(u.ID)
	if h.sessions != nil {
		sw, err := h.sessions.SessionWriter(ctx, p, u.DriverState)
		if err != nil {
			return nil, err
		}
		if sw.Size() != u.Offset {
			sw.Close()
			return nil, fmt.Errorf("upload session state holds %d bytes, the session %d", sw.Size(), u.Offset)
		}
		return sessionChunk{sw}, nil
	}
	fw, err := h.driver.Writer(ctx, p, u.Offset)
	if err != nil {
		return nil, err
	}
	return fileChunk{fw}, nil
}

// materialize makes the data of session u an object at its UploadPath: a
// no-op for drivers that write it there directly, CompleteSession for a
// storage.Sessioner (which tolerates being repeated after a failure later
// in the request).
func (h *Handler) materialize(ctx context.Context, u *meta.Upload) error {
	if h.sessions == nil {
		return nil
	}
	if err := h.sessions.CompleteSession(ctx, storage.UploadPath(u.ID), u.DriverState); err != nil {
		return fmt.Errorf("complete upload session: %w", err)
	}
	return nil
}

// chunkMinLength is the OCI-Chunk-Min-Length advertised to clients: the
// configured one, raised to the driver's session chunk size, below which
// chunks are carried in the session state.
func (h *Handler) chunkMinLength() int64 {
	n := h.cfg.chunkMinLength
	if h.sessions != nil {
		n = max(n, h.sessions.SessionChunkSize())
	}
	return n
}
