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

// resolve finds the manifest record ref names in repo. Its View reads
// only the tag and the manifest, so it accepts the store's cached reads.
func (h *Handler) resolve(ctx context.Context, repo string, ref spec.Reference) (meta.Manifest, error) {
	var m meta.Manifest
	err := h.store.View(meta.AllowCachedReads(ctx), func(tx meta.Tx) error {
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

// resolveThrough is resolve, for a pull: in a pull-through cache, the
// upstream first makes a tag current, or brings a digest the cache lacks
// (ev.Upstream says from where).
func (h *Handler) resolveThrough(w http.ResponseWriter, r *http.Request, repo string, ref spec.Reference, ev *Event) (meta.Manifest, error) {
	up := h.cfg.upstream
	if up == nil {
		return h.resolve(r.Context(), repo, ref)
	}
	if ref.Digest != "" {
		m, err := h.resolve(r.Context(), repo, ref)
		var re *Error
		if err == nil || !errors.As(err, &re) || re.Code != CodeManifestUnknown {
			return m, err
		}
	}
	res, err := up.Manifest(r.Context(), repo, ref.String())
	if res.Handled && err != nil {
		return meta.Manifest{}, err
	}
	if res.Warning != "" {
		w.Header().Add("Warning", res.Warning)
	}
	ev.Upstream = res.From
	return h.resolve(r.Context(), repo, ref)
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
	m, err := h.resolveThrough(w, r, repo, ref, ev)
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

// putManifest stores a pushed manifest, in named steps: which tags the
// push sets, authorization, reading the body within the size cap, the
// manifest record (digest check and parse), the BeforePush hook, storing
// bytes and metadata, then the AfterPush hook and the 201 answer.
func (h *Handler) putManifest(w http.ResponseWriter, r *http.Request, repo, arg string) error {
	ctx := r.Context()
	ref, err := parseManifestRef(arg)
	if err != nil {
		return err
	}
	tags, err := pushTags(ref, r.URL.Query()["tag"])
	if err != nil {
		return err
	}
	ev := &Event{Action: ActionPushManifest, Repository: repo, Tags: tags}
	if err := h.authorize(r, ev); err != nil {
		return err
	}
	body, err := h.readManifest(r)
	if err != nil {
		return err
	}
	m, err := manifestRecord(ref, r.Header.Get("Content-Type"), body, time.Now())
	if err != nil {
		return err
	}
	ev.Digest, ev.MediaType, ev.Size, ev.Subject, ev.Manifest = m.Digest, m.MediaType, m.Size, m.Subject, &m
	if err := runBefore(ctx, h.cfg.hooks.BeforePush, ev); err != nil {
		return err
	}
	if err := h.commitManifest(r, repo, m, body, tags, ev); err != nil {
		return err
	}
	h.cache.put(m.Digest, body)
	runAfter(ctx, h.cfg.hooks.AfterPush, ev)
	for k, vs := range pushedHeader(repo, ref, m, tags) {
		w.Header()[k] = vs
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

// pushTags are the tags a manifest push sets: the reference when it is a
// tag (the ?tag= parameters are then validated but ignored), else the
// distinct ?tag= parameters in order. A malformed one is MANIFEST_INVALID.
// The result is never nil: hooks see an empty list for a push by digest
// alone.
func pushTags(ref spec.Reference, params []string) ([]string, error) {
	tags := []string{}
	if ref.Tag != "" {
		tags = append(tags, ref.Tag)
	}
	for _, t := range params {
		if err := spec.ValidateTag(t); err != nil {
			return nil, NewError(http.StatusBadRequest, CodeManifestInvalid, "%v", err)
		}
		if ref.Tag == "" && !containsString(tags, t) {
			tags = append(tags, t)
		}
	}
	return tags, nil
}

// readManifest reads a pushed manifest's body, refusing one larger than
// the configured cap before reading when the client announced its size,
// and after reading when it did not.
func (h *Handler) readManifest(r *http.Request) ([]byte, error) {
	limit := h.cfg.maxManifestSize
	if err := checkManifestSize(r.ContentLength, limit); err != nil {
		return nil, err
	}
	body, err := readManifestBody(r, limit)
	if err != nil {
		return nil, NewError(http.StatusBadRequest, CodeManifestInvalid, "reading manifest: %v", err)
	}
	if err := checkManifestSize(int64(len(body)), limit); err != nil {
		return nil, err
	}
	return body, nil
}

// checkManifestSize refuses a manifest of n bytes (n < 0: not known yet)
// above limit with 413 SIZE_INVALID.
func checkManifestSize(n, limit int64) error {
	if n > limit {
		return NewError(http.StatusRequestEntityTooLarge, CodeSizeInvalid, "manifest exceeds the maximum size of %d bytes", limit)
	}
	return nil
}

// manifestRecord is the metadata record of manifest bytes pushed as ref
// with the given Content-Type at now. The digest uses ref's algorithm when
// ref is a digest (and must then equal it: DIGEST_INVALID otherwise), else
// the canonical one; bytes that are not a valid manifest are
// MANIFEST_INVALID.
func manifestRecord(ref spec.Reference, contentType string, body []byte, now time.Time) (meta.Manifest, error) {
	alg := digest.Canonical
	if ref.Digest != "" {
		alg = ref.Digest.Algorithm()
	}
	d := alg.FromBytes(body)
	if ref.Digest != "" && ref.Digest != d {
		return meta.Manifest{}, errDigestInvalid("manifest digest is %s, not %s", d, ref.Digest)
	}
	m, err := spec.ParseManifest(contentType, body)
	if err != nil {
		return meta.Manifest{}, NewError(http.StatusBadRequest, CodeManifestInvalid, "%v", err)
	}
	m.Digest = d
	m.PushedAt = now.UTC()
	return m, nil
}

// commitManifest stores manifest m: its bytes at their content address
// (claimed first, so a concurrent garbage collection leaves them alone),
// then its record and tags in one metadata transaction. On failure the
// claim is released.
func (h *Handler) commitManifest(r *http.Request, repo string, m meta.Manifest, body []byte, tags []string, ev *Event) error {
	ctx := r.Context()
	if err := h.claim(ctx, m.Digest); err != nil {
		return err
	}
	if err := h.storeManifestBytes(ctx, m.Digest, body); err != nil {
		h.release(ctx, m.Digest)
		return err
	}
	err := h.store.Update(ctx, func(tx meta.Tx) error { return h.recordManifest(tx, r, repo, m, tags, ev) })
	if err != nil {
		h.release(ctx, m.Digest)
		return err
	}
	return nil
}

// recordManifest records manifest m in tx: the claim on its bytes ends,
// what it references must be in the repository (unless sparse manifests
// are allowed), the repository is created if need be, the manifest and
// its tags are put, and the InTx hook runs.
func (h *Handler) recordManifest(tx meta.Tx, r *http.Request, repo string, m meta.Manifest, tags []string, ev *Event) error {
	if err := tx.Collector().Claims().Release(m.Digest); err != nil {
		return err
	}
	if !h.cfg.sparse && (h.cfg.upstream == nil || !h.cfg.upstream.Sparse(r.Context(), repo)) {
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
		if err := tx.Tags().Put(repo, t, m.Digest); err != nil {
			return err
		}
	}
	return h.inTx(r, tx, ev)
}

// pushedHeader is the header of the 201 answering a manifest push: where
// the manifest is, its digest, its subject if it has one (so clients know
// the referrers API is supported), and, for a push by digest, the tags set
// with ?tag=.
func pushedHeader(repo string, ref spec.Reference, m meta.Manifest, tags []string) http.Header {
	hdr := http.Header{}
	hdr.Set("Location", "/v2/"+repo+"/manifests/"+m.Digest.String())
	hdr.Set("Docker-Content-Digest", m.Digest.String())
	if m.Subject != "" {
		hdr.Set("OCI-Subject", m.Subject.String())
	}
	if ref.Digest != "" {
		for _, t := range tags {
			hdr.Add("OCI-Tag", t)
		}
	}
	hdr.Set("Content-Length", "0")
	return hdr
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
	var ds []digest.Digest
	for _, b := range blobs {
		if !spec.IsNondistributable(b.MediaType) {
			ds = append(ds, b.Digest)
		}
	}
	if len(ds) > 0 {
		missing, err := tx.Blobs().Unlinked(repo, ds)
		if err != nil {
			return err
		}
		if len(missing) > 0 {
			return NewError(http.StatusBadRequest, CodeManifestBlobUnknown, "blob %s is not in the repository", missing[0])
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
