package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/internal/spec"
	"github.com/berthreg/berth/storage"
	"github.com/opencontainers/go-digest"
)

// parseManifestRef parses the reference in a manifest URL: a malformed
// digest is DIGEST_INVALID, a malformed tag MANIFEST_INVALID.
func parseManifestRef(arg string) (spec.Reference, error) {
	ref, err := spec.ParseReference(arg)
	if err != nil {
		if strings.Contains(arg, ":") {
			return ref, errDigestInvalid("%v", err)
		}
		return ref, NewError(http.StatusBadRequest, CodeManifestInvalid, "%v", err)
	}
	return ref, nil
}

// resolve finds the manifest record ref names in repo.
func (h *Handler) resolve(ctx context.Context, repo string, ref spec.Reference) (meta.Manifest, error) {
	var m meta.Manifest
	err := h.store.View(ctx, func(tx meta.Tx) error {
		d := ref.Digest
		if d == "" {
			var err error
			if d, err = tx.Tags().Get(repo, ref.Tag); err != nil {
				return err
			}
		}
		var err error
		m, err = tx.Manifests().Get(repo, d)
		return err
	})
	if errors.Is(err, meta.ErrNotFound) {
		return m, errManifestUnknown(ref.String())
	}
	return m, err
}

func (h *Handler) getManifest(w http.ResponseWriter, r *http.Request, repo, arg string) error {
	ref, err := parseManifestRef(arg)
	if err != nil {
		return err
	}
	ev := &Event{Action: ActionPullManifest, Repository: repo, Digest: ref.Digest}
	if ref.Tag != "" {
		ev.Tags = []string{ref.Tag}
	}
	if err := h.authorize(r, ev); err != nil {
		return err
	}
	m, err := h.resolve(r.Context(), repo, ref)
	if err != nil {
		return err
	}
	ev.Digest, ev.MediaType, ev.Size, ev.Manifest = m.Digest, m.MediaType, m.Size, &m
	if err := runBefore(r.Context(), h.cfg.hooks.BeforePull, ev); err != nil {
		return err
	}
	hdr := w.Header()
	hdr.Set("Content-Type", m.MediaType)
	hdr.Set("Docker-Content-Digest", m.Digest.String())
	hdr.Set("ETag", `"`+m.Digest.String()+`"`)
	hdr.Set("Content-Length", strconv.FormatInt(m.Size, 10))
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	body, err := h.manifestBytes(r.Context(), m)
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	runAfter(r.Context(), h.cfg.hooks.AfterPull, ev)
	return nil
}

// manifestBytes reads a manifest's bytes from blob storage (through the
// content-addressed cache).
func (h *Handler) manifestBytes(ctx context.Context, m meta.Manifest) ([]byte, error) {
	if b, ok := h.cache.get(m.Digest); ok {
		return b, nil
	}
	rc, err := h.driver.Reader(ctx, storage.BlobPath(m.Digest), 0)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, errManifestUnknown(m.Digest.String())
		}
		return nil, err
	}
	defer rc.Close()
	b := make([]byte, m.Size)
	if _, err := io.ReadFull(rc, b); err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", m.Digest, err)
	}
	h.cache.put(m.Digest, b)
	return b, nil
}

func (h *Handler) putManifest(w http.ResponseWriter, r *http.Request, repo, arg string) error {
	ctx := r.Context()
	ref, err := parseManifestRef(arg)
	if err != nil {
		return err
	}
	tags := []string{}
	if ref.Tag != "" {
		tags = append(tags, ref.Tag)
	}
	for _, t := range r.URL.Query()["tag"] {
		if err := spec.ValidateTag(t); err != nil {
			return NewError(http.StatusBadRequest, CodeManifestInvalid, "%v", err)
		}
		if ref.Tag == "" && !containsString(tags, t) {
			tags = append(tags, t)
		}
	}
	ev := &Event{Action: ActionPushManifest, Repository: repo, Tags: tags}
	if err := h.authorize(r, ev); err != nil {
		return err
	}
	if r.ContentLength > h.cfg.maxManifestSize {
		return NewError(http.StatusRequestEntityTooLarge, CodeSizeInvalid, "manifest exceeds the maximum size of %d bytes", h.cfg.maxManifestSize)
	}
	body, err := readManifestBody(r, h.cfg.maxManifestSize)
	if err != nil {
		return NewError(http.StatusBadRequest, CodeManifestInvalid, "reading manifest: %v", err)
	}
	if int64(len(body)) > h.cfg.maxManifestSize {
		return NewError(http.StatusRequestEntityTooLarge, CodeSizeInvalid, "manifest exceeds the maximum size of %d bytes", h.cfg.maxManifestSize)
	}
	alg := digest.Canonical
	if ref.Digest != "" {
		alg = ref.Digest.Algorithm()
	}
	d := alg.FromBytes(body)
	if ref.Digest != "" && ref.Digest != d {
		return errDigestInvalid("manifest digest is %s, not %s", d, ref.Digest)
	}
	m, err := spec.ParseManifest(r.Header.Get("Content-Type"), body)
	if err != nil {
		return NewError(http.StatusBadRequest, CodeManifestInvalid, "%v", err)
	}
	m.Digest = d
	m.PushedAt = time.Now().UTC()
	ev.Digest, ev.MediaType, ev.Size, ev.Subject, ev.Manifest = d, m.MediaType, m.Size, m.Subject, &m
	if err := runBefore(ctx, h.cfg.hooks.BeforePush, ev); err != nil {
		return err
	}
	if err := h.claim(ctx, d); err != nil {
		return err
	}
	if err := h.storeManifestBytes(ctx, d, body); err != nil {
		h.release(ctx, d)
		return err
	}
	err = h.store.Update(ctx, func(tx meta.Tx) error {
		if err := tx.Collector().Release(d); err != nil {
			return err
		}
		if !h.cfg.sparse {
			if err := checkReferences(tx, repo, m); err != nil {
				return err
			}
		}
		_, created, err := tx.Repositories().Ensure(repo)
		if err != nil {
			return err
		}
		ev.RepositoryCreated = created
		if err := tx.Manifests().Put(repo, m); err != nil {
			return err
		}
		for _, t := range tags {
			if err := tx.Tags().Put(repo, t, d); err != nil {
				return err
			}
		}
		return h.inTx(r, tx, ev)
	})
	if err != nil {
		h.release(ctx, d)
		return err
	}
	h.cache.put(d, body)
	runAfter(ctx, h.cfg.hooks.AfterPush, ev)
	hdr := w.Header()
	hdr.Set("Location", "/v2/"+repo+"/manifests/"+d.String())
	hdr.Set("Docker-Content-Digest", d.String())
	if m.Subject != "" {
		hdr.Set("OCI-Subject", m.Subject.String())
	}
	if ref.Digest != "" {
		for _, t := range tags {
			hdr.Add("OCI-Tag", t)
		}
	}
	hdr.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
	return nil
}

