package registry

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/internal/spec"
	"github.com/berthreg/berth/storage"
	"github.com/opencontainers/go-digest"
)

func uploadLocation(repo, id string) string {
	return "/v2/" + repo + "/blobs/uploads/" + id
}

func blobLocation(repo string, d digest.Digest) string {
	return "/v2/" + repo + "/blobs/" + d.String()
}

// newUploadID returns a fresh random session id (32 hex characters).
func newUploadID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validUploadID reports whether id looks like one newUploadID made; anything
// else is never used to build a storage path.
func validUploadID(id string) bool {
	if len(id) != 32 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

// rangeHeader renders the Range header of an upload that holds offset bytes.
func rangeHeader(offset int64) string {
	return "0-" + strconv.FormatInt(max(offset-1, 0), 10)
}

func (h *Handler) writeUploadAccepted(w http.ResponseWriter, repo string, u meta.Upload, status int) {
	hdr := w.Header()
	hdr.Set("Location", uploadLocation(repo, u.ID))
	hdr.Set("Docker-Upload-UUID", u.ID)
	hdr.Set("Range", rangeHeader(u.Offset))
	hdr.Set("Content-Length", "0")
	if n := h.chunkMinLength(); n > 0 {
		hdr.Set("OCI-Chunk-Min-Length", strconv.FormatInt(n, 10))
	}
	w.WriteHeader(status)
}

func writeBlobCreated(w http.ResponseWriter, repo string, d digest.Digest) {
	hdr := w.Header()
	hdr.Set("Location", blobLocation(repo, d))
	hdr.Set("Docker-Content-Digest", d.String())
	hdr.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

// startUpload handles POST /v2/<name>/blobs/uploads/: a mount, a monolithic
// upload (?digest=) or the start of a session.
func (h *Handler) startUpload(w http.ResponseWriter, r *http.Request, repo string) error {
	q := r.URL.Query()
	if m := q.Get("mount"); m != "" {
		if d, err := spec.ParseDigest(m); err == nil {
			done, err := h.mount(w, r, repo, d, q.Get("from"))
			if done || err != nil {
				return err
			}
		}
		// An unusable mount falls back to a new upload session (202).
	}
	ev := &Event{Action: ActionPushBlob, Repository: repo}
	if err := h.authorize(r, ev); err != nil {
		return err
	}
	if ds := q.Get("digest"); ds != "" {
		d, err := spec.ParseDigest(ds)
		if err != nil {
			return errDigestInvalid("%v", err)
		}
		ev.Digest = d
		if err := runBefore(r.Context(), h.cfg.hooks.BeforePush, ev); err != nil {
			return err
		}
		return h.monolithicUpload(w, r, repo, d, ev)
	}
	if err := runBefore(r.Context(), h.cfg.hooks.BeforePush, ev); err != nil {
		return err
	}
	now := time.Now().UTC()
	u := meta.Upload{ID: newUploadID(), Repository: repo, StartedAt: now, UpdatedAt: now}
	if err := h.store.Update(r.Context(), func(tx meta.Tx) error { return tx.Uploads().Put(u) }); err != nil {
		return err
	}
	h.writeUploadAccepted(w, repo, u, http.StatusAccepted)
	return nil
}

// mount links blob d into repo from repository from (or, with anonymous
// mounts enabled and from empty, from anywhere in the registry). It reports
// false when the blob cannot be mounted, so the caller opens a session.
func (h *Handler) mount(w http.ResponseWriter, r *http.Request, repo string, d digest.Digest, from string) (bool, error) {
	if from == "" && !h.cfg.anonymousMount {
		return false, nil
	}
	if from != "" && spec.ValidateName(from) != nil {
		return false, nil
	}
	ev := &Event{Action: ActionMountBlob, Repository: repo, Digest: d, From: from}
	if err := h.authorize(r, ev); err != nil {
		return false, err
	}
	var b meta.Blob
	err := h.store.View(r.Context(), func(tx meta.Tx) error {
		var err error
		if from != "" {
			b, err = tx.Blobs().Linked(from, d)
		} else {
			b, err = tx.Blobs().Stat(d)
		}
		return err
	})
	if errors.Is(err, meta.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	ev.Size = b.Size
	if err := runBefore(r.Context(), h.cfg.hooks.BeforePush, ev); err != nil {
		return false, err
	}
	// The source is checked again in the transaction that links: garbage
	// collection may have tombstoned the blob since (its bytes are being
	// deleted), and a link made then would point at nothing.
	err = h.linkBlobIf(r, repo, b, "", ev, func(tx meta.Tx) error {
		if from != "" {
			_, err := tx.Blobs().Linked(from, d)
			return err
		}
		_, err := tx.Blobs().Stat(d)
		return err
	})
	if errors.Is(err, meta.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	runAfter(r.Context(), h.cfg.hooks.AfterPush, ev)
	writeBlobCreated(w, repo, d)
	return true, nil
}

// linkBlob records blob b in repo (creating the repository if needed) and,
// when uploadID is set, drops that upload session, in one transaction.
func (h *Handler) linkBlob(r *http.Request, repo string, b meta.Blob, uploadID string, ev *Event) error {
	return h.linkBlobIf(r, repo, b, uploadID, ev, nil)
}

// linkBlobIf is linkBlob when check, run first in the same transaction,
// passes (its error is returned as is).
func (h *Handler) linkBlobIf(r *http.Request, repo string, b meta.Blob, uploadID string, ev *Event, check func(meta.Tx) error) error {
	return h.store.Update(r.Context(), func(tx meta.Tx) error {
		if check != nil {
			if err := check(tx); err != nil {
				return err
			}
		}
		_, created, err := tx.Repositories().Ensure(repo)
		if err != nil {
			return err
		}
		ev.RepositoryCreated = created
		if err := tx.Blobs().Link(repo, b); err != nil {
			return err
		}
		if err := tx.Collector().Claims().Release(b.Digest); err != nil {
			return err
		}
		if uploadID != "" {
			if err := tx.Uploads().Delete(uploadID); err != nil && !errors.Is(err, meta.ErrNotFound) {
				return err
			}
		}
		return h.inTx(r, tx, ev)
	})
}

// monolithicUpload handles POST ?digest= with the whole blob as the body.
// The bytes go straight to a new object at the blob's content address,
// verified before the object is committed (so nothing unverified is ever
// visible); a blob already stored is only hashed, to prove the client has it.
func (h *Handler) monolithicUpload(w http.ResponseWriter, r *http.Request, repo string, d digest.Digest, ev *Event) error {
	ctx := r.Context()
	done, err := h.claimUntilLinked(ctx, d)
	if err != nil {
		return err
	}
	linked := false
	defer done(&linked)
	v := d.Verifier()
	dst := storage.BlobPath(d)
	var n int64
	if fi, err := h.driver.Stat(ctx, dst); err == nil && !fi.IsDir && isVouched(ctx) {
		n = fi.Size
	} else if err == nil && !fi.IsDir {
		if n, err = h.copyBody(io.Discard, v, r.Body, r.ContentLength, 0); err != nil {
			return err
		}
		if !v.Verified() {
			return errDigestInvalid("uploaded content does not match digest %s", d)
		}
	} else {
		fw, err := h.driver.Writer(ctx, dst, 0)
		if err != nil {
			return fmt.Errorf("open blob: %w", err)
		}
		defer fw.Close()
		if isVouched(ctx) {
			n, err = h.copyVouched(ctx, fw, r.Body)
		} else {
			n, err = h.copyBody(fw, v, r.Body, r.ContentLength, 0)
		}
		if err != nil {
			return err
		}
		if !isVouched(ctx) && !v.Verified() {
			return errDigestInvalid("uploaded content does not match digest %s", d)
		}
		if err := fw.Commit(ctx); err != nil {
			return fmt.Errorf("commit blob: %w", err)
		}
	}
	ev.Size = n
	if err := h.linkBlob(r, repo, meta.Blob{Digest: d, Size: n, CreatedAt: time.Now().UTC()}, "", ev); err != nil {
		return err
	}
	linked = true
	runAfter(ctx, h.cfg.hooks.AfterPush, ev)
	writeBlobCreated(w, repo, d)
	return nil
}

// copyBody streams an upload body into dst while feeding sum, enforcing the
// blob size cap given that the blob already holds `already` bytes. sizeHint
// is the announced body length, or -1.
func (h *Handler) copyBody(dst, sum io.Writer, body io.Reader, sizeHint, already int64) (int64, error) {
	src := body
	if h.cfg.maxBlobSize > 0 {
		src = io.LimitReader(body, h.cfg.maxBlobSize-already+1)
	}
	n, err := copyHashed(dst, sum, src, sizeHint)
	var re readError
	switch {
	case errors.As(err, &re):
		return n, NewError(http.StatusBadRequest, CodeBlobUploadInvalid, "reading upload body: %v", re.err)
	case err != nil:
		return n, fmt.Errorf("write upload data: %w", err)
	}
	if h.cfg.maxBlobSize > 0 && already+n > h.cfg.maxBlobSize {
		return n, NewError(http.StatusRequestEntityTooLarge, CodeSizeInvalid, "blob exceeds the maximum size of %d bytes", h.cfg.maxBlobSize)
	}
	return n, nil
}

// copyVouched streams a vouched upload body (Vouched) into dst: no
// hashing, the same size cap, and the writer's ReadFrom (a kernel copy
// from a file on fs).
func (h *Handler) copyVouched(ctx context.Context, dst io.Writer, body io.Reader) (int64, error) {
	src := body
	if h.cfg.maxBlobSize > 0 {
		src = io.LimitReader(body, h.cfg.maxBlobSize+1)
	}
	n, err := io.Copy(dst, src)
	switch {
	case err != nil && ctx.Err() != nil:
		return n, ctx.Err() // the caller gave up (and closed the body)
	case err != nil:
		return n, fmt.Errorf("write upload data: %w", err)
	case h.cfg.maxBlobSize > 0 && n > h.cfg.maxBlobSize:
		return n, NewError(http.StatusRequestEntityTooLarge, CodeSizeInvalid, "blob exceeds the maximum size of %d bytes", h.cfg.maxBlobSize)
	}
	return n, nil
}

// loadUpload returns the session id of repo, or BLOB_UPLOAD_UNKNOWN.
func (h *Handler) loadUpload(ctx context.Context, repo, id string) (meta.Upload, error) {
	var u meta.Upload
	if !validUploadID(id) {
		return u, errUploadUnknown()
	}
	err := h.store.View(ctx, func(tx meta.Tx) error {
		var err error
		u, err = tx.Uploads().Get(id)
		return err
	})
	if errors.Is(err, meta.ErrNotFound) || (err == nil && u.Repository != repo) {
		return u, errUploadUnknown()
	}
	return u, err
}

// restoreHash rebuilds the running sha256 of a session from its saved state.
func restoreHash(u meta.Upload) (hash.Hash, error) {
	hs := sha256.New()
	if u.Offset == 0 || len(u.HashState) == 0 {
		if u.Offset != 0 {
			return nil, errors.New("upload session lost its hash state")
		}
		return hs, nil
	}
	if err := hs.(encoding.BinaryUnmarshaler).UnmarshalBinary(u.HashState); err != nil {
		return nil, fmt.Errorf("restore upload hash state: %w", err)
	}
	return hs, nil
}

// appendChunk streams body onto the session's data after u.Offset, hashing
// as it goes, and makes it durable in storage. On success u.Offset,
// u.HashState and u.DriverState describe the new length; the caller persists
// u. want is the exact number of bytes the request announced, or -1.
func (h *Handler) appendChunk(ctx context.Context, u *meta.Upload, hs hash.Hash, body io.Reader, want int64) error {
	cw, err := h.openChunk(ctx, u)
	if err != nil {
		return fmt.Errorf("open upload data: %w", err)
	}
	defer cw.Close()
	n, err := h.copyBody(cw, hs, body, want, u.Offset)
	if err != nil {
		return err
	}
	if want >= 0 && n != want {
		return NewError(http.StatusBadRequest, CodeSizeInvalid, "received %d bytes, the request announced %d", n, want)
	}
	if err := cw.save(ctx, u); err != nil {
		return fmt.Errorf("save upload data: %w", err)
	}
	state, err := hs.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return fmt.Errorf("save upload hash state: %w", err)
	}
	u.Offset += n
	u.HashState = state
	u.UpdatedAt = time.Now().UTC()
	return nil
}

// saveUpload persists u after a chunk, failing if another request moved the
// session on meanwhile (from is the offset the chunk started at).
func (h *Handler) saveUpload(ctx context.Context, u meta.Upload, from int64) error {
	return h.store.Update(ctx, func(tx meta.Tx) error {
		cur, err := tx.Uploads().Get(u.ID)
		if errors.Is(err, meta.ErrNotFound) {
			return errUploadUnknown()
		}
		if err != nil {
			return err
		}
		if cur.Offset != from {
			return NewError(http.StatusRequestedRangeNotSatisfiable, CodeRangeInvalid, "upload moved on concurrently")
		}
		return tx.Uploads().Put(u)
	})
}

// chunkRange validates Content-Range/Content-Length of a chunk against the
// session offset; it returns the byte count announced (or -1).
func chunkRange(w http.ResponseWriter, r *http.Request, repo string, u meta.Upload) (int64, error) {
	want := int64(-1)
	if r.ContentLength >= 0 && r.Header.Get("Content-Length") != "" {
		want = r.ContentLength
	}
	cr := r.Header.Get("Content-Range")
	if cr == "" {
		return want, nil
	}
	start, end, err := spec.ParseContentRange(cr)
	if err != nil {
		return 0, NewError(http.StatusBadRequest, CodeBlobUploadInvalid, "%v", err)
	}
	if start != u.Offset {
		w.Header().Set("Location", uploadLocation(repo, u.ID))
		w.Header().Set("Range", rangeHeader(u.Offset))
		w.Header().Set("Docker-Upload-UUID", u.ID)
		return 0, NewError(http.StatusRequestedRangeNotSatisfiable, CodeRangeInvalid,
			"chunk starts at %d but the upload holds %d bytes", start, u.Offset)
	}
	n := end - start + 1
	if want >= 0 && want != n {
		return 0, NewError(http.StatusBadRequest, CodeBlobUploadInvalid,
			"Content-Length %d does not match Content-Range %s", want, cr)
	}
	return n, nil
}

// openSession authorizes a request on upload id of repo, locks the session
// against concurrent requests in this process and loads it. The caller must
// call unlock when done (also on error).
func (h *Handler) openSession(r *http.Request, ev *Event, id string) (meta.Upload, func(), error) {
	if err := h.authorize(r, ev); err != nil {
		return meta.Upload{}, func() {}, err
	}
	unlock := h.uploads.Lock(id)
	u, err := h.loadUpload(r.Context(), ev.Repository, id)
	return u, unlock, err
}

func (h *Handler) patchUpload(w http.ResponseWriter, r *http.Request, repo, id string) error {
	u, unlock, err := h.openSession(r, &Event{Action: ActionPushBlob, Repository: repo}, id)
	defer unlock()
	if err != nil {
		return err
	}
	want, err := chunkRange(w, r, repo, u)
	if err != nil {
		return err
	}
	hs, err := restoreHash(u)
	if err != nil {
		return err
	}
	from := u.Offset
	if err := h.appendChunk(r.Context(), &u, hs, r.Body, want); err != nil {
		return err
	}
	if err := h.saveUpload(r.Context(), u, from); err != nil {
		return err
	}
	h.writeUploadAccepted(w, repo, u, http.StatusAccepted)
	return nil
}

func (h *Handler) putUpload(w http.ResponseWriter, r *http.Request, repo, id string) error {
	ev := &Event{Action: ActionPushBlob, Repository: repo}
	u, unlock, err := h.openSession(r, ev, id)
	defer unlock()
	if err != nil {
		return err
	}
	d, err := spec.ParseDigest(r.URL.Query().Get("digest"))
	if err != nil {
		return errDigestInvalid("PUT needs a valid digest parameter: %v", err)
	}
	ev.Digest = d
	hs, err := restoreHash(u)
	if err != nil {
		return err
	}
	hasBody := r.ContentLength > 0 || (r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody)
	if hasBody || r.Header.Get("Content-Range") != "" {
		want, err := chunkRange(w, r, repo, u)
		if err != nil {
			return err
		}
		if err := h.appendChunk(r.Context(), &u, hs, r.Body, want); err != nil {
			return err
		}
	}
	if err := h.finishUpload(r, repo, &u, hs, d, ev); err != nil {
		return err
	}
	writeBlobCreated(w, repo, d)
	return nil
}

// finishUpload verifies the uploaded bytes against d, moves them to their
// content address and links the blob into repo. On a digest mismatch the
// session is discarded.
func (h *Handler) finishUpload(r *http.Request, repo string, u *meta.Upload, hs hash.Hash, d digest.Digest, ev *Event) error {
	ctx := r.Context()
	if d.Algorithm() != digest.SHA256 {
		// Verified by reading the data back, which must be an object.
		if err := h.materialize(ctx, u); err != nil {
			return err
		}
	}
	ok, err := h.verifyUpload(ctx, u, hs, d)
	if err != nil {
		return err
	}
	if !ok {
		h.discardUpload(ctx, *u)
		_ = h.store.Update(ctx, func(tx meta.Tx) error { return tx.Uploads().Delete(u.ID) })
		return errDigestInvalid("uploaded content does not match digest %s", d)
	}
	done, err := h.claimUntilLinked(ctx, d)
	if err != nil {
		return err
	}
	linked := false
	defer done(&linked)
	dst := storage.BlobPath(d)
	// What is left of the session once the blob is linked: after a move
	// only the session's directory; when the blob was already stored, the
	// session's data and driver state too. It is removed after linking, so
	// a failed link leaves the session whole for the client's retry.
	leftover := meta.Upload{ID: u.ID}
	if fi, err := h.driver.Stat(ctx, dst); err == nil && !fi.IsDir && fi.Size == u.Offset {
		// Already stored by an earlier push: keep that copy.
		leftover = *u
	} else {
		if err := h.materialize(ctx, u); err != nil {
			return err
		}
		if err := h.driver.Move(ctx, storage.UploadPath(u.ID), dst); err != nil {
			if !errors.Is(err, storage.ErrNotFound) || u.Offset != 0 {
				return fmt.Errorf("move upload to blob store: %w", err)
			}
			// A zero-byte upload that never wrote data: store an empty object.
			if err := h.writeEmpty(ctx, dst); err != nil {
				return err
			}
		}
	}
	ev.Size = u.Offset
	if err := h.linkBlob(r, repo, meta.Blob{Digest: d, Size: u.Offset, CreatedAt: time.Now().UTC()}, u.ID, ev); err != nil {
		return err
	}
	linked = true
	h.discardUpload(ctx, leftover)
	runAfter(ctx, h.cfg.hooks.AfterPush, ev)
	return nil
}

func (h *Handler) writeEmpty(ctx context.Context, p string) error {
	fw, err := h.driver.Writer(ctx, p, 0)
	if err != nil {
		return err
	}
	defer fw.Close()
	return fw.Commit(ctx)
}

// verifyUpload checks the session's bytes against d: from the running sha256
// when d is sha256, else by re-reading the stored data with d's algorithm.
func (h *Handler) verifyUpload(ctx context.Context, u *meta.Upload, hs hash.Hash, d digest.Digest) (bool, error) {
	if d.Algorithm() == digest.SHA256 {
		return digest.NewDigest(digest.SHA256, hs) == d, nil
	}
	v := d.Verifier()
	if u.Offset > 0 {
		rc, err := h.driver.Reader(ctx, storage.UploadPath(u.ID), 0)
		if err != nil {
			return false, fmt.Errorf("re-read upload: %w", err)
		}
		defer rc.Close()
		if _, err := io.CopyN(v, rc, u.Offset); err != nil {
			return false, fmt.Errorf("re-read upload: %w", err)
		}
	}
	return v.Verified(), nil
}

// discardUpload removes an upload's stored bytes (and, for a session
// driver, what its session holds), ignoring "not found".
func (h *Handler) discardUpload(ctx context.Context, u meta.Upload) {
	ctx = context.WithoutCancel(ctx)
	if h.sessions != nil && u.DriverState != nil {
		if err := h.sessions.AbortSession(ctx, storage.UploadPath(u.ID), u.DriverState); err != nil {
			h.log.WarnContext(ctx, "could not abort upload session", "upload", u.ID, "err", err)
		}
	}
	err := h.driver.Delete(ctx, storage.UploadDir(u.ID))
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		h.log.WarnContext(ctx, "could not remove upload data", "upload", u.ID, "err", err)
	}
}

func (h *Handler) uploadStatus(w http.ResponseWriter, r *http.Request, repo, id string) error {
	if err := h.authorize(r, &Event{Action: ActionPushBlob, Repository: repo}); err != nil {
		return err
	}
	u, err := h.loadUpload(r.Context(), repo, id)
	if err != nil {
		return err
	}
	h.writeUploadAccepted(w, repo, u, http.StatusNoContent)
	return nil
}

func (h *Handler) cancelUpload(w http.ResponseWriter, r *http.Request, repo, id string) error {
	u, unlock, err := h.openSession(r, &Event{Action: ActionPushBlob, Repository: repo}, id)
	defer unlock()
	if err != nil {
		return err
	}
	err = h.store.Update(r.Context(), func(tx meta.Tx) error { return tx.Uploads().Delete(id) })
	if err != nil && !errors.Is(err, meta.ErrNotFound) {
		return err
	}
	h.discardUpload(r.Context(), u)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
	return nil
}
