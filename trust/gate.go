package trust

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/internal/fillcache"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/registry/naming"
	"github.com/berthreg/berth/storage"
)

// The media types and annotation of cosign's two signature forms.
const (
	// SimpleSigningType is the layer of a legacy signature manifest (the
	// "sha256-<hex>.sig" tag): the signed payload.
	SimpleSigningType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// SignatureAnnotation is that layer's annotation holding the
	// signature, base64.
	SignatureAnnotation = "dev.cosignproject.cosign/signature"
	// CertificateAnnotation holds a keyless signature's certificate, PEM.
	CertificateAnnotation = "dev.sigstore.cosign/certificate"
	// ChainAnnotation holds that certificate's chain, PEM.
	ChainAnnotation = "dev.sigstore.cosign/chain"
	// RekorBundleAnnotation holds the transparency log's inclusion
	// promise of the signature, JSON.
	RekorBundleAnnotation = "dev.sigstore.cosign/bundle"
	// BundleType is the artifact type of a Sigstore bundle attached as an
	// OCI referrer (cosign v3), and of its layer.
	BundleType = "application/vnd.dev.sigstore.bundle.v0.3+json"
)

// maxSignatureBlob bounds the signature payloads and bundles read.
const maxSignatureBlob = 1 << 20

// Hooks returns the registry hooks of content trust: manifest pulls (GET:
// a HEAD serves no content) of projects with it enabled need a verified
// signature (412 PROJECTPOLICYVIOLATION naming the reason otherwise),
// unless the request's credentials allow pushing to the repository
// (Event.Allows): content trust protects those who only pull
// (deployments, nodes, pull robots), while a signer must read the
// manifest it signs, which Harbor's gate refuses. Deletes forget what
// was found signed in their repository. exempt, when not nil, lets some
// pulls through (the scanners' own).
func (s *Service) Hooks(exempt func(ctx context.Context, ev *registry.Event) bool) registry.Hooks {
	return registry.Hooks{
		BeforePull: func(ctx context.Context, ev *registry.Event) error {
			if ev.Action != registry.ActionPullManifest || ev.Manifest == nil || exempt != nil && exempt(ctx, ev) {
				return nil
			}
			if ev.Request != nil && ev.Request.Method == http.MethodHead {
				return nil // no content served
			}
			if accessory(ev) {
				return nil // verifying needs it, and it runs nowhere
			}
			if ev.Allows != nil && ev.Allows(auth.ActionPush) {
				// Who may push signs what it pushes (cosign reads the
				// manifest it signs), and could push anything anyway.
				return nil
			}
			return s.Check(ctx, ev.Repository, ev.Manifest.Digest)
		},
		AfterDelete: func(_ context.Context, ev *registry.Event) { s.forget(ev.Repository) },
	}
}

// accessory reports whether a pull fetches a signature, attestation or
// SBOM rather than something to run: a manifest without a filesystem
// layer that is a referrer, is pulled by a cosign attachment tag
// ("sha256-<hex>.sig/.att/.sbom"), or holds only cosign signature
// payloads. Such pulls are not gated: verifying a signature needs them
// (an admission controller with pull-only credentials runs cosign
// verify), and they have no signature of their own. An image is gated
// whatever it is tagged or refers to.
func accessory(ev *registry.Event) bool {
	m := ev.Manifest
	for _, l := range m.Layers {
		if strings.HasPrefix(l.MediaType, "application/vnd.oci.image.layer.") || strings.HasPrefix(l.MediaType, "application/vnd.docker.image.rootfs.") {
			return false
		}
	}
	if m.Subject != "" {
		return true
	}
	for _, tag := range ev.Tags {
		if naming.IsAttachmentTag(tag) {
			return true
		}
	}
	if len(m.Layers) == 0 {
		return false
	}
	for _, l := range m.Layers {
		if l.MediaType != SimpleSigningType {
			return false
		}
	}
	return true
}

// settingsFor returns project's settings, from the cache when it is live.
func (s *Service) settingsFor(ctx context.Context, project string) (Settings, error) {
	return fillcache.Through(s.settings, &s.live, project, func() (Settings, error) {
		var st Settings
		err := s.store.View(ctx, func(tx meta.Tx) error {
			var err error
			st, err = settingsIn(tx, project)
			return err
		})
		return st, err
	})
}

