package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/berthreg/berth/storage"
)

// Writer implements storage.Driver.
//
// With offset 0 the writer buffers up to PartSize bytes and uploads each full
// buffer as a part of a multipart upload started on the first full buffer;
// Commit stores a small object with one PutObject, otherwise uploads the
// rest as the last part and completes the upload.
//
// With offset > 0 the object must exist with at least offset bytes. When
// offset >= 5 MiB, bytes [0, offset) become the first parts of a new
// multipart upload for the same key by server-side UploadPartCopy (no data
// passes through this process). When offset < 5 MiB, below S3's part
// minimum, those bytes are read back into the buffer and uploaded again.
// This is the known limitation for small chunks: a client pushing many tiny
// chunks costs traffic quadratic in the object's size until it passes 5 MiB;
// a later change keeps sub-5 MiB tails in the upload session instead.
//
// Either way the object is replaced atomically when Commit completes (S3
// shows a multipart upload only once completed); until then readers see the
// previous version. Close without Commit aborts the upload and leaves any
// earlier object untouched. Write uploads full parts with the context given
// to Writer; Commit and Cancel use their own.
func (d *Driver) Writer(ctx context.Context, p string, offset int64) (storage.FileWriter, error) {
	if err := checkPath(p); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, fmt.Errorf("s3: write %q at %d: %w", p, offset, storage.ErrInvalidOffset)
	}
	w := &writer{d: d, ctx: ctx, path: p, offset: offset}
	if offset == 0 {
		return w, nil
	}
	h, err := d.head(ctx, "write", p)
	if err != nil {
		return nil, err
	}
	if size := aws.ToInt64(h.ContentLength); size < offset {
		return nil, fmt.Errorf("s3: write %q at %d of %d bytes: %w", p, offset, size, storage.ErrInvalidOffset)
	}
	if offset >= MinPartSize {
		w.copyLen, w.etag = offset, h.ETag
		return w, nil
	}
	out, err := d.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket:  &d.bucket,
		Key:     aws.String(d.key(p)),
		Range:   aws.String(fmt.Sprintf("bytes=0-%d", offset-1)),
		IfMatch: h.ETag,
	})
	if err != nil {
		return nil, wrap("write: read back", p, err)
	}
	defer out.Body.Close()
	w.buf = make([]byte, offset, max(offset, 64<<10))
	if _, err := io.ReadFull(out.Body, w.buf); err != nil {
		return nil, wrap("write: read back", p, err)
	}
	return w, nil
}

// writer is the storage.FileWriter of Driver.Writer. Like every FileWriter
// it is used by one goroutine at a time.
type writer struct {
	d      *Driver
	ctx    context.Context
	path   string
	offset int64 // resume offset
	n      int64 // bytes written since opening
	// buf holds bytes not yet uploaded: the read-back prefix for a small
	// resume offset, then written bytes; at most PartSize.
	buf []byte
	// copyLen bytes of the existing object (ETag etag) become the first
	// parts of the multipart upload, by server-side copy.
	copyLen int64
	etag    *string
	id      *string // multipart upload id, once started
	parts   []types.CompletedPart
	err     error // sticky failure of a part upload
	closed  bool
}

// Size implements storage.FileWriter.
func (w *writer) Size() int64 { return w.offset + w.n }

// Write implements storage.FileWriter, uploading a part whenever PartSize
// bytes are buffered.
func (w *writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, fmt.Errorf("s3: write %q: %w", w.path, storage.ErrClosed)
	}
	if w.err != nil {
		return 0, w.err
	}
	written := 0
	for len(p) > 0 {
		take := min(len(p), int(w.d.partSize)-len(w.buf))
		w.buf = append(w.buf, p[:take]...)
		p = p[take:]
		written += take
		w.n += int64(take)
		if int64(len(w.buf)) == w.d.partSize {
			if err := w.uploadPart(w.ctx); err != nil {
				w.err = err
				return written, err
			}
		}
	}
	return written, nil
}

// start begins the multipart upload, copying the resume prefix into it.
func (w *writer) start(ctx context.Context) error {
	if w.id != nil {
		return nil
	}
	id, err := w.d.createUpload(ctx, w.path)
	if err != nil {
		return err
	}
	w.id = id
	if w.copyLen > 0 {
		parts, err := w.d.copyParts(ctx, id, w.path, w.path, w.copyLen, w.etag, 1)
		if err != nil {
			return err
		}
		w.parts = parts
	}
	return nil
}

// uploadPart uploads the buffer as the next part and empties it.
func (w *writer) uploadPart(ctx context.Context) error {
	if err := w.start(ctx); err != nil {
		return err
	}
	num := int32(len(w.parts) + 1)
	if num > maxParts {
		return fmt.Errorf("s3: write %q: more than %d parts of %d bytes; raise PartSize", w.path, maxParts, w.d.partSize)
	}
	out, err := w.d.client.UploadPart(ctx, &s3.UploadPartInput{
		Bucket:        &w.d.bucket,
		Key:           aws.String(w.d.key(w.path)),
		UploadId:      w.id,
		PartNumber:    aws.Int32(num),
		Body:          bytes.NewReader(w.buf),
		ContentLength: aws.Int64(int64(len(w.buf))),
	})
	if err != nil {
		return wrap("upload part", w.path, err)
	}
	w.parts = append(w.parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(num)})
	w.buf = w.buf[:0]
	return nil
}

// Commit implements storage.FileWriter.
func (w *writer) Commit(ctx context.Context) error {
	if w.closed {
		return fmt.Errorf("s3: commit %q: %w", w.path, storage.ErrClosed)
	}
	w.closed = true
	err := w.err
	if err == nil {
		err = w.commit(ctx)
	}
	if err != nil && w.id != nil {
		err = errors.Join(err, w.d.abortUpload(ctx, w.path, w.id))
	}
	return err
}

func (w *writer) commit(ctx context.Context) error {
	d := w.d
	if w.id == nil && w.copyLen == 0 {
		in := &s3.PutObjectInput{
			Bucket:        &d.bucket,
			Key:           aws.String(d.key(w.path)),
			Body:          bytes.NewReader(w.buf),
			ContentLength: aws.Int64(int64(len(w.buf))),
		}
		if d.class != "" {
			in.StorageClass = d.class
		}
		if d.sse != "" {
			in.ServerSideEncryption = d.sse
			in.SSEKMSKeyId = d.kmsID()
		}
		if _, err := d.client.PutObject(ctx, in); err != nil {
			return wrap("commit", w.path, err)
		}
		return nil
	}
	if err := w.start(ctx); err != nil {
		return err
	}
	if len(w.buf) > 0 || len(w.parts) == 0 {
		if err := w.uploadPart(ctx); err != nil {
			return err
		}
	}
	return d.completeUpload(ctx, w.path, w.id, w.parts)
}

// Cancel implements storage.FileWriter: it aborts the upload and deletes
// the object.
func (w *writer) Cancel(ctx context.Context) error {
	if w.closed {
		return fmt.Errorf("s3: cancel %q: %w", w.path, storage.ErrClosed)
	}
	w.closed = true
	var err error
	if w.id != nil {
		err = w.d.abortUpload(ctx, w.path, w.id)
	}
	if _, derr := w.d.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &w.d.bucket, Key: aws.String(w.d.key(w.path))}); derr != nil {
		err = errors.Join(err, wrap("cancel", w.path, derr))
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
	w.buf = nil
	if w.id == nil {
		return nil
	}
	return w.d.abortUpload(w.ctx, w.path, w.id)
}
