package artifact

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/naming"
)

// Accessory types, Harbor's names.
const (
	// TypeCosignSignature is a cosign signature (an OCI 1.1 referrer, a
	// sigstore bundle, or the older sha256-<hex>.sig tag).
	TypeCosignSignature = "signature.cosign"
	// TypeNotationSignature is a Notary Project signature.
	TypeNotationSignature = "signature.notation"
	// TypeSBOM is a software bill of materials (the scanner's, or cosign's
	// sha256-<hex>.sbom attachment).
	TypeSBOM = "harbor.sbom"
	// TypeAttestation is an in-toto attestation (cosign's .att tag, or a
	// DSSE referrer).
	TypeAttestation = "attestation.cosign"
	// TypeReferrer is any other referrer.
	TypeReferrer = "subject.accessory"
)

// Accessory is a manifest that belongs to an artifact.
type Accessory struct {
	// Digest, MediaType, ArtifactType and Size describe its manifest.
	Digest       digest.Digest
	MediaType    string
	ArtifactType string
	Size         int64
	// Subject is the artifact it belongs to.
	Subject digest.Digest
	// Type is what it is (TypeCosignSignature, …).
	Type string
	// Tag is the cosign tag naming it ("" for a referrer).
	Tag string
	// CreatedAt is when it was pushed.
	CreatedAt time.Time
}

// IsSignature reports whether a is a signature.
func (a Accessory) IsSignature() bool {
	return a.Type == TypeCosignSignature || a.Type == TypeNotationSignature
}

// accessoryType names what a referrer manifest is by its artifact type.
func accessoryType(m meta.Manifest) string {
	at := m.ArtifactType
	switch {
	case at == "application/vnd.dev.cosign.artifact.sig.v1+json", strings.HasPrefix(at, "application/vnd.dev.sigstore.bundle"),
		at == "application/vnd.dev.cosign.simplesigning.v1+json":
		return TypeCosignSignature
	case at == "application/vnd.cncf.notary.signature":
		return TypeNotationSignature
	case strings.Contains(at, "sbom") || strings.Contains(at, "spdx") || strings.Contains(at, "cyclonedx"):
		return TypeSBOM
	case strings.Contains(at, "in-toto") || strings.Contains(at, "dsse") || strings.Contains(at, "attestation"):
		return TypeAttestation
	}
	return TypeReferrer
}

// tagTypes names what cosign's attachment tags hold, by their suffix.
var tagTypes = map[string]string{".sig": TypeCosignSignature, ".att": TypeAttestation, ".sbom": TypeSBOM}

// accessoriesOf reads the accessories of d in repo: its referrers and
// the manifests cosign's tags for it name.
func accessoriesOf(tx meta.Tx, repo string, d digest.Digest) ([]Accessory, error) {
	refs, err := tx.Manifests().Referrers(repo, d)
	if err != nil {
		return nil, err
	}
	out := make([]Accessory, 0, len(refs))
	for _, m := range refs {
		out = append(out, Accessory{Digest: m.Digest, MediaType: m.MediaType, ArtifactType: m.ArtifactType, Size: m.Size,
			Subject: d, Type: accessoryType(m), CreatedAt: m.PushedAt})
	}
	for _, tag := range naming.AttachmentTags(d) {
		target, err := tx.Tags().Get(repo, tag)
		if errors.Is(err, meta.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		m, err := tx.Manifests().Get(repo, target)
		if err != nil {
			return nil, err
		}
		typ := TypeReferrer
		for suffix, t := range tagTypes {
			if strings.HasSuffix(tag, suffix) {
				typ = t
			}
		}
		out = append(out, Accessory{Digest: m.Digest, MediaType: m.MediaType, ArtifactType: m.ArtifactType, Size: m.Size,
			Subject: d, Type: typ, Tag: tag, CreatedAt: m.PushedAt})
	}
	return out, nil
}

// ListAccessories returns a page of the accessories of the artifact
// reference names in repo (type filters them by Type when not empty),
// and how many there are.
func (s *Service) ListAccessories(ctx context.Context, p auth.Principal, repo, reference, typ string, offset, limit int) ([]Accessory, int, error) {
	if err := s.need(ctx, p, repo, auth.ActionPull); err != nil {
		return nil, 0, err
	}
	var all []Accessory
	err := s.store.View(ctx, func(tx meta.Tx) error {
		m, err := resolve(tx, repo, reference)
		if err != nil {
			return err
		}
		all, err = accessoriesOf(tx, repo, m.Digest)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	kept := all[:0]
	for _, a := range all {
		if typ == "" || a.Type == typ {
			kept = append(kept, a)
		}
	}
	page := window(kept, offset, limit)
	return page, len(kept), nil
}