// Check decides a pull of manifest d of repo: nil when its project does
// not enforce content trust or d has a signature that verifies with one
// of the project's keys or comes from one of its identities, in either
// of cosign's forms (the legacy "sha256-<hex>.sig" tag, or a Sigstore
// bundle attached as a referrer); else a 412 PROJECTPOLICYVIOLATION
// saying why. Each manifest pulled needs its own signature: an index and
// the images it lists alike (cosign sign --recursive signs them all).
func (s *Service) Check(ctx context.Context, repo string, d digest.Digest) error {
	project := naming.ProjectOf(repo)
	st, err := s.settingsFor(ctx, project)
	if err != nil || !st.Enabled || s.wasVerified(repo, d) {
		return err
	}
	why, err := s.verify(ctx, repo, d, Signers{Keys: st.Keys, Identities: st.Identities})
	if err != nil {
		return err
	}
	if why == "" {
		s.noteVerified(repo, d)
		return nil
	}
	return registry.NewError(http.StatusPreconditionFailed, registry.CodePolicyViolation,
		"content trust: %s@%s is not signed by a key or identity project %s trusts: %s", repo, d, project, why)
}

// verify looks for a signature of d in repo by one of by; it returns ""
// when one is, else why none was.
func (s *Service) verify(ctx context.Context, repo string, d digest.Digest, by Signers) (string, error) {
	var legacy, bundles []meta.Manifest
	err := s.store.View(ctx, func(tx meta.Tx) error {
		sigTag := naming.AttachmentTags(d)[0]
		if sd, err := tx.Tags().Get(repo, sigTag); err == nil {
			m, err := tx.Manifests().Get(repo, sd)
			if err != nil && !errors.Is(err, meta.ErrNotFound) {
				return err
			}
			if err == nil {
				legacy = append(legacy, m)
			}
		} else if !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		refs, err := tx.Manifests().Referrers(repo, d)
		if err != nil && !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		for _, r := range refs {
			if r.ArtifactType == BundleType {
				bundles = append(bundles, r)
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	var reasons []string
	for _, m := range legacy {
		why, err := s.verifyLegacy(ctx, m, d, by)
		if err != nil || why == "" {
			return why, err
		}
		reasons = append(reasons, why)
	}
	for _, m := range bundles {
		why, err := s.verifyBundle(ctx, m, d, by)
		if err != nil || why == "" {
			return why, err
		}
		reasons = append(reasons, why)
	}
	if len(reasons) == 0 {
		return "it has no cosign signature", nil
	}
	return strings.Join(reasons, "; "), nil
}

// sigManifest is the part of a signature manifest read here.
type sigManifest struct {
	Layers []struct {
		MediaType   string            `json:"mediaType"`
		Digest      digest.Digest     `json:"digest"`
		Annotations map[string]string `json:"annotations"`
	} `json:"layers"`
}

// verifyLegacy checks the legacy signature manifest m: any of its
// signatures verifying is enough.
func (s *Service) verifyLegacy(ctx context.Context, m meta.Manifest, d digest.Digest, by Signers) (string, error) {
	raw, err := s.blob(ctx, m.Digest)
	if err != nil {
		return "", err
	}
	var sm sigManifest
	if err := json.Unmarshal(raw, &sm); err != nil {
		return "its signature manifest is not JSON", nil
	}
	why := "its .sig tag holds no signature"
	for _, l := range sm.Layers {
		sig, ok := l.Annotations[SignatureAnnotation]
		if l.MediaType != SimpleSigningType || !ok {
			continue
		}
		payload, err := s.blob(ctx, l.Digest)
		if err != nil {
			return "", err
		}
		err = s.verifier.VerifyLegacy(LegacySignature{Payload: payload, Signature: sig,
			Certificate: l.Annotations[CertificateAnnotation], Chain: l.Annotations[ChainAnnotation],
			RekorBundle: l.Annotations[RekorBundleAnnotation]}, d, by)
		if err == nil {
			return "", nil
		}
		why = "its .sig signature: " + err.Error()
	}
	return why, nil
}

// verifyBundle checks the bundle referrer m.
func (s *Service) verifyBundle(ctx context.Context, m meta.Manifest, d digest.Digest, by Signers) (string, error) {
	if len(m.Layers) == 0 {
		return "a bundle referrer without a layer", nil
	}
	raw, err := s.blob(ctx, m.Layers[0].Digest)
	if err != nil {
		return "", err
	}
	if err := s.verifier.VerifyBundle(raw, d, by); err != nil {
		return "its bundle " + m.Digest.Encoded()[:12] + ": " + err.Error(), nil
	}
	return "", nil
}

// blob reads a small blob (a signature manifest, payload or bundle).
func (s *Service) blob(ctx context.Context, d digest.Digest) ([]byte, error) {
	rc, err := s.driver.Reader(ctx, storage.BlobPath(d), 0)
	if err != nil {
		return nil, fmt.Errorf("trust: reading %s: %w", d, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxSignatureBlob+1))
	if err != nil {
		return nil, fmt.Errorf("trust: reading %s: %w", d, err)
	}
	if len(b) > maxSignatureBlob {
		return nil, fmt.Errorf("trust: %s is larger than a signature can be", d)
	}
	return b, nil
}
