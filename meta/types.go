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
