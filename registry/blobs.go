package registry

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/internal/spec"
	"github.com/berthreg/berth/storage"
	"github.com/opencontainers/go-digest"
)

// linkedBlob returns blob d as linked into repo, or BLOB_UNKNOWN.
func (h *Handler) linkedBlob(r *http.Request, repo string, d digest.Digest) (meta.Blob, error) {
	var b meta.Blob
	err := h.store.View(r.Context(), func(tx meta.Tx) error {
		var err error
		b, err = tx.Blobs().Linked(repo, d)
		return err
	})
	if errors.Is(err, meta.ErrNotFound) {
		return b, errBlobUnknown(d)
	}
	return b, err
}

func (h *Handler) getBlob(w http.ResponseWriter, r *http.Request, repo, arg string) error {
	d, err := spec.ParseDigest(arg)
	if err != nil {
		return errDigestInvalid("%v", err)
	}
	ev := &Event{Action: ActionPullBlob, Repository: repo, Digest: d}
	if err := h.authorize(r, ev); err != nil {
		return err
	}
	b, err := h.linkedBlob(r, repo, d)
	var re *Error
	if h.cfg.upstream != nil && errors.As(err, &re) && re.Code == CodeBlobUnknown {
		return h.blobThrough(w, r, repo, d, ev, err)
	}
	if err != nil {
		return err
	}
	ev.Size = b.Size
	if err := runBefore(r.Context(), h.cfg.hooks.BeforePull, ev); err != nil {
		return err
	}
	hdr := w.Header()
	hdr.Set("Docker-Content-Digest", d.String())
	hdr.Set("Accept-Ranges", "bytes")
	hdr.Set("ETag", `"`+d.String()+`"`)
	hdr.Set("Cache-Control", "max-age=31536000")
	if r.Method == http.MethodHead {
		hdr.Set("Content-Type", "application/octet-stream")
		hdr.Set("Content-Length", strconv.FormatInt(b.Size, 10))
		w.WriteHeader(http.StatusOK)
		return nil
	}
	p := storage.BlobPath(d)
	if rd, ok := h.driver.(storage.Redirector); ok {
		u, err := rd.RedirectURL(r.Context(), r, p)
		if err != nil {
			return err
		}
		if u != "" {
			http.Redirect(w, r, u, http.StatusTemporaryRedirect)
			return nil
		}
	}
	hdr.Set("Content-Type", "application/octet-stream")
	if op, ok := h.driver.(storage.Opener); ok {
		f, err := op.Open(r.Context(), p)
		if err != nil {
			return h.missingBlobData(d, err)
		}
		defer f.Close()
		// ServeContent answers Range requests (206/416) and, for an
		// *os.File, lets the kernel copy with sendfile.
		http.ServeContent(w, r, "", time.Time{}, f)
		return nil
	}
	return h.serveFromReader(w, r, p, d, b.Size)
}

