package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/inproc"
	"github.com/berthreg/berth/scan"
)

// Artifact types of the referrers a scan stores.
const (
	// ArtifactTypeVulnReport is the vulnerability report's: one layer of
	// type scan.MimeVulnReport holding the report.
	ArtifactTypeVulnReport = "application/vnd.berth.vulnerability.report.v1+json"
	// ArtifactTypeSBOM is the SBOM's (Harbor's SBOM accessory type): one
	// layer of the SBOM's format (SPDX or CycloneDX JSON).
	ArtifactTypeSBOM = "application/vnd.goharbor.harbor.sbom.v1"
	// AnnotationScanner names the scanner on both referrers.
	AnnotationScanner = "io.berth.scan.scanner"
)

// maxReport bounds a stored report read back.
const maxReport = 256 << 20

// localHost names this registry in references reached through Local
// (the host an inproc.New transport serves in process).
const localHost = inproc.Host

func (e *Engine) repository(repo string) (name.Repository, []remote.Option, error) {
	if e.local == nil {
		return name.Repository{}, nil, fmt.Errorf("scan: this registry is not reachable (no Local transport)")
	}
	r, err := name.NewRepository(localHost+"/"+repo, name.Insecure)
	return r, []remote.Option{remote.WithTransport(e.local), remote.WithAuth(authn.Anonymous)}, err
}

// rawManifest is a manifest to put as it is.
type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }

// pushReferrer stores content as an OCI 1.1 artifact of artifactType
// whose subject is subject, and returns the artifact manifest's digest.
func (e *Engine) pushReferrer(ctx context.Context, repo string, subject meta.Descriptor, artifactType, layerType string,
	content []byte, by scan.Info, created time.Time) (digest.Digest, error) {
	r, opts, err := e.repository(repo)
	if err != nil {
		return "", err
	}
	opts = append(opts, remote.WithContext(ctx))
	config := []byte("{}")
	for _, b := range []struct {
		data []byte
		mt   string
	}{{config, ocispec.MediaTypeEmptyJSON}, {content, layerType}} {
		if err := remote.WriteLayer(r, static.NewLayer(b.data, types.MediaType(b.mt)), opts...); err != nil {
			return "", err
		}
	}
	title := "vulnerability-report.json"
	if artifactType == ArtifactTypeSBOM {
		title = "sbom.json"
	}
	m := ocispec.Manifest{
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: artifactType,
		Config:       ocispec.Descriptor{MediaType: ocispec.MediaTypeEmptyJSON, Digest: digest.FromBytes(config), Size: int64(len(config))},
		Layers: []ocispec.Descriptor{{MediaType: layerType, Digest: digest.FromBytes(content), Size: int64(len(content)),
			Annotations: map[string]string{ocispec.AnnotationTitle: title}}},
		Subject: &ocispec.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
		Annotations: map[string]string{ocispec.AnnotationCreated: created.Format(time.RFC3339),
			AnnotationScanner: by.Name + " " + by.Version},
	}
	m.SchemaVersion = 2
	raw, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	d := digest.FromBytes(raw)
	if err := remote.Put(r.Digest(d.String()), rawManifest{raw, types.OCIManifestSchema1}, opts...); err != nil {
		return "", err
	}
	return d, nil
}

// deleteReferrer removes a report stored before.
func (e *Engine) deleteReferrer(ctx context.Context, repo string, d digest.Digest) error {
	r, opts, err := e.repository(repo)
	if err != nil {
		return err
	}
	return remote.Delete(r.Digest(d.String()), append(opts, remote.WithContext(ctx))...)
}

// ReadReport returns the content of a report stored as the referrer d of
// an artifact in repo (its one layer), with that layer's media type.
func (e *Engine) ReadReport(ctx context.Context, repo string, d digest.Digest) ([]byte, string, error) {
	r, opts, err := e.repository(repo)
	if err != nil {
		return nil, "", err
	}
	opts = append(opts, remote.WithContext(ctx))
	desc, err := remote.Get(r.Digest(d.String()), opts...)
	if err != nil {
		return nil, "", err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return nil, "", err
	}
	if len(m.Layers) != 1 {
		return nil, "", fmt.Errorf("scan: report %s has %d layers, want 1", d, len(m.Layers))
	}
	l, err := remote.Layer(r.Digest(m.Layers[0].Digest.String()), opts...)
	if err != nil {
		return nil, "", err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxReport))
	return b, m.Layers[0].MediaType, err
}