// readManifestBody reads at most limit+1 bytes of the request body into a
// buffer sized from Content-Length when the client sent one.
func readManifestBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength < 0 {
		return io.ReadAll(io.LimitReader(r.Body, limit+1))
	}
	buf := bytes.NewBuffer(make([]byte, 0, min(r.ContentLength, limit)+1))
	_, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1))
	return buf.Bytes(), err
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// checkReferences makes sure every blob and child manifest m references is
// present in repo (nondistributable layers excepted).
func checkReferences(tx meta.Tx, repo string, m meta.Manifest) error {
	blobs := m.Layers
	if m.Config.Digest != "" {
		blobs = append([]meta.Descriptor{m.Config}, m.Layers...)
	}
	for _, b := range blobs {
		if spec.IsNondistributable(b.MediaType) {
			continue
		}
		if _, err := tx.Blobs().Linked(repo, b.Digest); err != nil {
			if errors.Is(err, meta.ErrNotFound) {
				return NewError(http.StatusBadRequest, CodeManifestBlobUnknown, "blob %s is not in the repository", b.Digest)
			}
			return err
		}
	}
	for _, c := range m.Manifests {
		if _, err := tx.Manifests().Get(repo, c.Digest); err != nil {
			if errors.Is(err, meta.ErrNotFound) {
				return NewError(http.StatusBadRequest, CodeManifestBlobUnknown, "manifest %s is not in the repository", c.Digest)
			}
			return err
		}
	}
	return nil
}

// storeManifestBytes writes a manifest's bytes to their content address
// unless an identical object is already there.
func (h *Handler) storeManifestBytes(ctx context.Context, d digest.Digest, body []byte) error {
	p := storage.BlobPath(d)
	if fi, err := h.driver.Stat(ctx, p); err == nil && fi.Size == int64(len(body)) {
		return nil
	}
	fw, err := h.driver.Writer(ctx, p, 0)
	if err != nil {
		return err
	}
	defer fw.Close()
	if _, err := io.Copy(fw, bytes.NewReader(body)); err != nil {
		return err
	}
	return fw.Commit(ctx)
}

func (h *Handler) deleteManifest(w http.ResponseWriter, r *http.Request, repo, arg string) error {
	ref, err := parseManifestRef(arg)
	if err != nil {
		return err
	}
	ev := &Event{Action: ActionDeleteManifest, Repository: repo, Digest: ref.Digest}
	if ref.Tag != "" {
		ev.Action, ev.Tags = ActionDeleteTag, []string{ref.Tag}
	}
	if err := h.allowDelete(r, ev); err != nil {
		return err
	}
	err = h.store.Update(r.Context(), func(tx meta.Tx) error {
		if ref.Tag != "" {
			d, err := tx.Tags().Get(repo, ref.Tag)
			if err != nil {
				return err
			}
			ev.Digest = d
			if err := tx.Tags().Delete(repo, ref.Tag); err != nil {
				return err
			}
		} else {
			tags, err := tx.Tags().Of(repo, ref.Digest)
			if err != nil {
				return err
			}
			ev.Tags = tags
			if err := tx.Manifests().Delete(repo, ref.Digest); err != nil {
				return err
			}
		}
		return h.inTx(r, tx, ev)
	})
	if errors.Is(err, meta.ErrNotFound) {
		return errManifestUnknown(ref.String())
	}
	if err != nil {
		return err
	}
	runAfter(r.Context(), h.cfg.hooks.AfterDelete, ev)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	return nil
}