// blobThrough serves blob d of a pull-through cache that does not hold it
// yet, as the upstream streams it (and stores it here): the whole blob,
// Range or not. miss is the answer for a repository that is no cache.
func (h *Handler) blobThrough(w http.ResponseWriter, r *http.Request, repo string, d digest.Digest, ev *Event, miss error) error {
	handled, rc, size, err := h.cfg.upstream.Blob(r.Context(), repo, d)
	switch {
	case !handled:
		return miss
	case err != nil:
		return err
	}
	defer rc.Close()
	ev.Size = size
	if err := runBefore(r.Context(), h.cfg.hooks.BeforePull, ev); err != nil {
		return err
	}
	hdr := w.Header()
	hdr.Set("Docker-Content-Digest", d.String())
	hdr.Set("ETag", `"`+d.String()+`"`)
	hdr.Set("Content-Type", "application/octet-stream")
	hdr.Set("Content-Length", strconv.FormatInt(size, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	if err := copyExactly(w, rc, size); err != nil {
		// The status is sent: all that is left is to cut the response
		// short, so that the client sees a truncated body, not a blob.
		h.log.WarnContext(r.Context(), "blob from the upstream interrupted", "repository", repo, "digest", d, "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

// copyExactly copies size bytes of rc to w, through rc's WriteTo when it
// has one (an Upstream's reader can hand w a file to send), and fails on
// fewer or more.
func copyExactly(w io.Writer, rc io.Reader, size int64) error {
	wt, ok := rc.(io.WriterTo)
	if !ok {
		_, err := io.CopyN(w, rc, size)
		return err
	}
	n, err := wt.WriteTo(w)
	if err == nil && n != size {
		err = fmt.Errorf("the upstream's stream held %d bytes, not %d", n, size)
	}
	return err
}

// serveFromReader streams a blob from a driver without random access,
// honouring a single Range.
func (h *Handler) serveFromReader(w http.ResponseWriter, r *http.Request, p string, d digest.Digest, size int64) error {
	rng := spec.ByteRange{Start: 0, End: size - 1}
	status := http.StatusOK
	if rh := r.Header.Get("Range"); rh != "" && size > 0 {
		br, err := spec.ParseRange(rh, size)
		switch {
		case err == nil:
			rng, status = br, http.StatusPartialContent
		case errors.Is(err, spec.ErrRangeNotSatisfiable):
			w.Header().Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
			return NewError(http.StatusRequestedRangeNotSatisfiable, CodeBlobUnknown, "range not satisfiable")
		}
	}
	rc, err := h.driver.Reader(r.Context(), p, rng.Start)
	if err != nil {
		return h.missingBlobData(d, err)
	}
	defer rc.Close()
	w.Header().Set("Content-Length", strconv.FormatInt(max(rng.Length(), 0), 10))
	if status == http.StatusPartialContent {
		w.Header().Set("Content-Range", "bytes "+strconv.FormatInt(rng.Start, 10)+"-"+strconv.FormatInt(rng.End, 10)+"/"+strconv.FormatInt(size, 10))
	}
	w.WriteHeader(status)
	_, err = io.CopyN(w, rc, max(rng.Length(), 0))
	if err != nil && !errors.Is(err, io.EOF) {
		h.log.WarnContext(r.Context(), "blob stream interrupted", "digest", d, "err", err)
	}
	return nil
}

// missingBlobData maps a storage miss for a linked blob (data lost or being
// collected) to BLOB_UNKNOWN; other errors pass through.
func (h *Handler) missingBlobData(d digest.Digest, err error) error {
	if errors.Is(err, storage.ErrNotFound) {
		return errBlobUnknown(d)
	}
	return err
}

func (h *Handler) deleteBlob(w http.ResponseWriter, r *http.Request, repo, arg string) error {
	d, err := spec.ParseDigest(arg)
	if err != nil {
		return errDigestInvalid("%v", err)
	}
	ev := &Event{Action: ActionDeleteBlob, Repository: repo, Digest: d}
	if err := h.allowDelete(r, ev); err != nil {
		return err
	}
	err = h.store.Update(r.Context(), func(tx meta.Tx) error {
		if err := tx.Blobs().Unlink(repo, d); err != nil {
			return err
		}
		return h.inTx(r, tx, ev)
	})
	if errors.Is(err, meta.ErrNotFound) {
		return errBlobUnknown(d)
	}
	if err != nil {
		return err
	}
	runAfter(r.Context(), h.cfg.hooks.AfterDelete, ev)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// allowDelete authorizes a delete, refuses it when deletes are disabled and
// runs the BeforeDelete hook.
func (h *Handler) allowDelete(r *http.Request, ev *Event) error {
	if err := h.authorize(r, ev); err != nil {
		return err
	}
	if !h.cfg.deletes {
		return errUnsupported("deletes are disabled")
	}
	return runBefore(r.Context(), h.cfg.hooks.BeforeDelete, ev)
}

// inTx runs the InTx hook, if any.
func (h *Handler) inTx(r *http.Request, tx meta.Tx, ev *Event) error {
	if h.cfg.hooks.InTx == nil {
		return nil
	}
	return h.cfg.hooks.InTx(r.Context(), tx, ev)
}
