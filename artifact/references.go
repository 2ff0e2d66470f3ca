package artifact

import (
	"context"
	"encoding/json"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Reference is a child manifest of an index.
type Reference struct {
	// Digest, MediaType and Size describe the child.
	Digest    digest.Digest
	MediaType string
	Size      int64
	// Platform is what it runs on, as the index says (nil: not said, or
	// the Service cannot read content).
	Platform *ocispec.Platform
	// Annotations are the index descriptor's annotations.
	Annotations map[string]string
	// URLs are where a client may fetch it instead.
	URLs []string
}

// addPlatforms fills the platforms of the references of the indexes
// among arts from their stored bytes (when the Service can read them;
// an index that cannot be read keeps its references bare).
func (s *Service) addPlatforms(ctx context.Context, arts []Artifact) {
	if s.content == nil {
		return
	}
	for i := range arts {
		a := &arts[i]
		if len(a.References) == 0 {
			continue
		}
		raw, err := s.readContent(ctx, a.Manifest.Digest, maxManifestRead)
		if err != nil {
			continue
		}
		var idx ocispec.Index
		if json.Unmarshal(raw, &idx) != nil {
			continue
		}
		byDigest := map[digest.Digest]ocispec.Descriptor{}
		for _, d := range idx.Manifests {
			byDigest[d.Digest] = d
		}
		for j := range a.References {
			if d, ok := byDigest[a.References[j].Digest]; ok {
				a.References[j].Platform, a.References[j].Annotations, a.References[j].URLs = d.Platform, d.Annotations, d.URLs
			}
		}
	}
}
