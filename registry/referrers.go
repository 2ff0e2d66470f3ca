package registry

import (
	"errors"
	"net/http"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/internal/spec"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

func (h *Handler) getReferrers(w http.ResponseWriter, r *http.Request, repo, arg string) error {
	d, err := spec.ParseDigest(arg)
	if err != nil {
		return errDigestInvalid("%v", err)
	}
	if err := h.authorize(r, &Event{Action: ActionListReferrers, Repository: repo, Digest: d}); err != nil {
		return err
	}
	var refs []meta.Manifest
	err = h.store.View(r.Context(), func(tx meta.Tx) error {
		var err error
		refs, err = tx.Manifests().Referrers(repo, d)
		return err
	})
	if err != nil && !errors.Is(err, meta.ErrNotFound) {
		return err
	}
	filter, filtered := r.URL.Query()["artifactType"]
	idx := v1.Index{MediaType: v1.MediaTypeImageIndex, Manifests: []v1.Descriptor{}}
	idx.SchemaVersion = 2
	for _, m := range refs {
		if filtered && !containsString(filter, m.ArtifactType) {
			continue
		}
		idx.Manifests = append(idx.Manifests, v1.Descriptor{
			MediaType:    m.MediaType,
			Digest:       m.Digest,
			Size:         m.Size,
			ArtifactType: m.ArtifactType,
			Annotations:  m.Annotations,
		})
	}
	if filtered {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	return writeJSON(w, v1.MediaTypeImageIndex, http.StatusOK, idx)
}
