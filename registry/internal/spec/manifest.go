package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/berthreg/berth/meta"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Manifest media types the registry accepts.
const (
	MediaTypeOCIManifest        = v1.MediaTypeImageManifest
	MediaTypeOCIIndex           = v1.MediaTypeImageIndex
	MediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
)

// isIndexType reports whether mt lists other manifests.
func isIndexType(mt string) bool {
	return mt == MediaTypeOCIIndex || mt == MediaTypeDockerManifestList
}

func isManifestType(mt string) bool {
	switch mt {
	case MediaTypeOCIManifest, MediaTypeOCIIndex, MediaTypeDockerManifest, MediaTypeDockerManifestList:
		return true
	}
	return false
}

// IsNondistributable reports layers that clients fetch from elsewhere and
// that a registry must not require to be pushed.
func IsNondistributable(mt string) bool { return meta.IsNondistributable(mt) }

type wireDescriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

type wireManifest struct {
	SchemaVersion *int              `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        *wireDescriptor   `json:"config"`
	Layers        []wireDescriptor  `json:"layers"`
	Manifests     []wireDescriptor  `json:"manifests"`
	Subject       *wireDescriptor   `json:"subject"`
	Annotations   map[string]string `json:"annotations"`
	FSLayers      json.RawMessage   `json:"fsLayers"`
}

// ParseManifest parses and validates manifest bytes pushed with the given
// Content-Type header and returns its metadata record (Digest and PushedAt
// are left for the caller). Manifests without a mediaType field are typed by
// the Content-Type header, else by their shape.
func ParseManifest(contentType string, body []byte) (meta.Manifest, error) {
	var m meta.Manifest
	var w wireManifest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&w); err != nil {
		return m, fmt.Errorf("manifest is not valid JSON: %w", err)
	}
	if dec.More() {
		return m, fmt.Errorf("manifest has trailing data after the JSON object")
	}
	if w.SchemaVersion == nil || *w.SchemaVersion != 2 {
		return m, fmt.Errorf("manifest schemaVersion must be 2")
	}
	if len(w.FSLayers) > 0 {
		return m, fmt.Errorf("docker schema 1 manifests are not supported")
	}
	ct := contentType
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	mt := w.MediaType
	switch {
	case mt != "":
		if isManifestType(ct) && ct != mt {
			return m, fmt.Errorf("manifest mediaType %q does not match Content-Type %q", mt, ct)
		}
	case isManifestType(ct):
		mt = ct
	case w.Manifests != nil:
		mt = MediaTypeOCIIndex
	case w.Config != nil:
		mt = MediaTypeOCIManifest
	default:
		return m, fmt.Errorf("cannot tell the manifest's media type: no mediaType field and Content-Type %q", contentType)
	}
	if !isManifestType(mt) {
		return m, fmt.Errorf("manifest media type %q is not supported", mt)
	}
	m.MediaType = mt
	m.Size = int64(len(body))
	m.Annotations = w.Annotations
	m.ArtifactType = w.ArtifactType
	if isIndexType(mt) {
		if w.Config != nil || w.Layers != nil {
			return m, fmt.Errorf("an index must not have config or layers")
		}
		for i, d := range w.Manifests {
			md, err := toDescriptor(d, fmt.Sprintf("manifests[%d]", i))
			if err != nil {
				return m, err
			}
			m.Manifests = append(m.Manifests, md)
		}
	} else {
		if w.Config == nil {
			return m, fmt.Errorf("an image manifest must have a config")
		}
		if len(w.Manifests) > 0 {
			return m, fmt.Errorf("an image manifest must not list manifests")
		}
		cd, err := toDescriptor(*w.Config, "config")
		if err != nil {
			return m, err
		}
		m.Config = cd
		if m.ArtifactType == "" {
			m.ArtifactType = cd.MediaType
		}
		for i, d := range w.Layers {
			ld, err := toDescriptor(d, fmt.Sprintf("layers[%d]", i))
			if err != nil {
				return m, err
			}
			m.Layers = append(m.Layers, ld)
		}
	}
	if w.Subject != nil {
		sd, err := toDescriptor(*w.Subject, "subject")
		if err != nil {
			return m, err
		}
		m.Subject = sd.Digest
	}
	return m, nil
}

func toDescriptor(d wireDescriptor, field string) (meta.Descriptor, error) {
	dg, err := digest.Parse(d.Digest)
	if err != nil {
		return meta.Descriptor{}, fmt.Errorf("%s.digest %q is not valid: %w", field, d.Digest, err)
	}
	if d.Size < 0 {
		return meta.Descriptor{}, fmt.Errorf("%s.size must not be negative", field)
	}
	return meta.Descriptor{MediaType: d.MediaType, Digest: dg, Size: d.Size}, nil
}
