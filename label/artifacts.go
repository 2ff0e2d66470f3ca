package label

import (
	"context"
	"errors"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/naming"
)

// manifestOf resolves reference (a tag or a digest) of repo in tx:
// meta.ErrNotFound when there is no such artifact, an *InputError
// naming "reference" when it is neither.
func manifestOf(tx meta.Tx, repo, reference string) (digest.Digest, error) {
	if strings.Contains(reference, ":") {
		d, err := digest.Parse(reference)
		if err != nil {
			return "", invalid("reference", "%q is not a tag or a digest: %v", reference, err)
		}
		if _, err := tx.Manifests().Get(repo, d); err != nil {
			return "", ifMissing(err, "artifact %s@%s", repo, d)
		}
		return d, nil
	}
	if err := naming.CheckTag(reference); err != nil {
		return "", invalid("reference", "%v", err)
	}
	d, err := tx.Tags().Get(repo, reference)
	return d, ifMissing(err, "artifact %s:%s", repo, reference)
}

// ifMissing is err, saying what is missing when it is meta.ErrNotFound.
func ifMissing(err error, format string, args ...any) error {
	if errors.Is(err, meta.ErrNotFound) {
		return notFound(format, args...)
	}
	return err
}

// Attach attaches label id to the artifact reference (a tag or a
// digest) of repository repo (a full name), for those who may push to
// repo (developers and up, as in Harbor). The label must be global or
// of repo's project (an *InputError naming "id" otherwise). An
// attached label is ErrExists; a missing artifact or label, or one p may
// not see, meta.ErrNotFound. It returns the artifact's digest.
func (s *Service) Attach(ctx context.Context, p auth.Principal, repo, reference string, id int64) (digest.Digest, error) {
	proj, err := s.canLabel(ctx, p, repo)
	if err != nil {
		return "", err
	}
	l, err := s.Get(ctx, p, id)
	if err != nil {
		return "", err
	}
	if err := s.usableIn(ctx, p, l, proj); err != nil {
		return "", err
	}
	var d digest.Digest
	err = s.store.Update(ctx, func(tx meta.Tx) error {
		if _, err := load(tx, id); err != nil { // deleted meanwhile
			return err
		}
		if d, err = manifestOf(tx, repo, reference); err != nil {
			return err
		}
		return attach(tx, repo, d, id)
	})
	return d, err
}

// Detach detaches label id from the artifact reference of repo, for
// those who may push to repo: meta.ErrNotFound when it is not attached.
func (s *Service) Detach(ctx context.Context, p auth.Principal, repo, reference string, id int64) error {
	if _, err := s.canLabel(ctx, p, repo); err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx meta.Tx) error {
		d, err := manifestOf(tx, repo, reference)
		if err != nil {
			return err
		}
		return detach(tx, repo, d, id)
	})
}

// Attached returns the labels attached to the artifact reference of
// repo, in id order, for whoever may pull from repo.
func (s *Service) Attached(ctx context.Context, p auth.Principal, repo, reference string) ([]Label, error) {
	if err := s.checkRead(ctx, p, repo); err != nil {
		return nil, err
	}
	var out []Label
	err := s.store.View(ctx, func(tx meta.Tx) error {
		d, err := manifestOf(tx, repo, reference)
		if err != nil {
			return err
		}
		of, err := Of(tx, repo, []digest.Digest{d})
		out = of[d]
		return err
	})
	if out == nil {
		out = []Label{}
	}
	return out, err
}
