package trust

import (
	"context"
	"errors"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/naming"
)

// Signed reports whether manifest d of repo is signed, for features that
// select artifacts by it (P2P preheat's signature filter): when its
// project trusts keys or identities, a signature must verify with one of
// them, as Check requires; when it trusts none, any cosign signature
// attached to d counts (what Harbor's filter checks). It never refuses
// anything itself, whatever the project enforces.
func (s *Service) Signed(ctx context.Context, repo string, d digest.Digest) (bool, error) {
	st, err := s.settingsFor(ctx, naming.ProjectOf(repo))
	if err != nil {
		return false, err
	}
	if len(st.Keys) > 0 || len(st.Identities) > 0 {
		why, err := s.verify(ctx, repo, d, Signers{Keys: st.Keys, Identities: st.Identities})
		return err == nil && why == "", err
	}
	found := false
	err = s.store.View(ctx, func(tx meta.Tx) error {
		if _, err := tx.Tags().Get(repo, naming.AttachmentTags(d)[0]); err == nil {
			found = true
			return nil
		} else if !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		refs, err := tx.Manifests().Referrers(repo, d)
		if err != nil && !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		for _, r := range refs {
			found = found || r.ArtifactType == BundleType
		}
		return nil
	})
	return found, err
}
