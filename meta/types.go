package meta

import (
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
)

// Repository is one named repository.
type Repository struct {
	// Name is the full repository name, e.g. "library/alpine".
	Name string `json:"name"`
	// CreatedAt is when the first thing was recorded in it.
	CreatedAt time.Time `json:"createdAt"`
}

// Descriptor names content a manifest references.
type Descriptor struct {
	MediaType string        `json:"mediaType,omitempty"`
	Digest    digest.Digest `json:"digest"`
	Size      int64         `json:"size"`
}

// Manifest is the metadata of one manifest stored in a repository. Its bytes
// live in blob storage under its digest.
type Manifest struct {
	// Digest is the digest of the manifest bytes.
	Digest digest.Digest `json:"digest"`
	// MediaType is the manifest's media type as served (Content-Type).
	MediaType string `json:"mediaType"`
	// ArtifactType is what the referrers API reports: the manifest's
	// artifactType, else its config's media type; empty for indexes without one.
	ArtifactType string `json:"artifactType,omitempty"`
	// Size is the length of the manifest bytes.
	Size int64 `json:"size"`
	// Subject is the digest of the manifest this one refers to, if any.
	Subject digest.Digest `json:"subject,omitempty"`
	// Config is the config blob of an image manifest (zero for an index).
	Config Descriptor `json:"config,omitzero"`
	// Layers are the layer blobs of an image manifest.
	Layers []Descriptor `json:"layers,omitempty"`
	// Manifests are the child manifests of an index.
	Manifests []Descriptor `json:"manifests,omitempty"`
	// Annotations are the manifest's annotations.
	Annotations map[string]string `json:"annotations,omitempty"`
	// PushedAt is when the manifest was last pushed.
	PushedAt time.Time `json:"pushedAt"`
}

// Blob is one blob known to the registry.
type Blob struct {
	Digest digest.Digest `json:"digest"`
	Size   int64         `json:"size"`
	// CreatedAt is when the blob was first stored (registry-wide record) or
	// linked (repository link).
	CreatedAt time.Time `json:"createdAt"`
}

// Upload is an in-progress blob upload session, persisted after every
// acknowledged chunk so that any instance can resume it after a restart.
type Upload struct {
	// ID is the opaque session id in the upload URL.
	ID string `json:"id"`
	// Repository is the repository the blob is being pushed to.
	Repository string `json:"repository"`
	// Offset is the number of bytes durably received and acknowledged.
	Offset int64 `json:"offset"`
	// HashState is the marshalled state of the running digest (sha256) over
	// the first Offset bytes (encoding.BinaryMarshaler output).
	HashState []byte `json:"hashState,omitempty"`
	// DriverState is opaque resume state a storage driver may need (e.g. an
	// S3 multipart upload id and parts).
	DriverState []byte `json:"driverState,omitempty"`
	// StartedAt and UpdatedAt bound the session's life.
	StartedAt time.Time `json:"startedAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// IsNondistributable reports the media type of a layer that clients
// fetch from elsewhere (an OCI non-distributable layer, a Docker foreign
// layer): a registry neither requires nor stores it.
func IsNondistributable(mediaType string) bool {
	return strings.Contains(mediaType, "nondistributable") || strings.Contains(mediaType, ".foreign.")
}

// RepositoryStats counts what one repository holds.
type RepositoryStats struct {
	// Manifests counts every manifest record.
	Manifests int `json:"manifests"`
	// Artifacts counts the manifests that are artifacts (IsArtifact).
	Artifacts int `json:"artifacts"`
	// Tags counts the tags.
	Tags int `json:"tags"`
}

// ArtifactQuery selects a page of a repository's artifacts
// (Manifests.Artifacts).
type ArtifactQuery struct {
	// Offset artifacts are skipped, then up to Limit returned (Limit <= 0:
	// all the rest).
	Offset, Limit int
	// OldestFirst orders by push time ascending instead of descending.
	OldestFirst bool
	// PushedFrom and PushedTo, when not zero, bound the push time,
	// inclusively.
	PushedFrom, PushedTo time.Time
}

// Media types that mark a manifest as an accessory of another artifact
// without a subject field: cosign's signatures, attestations and
// attached SBOMs stored under tags (sha256-<hex>.sig, .att, .sbom).
var accessoryLayerTypes = map[string]bool{
	"application/vnd.dev.cosign.simplesigning.v1+json": true,
	"application/vnd.dsse.envelope.v1+json":            true,
	"application/vnd.in-toto+json":                     true,
	"text/spdx":                                        true,
	"text/spdx+xml":                                    true,
	"text/spdx+json":                                   true,
	"application/vnd.cyclonedx":                        true,
	"application/vnd.cyclonedx+xml":                    true,
	"application/vnd.cyclonedx+json":                   true,
	"application/vnd.syft+json":                        true,
}

// IsAccessory reports whether m belongs to another artifact rather than
// standing alone: it has a subject (an OCI 1.1 referrer: a signature, an
// SBOM, an attestation), or it is a cosign signature, attestation or
// SBOM in the older tag-based layout, recognised by its layers' media
// types.
func (m Manifest) IsAccessory() bool {
	if m.Subject != "" {
		return true
	}
	if len(m.Layers) == 0 {
		return false
	}
	for _, l := range m.Layers {
		if !accessoryLayerTypes[l.MediaType] {
			return false
		}
	}
	return true
}

// IsArtifact reports whether m is listed as an artifact of its
// repository (Manifests.Artifacts): it is not an accessory and no index
// in the repository names it as a child (children are listed under
// their index; parents says whether one does).
func (m Manifest) IsArtifact(parents bool) bool { return !parents && !m.IsAccessory() }
