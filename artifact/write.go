package artifact

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/inproc"
	"github.com/berthreg/berth/registry/naming"
)

// ErrRefused reports a change a policy of the registry refused (an
// immutable tag, a quota): the registry's own message says which.
var ErrRefused = errors.New("artifact: refused by a policy")

// remoteOpts are the options of a registry call made as p.
func (s *Service) remoteOpts(ctx context.Context, p auth.Principal) ([]remote.Option, error) {
	if s.local == nil {
		return nil, fmt.Errorf("%w: the service has no registry to write through", ErrNoRegistry)
	}
	return []remote.Option{remote.WithTransport(s.local), remote.WithAuth(authn.Anonymous),
		remote.WithContext(auth.WithPrincipal(ctx, p))}, nil
}

// ref names repo@d or repo:tag on the in-process registry.
func ref(repo, tagOrDigest string) (name.Reference, error) {
	if strings.Contains(tagOrDigest, ":") {
		return name.NewDigest(inproc.Host+"/"+repo+"@"+tagOrDigest, name.Insecure)
	}
	return name.NewTag(inproc.Host+"/"+repo+":"+tagOrDigest, name.Insecure)
}

// registryError maps a refusal of the registry to the Service's errors.
func registryError(err error) error {
	var te *transport.Error
	if !errors.As(err, &te) {
		return err
	}
	switch te.StatusCode {
	case http.StatusNotFound:
		return fmt.Errorf("artifact: %v: %w", te, meta.ErrNotFound)
	case http.StatusUnauthorized:
		return fmt.Errorf("%w: %v", ErrUnauthenticated, te)
	case http.StatusForbidden:
		return fmt.Errorf("%w: %v", ErrForbidden, te)
	case http.StatusPreconditionFailed, http.StatusConflict:
		return fmt.Errorf("%w: %v", ErrRefused, te)
	}
	return err
}

// DeleteArtifact deletes the artifact reference names in repo (a tag
// names the artifact it points at: the artifact goes with all its
// tags), through the registry, for those who may delete from repo.
func (s *Service) DeleteArtifact(ctx context.Context, p auth.Principal, repo, reference string) error {
	if err := s.need(ctx, p, repo, auth.ActionDelete); err != nil {
		return err
	}
	m, err := s.manifest(ctx, repo, reference)
	if err != nil {
		return err
	}
	opts, err := s.remoteOpts(ctx, p)
	if err != nil {
		return err
	}
	r, err := ref(repo, m.Digest.String())
	if err != nil {
		return err
	}
	return registryError(remote.Delete(r, opts...))
}

// manifest reads the manifest reference names in repo.
func (s *Service) manifest(ctx context.Context, repo, reference string) (meta.Manifest, error) {
	var m meta.Manifest
	err := s.store.View(ctx, func(tx meta.Tx) error {
		var err error
		m, err = resolve(tx, repo, reference)
		return err
	})
	return m, err
}

// CreateTag points a new tag at the artifact reference names in repo,
// through the registry, for those who may push to repo. A tag that
// exists already is ErrExists (move it by deleting it first).
func (s *Service) CreateTag(ctx context.Context, p auth.Principal, repo, reference, tag string) error {
	if err := naming.CheckTag(tag); err != nil {
		return invalid("name", err.Error())
	}
	if naming.IsAttachmentTag(tag) {
		return invalid("name", "tags of the form sha256-<hex>.sig, .att and .sbom name accessories")
	}
	if err := s.need(ctx, p, repo, auth.ActionPush); err != nil {
		return err
	}
	var m meta.Manifest
	err := s.store.View(ctx, func(tx meta.Tx) error {
		var err error
		if m, err = resolve(tx, repo, reference); err != nil {
			return err
		}
		switch _, err := tx.Tags().Get(repo, tag); {
		case err == nil:
			return fmt.Errorf("%w: tag %s in %s", ErrExists, tag, repo)
		case !errors.Is(err, meta.ErrNotFound):
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.put(ctx, p, repo, m.Digest, repo, tag)
}

// put stores manifest d of from under tag (or its digest, when tag is
// "") in repo, through the registry, with its blobs mounted from from.
func (s *Service) put(ctx context.Context, p auth.Principal, from string, d digest.Digest, repo, tag string) error {
	opts, err := s.remoteOpts(ctx, p)
	if err != nil {
		return err
	}
	src, err := ref(from, d.String())
	if err != nil {
		return err
	}
	target := d.String()
	if tag != "" {
		target = tag
	}
	dst, err := ref(repo, target)
	if err != nil {
		return err
	}
	desc, err := remote.Get(src, opts...)
	if err != nil {
		return registryError(err)
	}
	if from == repo {
		return registryError(remote.Put(dst, desc, opts...))
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return err
		}
		return registryError(remote.WriteIndex(dst, idx, opts...))
	}
	img, err := desc.Image()
	if err != nil {
		return err
	}
	return registryError(remote.Write(dst, img, opts...))
}

// DeleteTag deletes tag of the artifact reference names in repo (the
// artifact stays), through the registry, for those who may delete from
// repo. A tag that names another artifact is meta.ErrNotFound.
func (s *Service) DeleteTag(ctx context.Context, p auth.Principal, repo, reference, tag string) error {
	if err := s.need(ctx, p, repo, auth.ActionDelete); err != nil {
		return err
	}
	err := s.store.View(ctx, func(tx meta.Tx) error {
		m, err := resolve(tx, repo, reference)
		if err != nil {
			return err
		}
		d, err := tx.Tags().Get(repo, tag)
		if err != nil {
			return err
		}
		if d != m.Digest {
			return fmt.Errorf("artifact: tag %s of %s@%s: %w", tag, repo, m.Digest, meta.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return err
	}
	opts, err := s.remoteOpts(ctx, p)
	if err != nil {
		return err
	}
	r, err := ref(repo, tag)
	if err != nil {
		return err
	}
	return registryError(remote.Delete(r, opts...))
}

// Copy copies the artifact from names ("project/repo:tag" or
// "project/repo@digest") into repository repo (under the same tag, or
// by digest), through the registry, for those who may pull from the
// source and push to repo. It returns the copied artifact's digest.
func (s *Service) Copy(ctx context.Context, p auth.Principal, from, repo string) (digest.Digest, error) {
	srcRepo, reference, ok := strings.Cut(from, "@")
	tag := ""
	if !ok {
		i := strings.LastIndex(from, ":")
		if i < 0 {
			return "", invalid("from", "want project/repository:tag or project/repository@digest")
		}
		srcRepo, reference, tag = from[:i], from[i+1:], from[i+1:]
	}
	if err := naming.CheckRepository(srcRepo); err != nil {
		return "", invalid("from", err.Error())
	}
	if err := s.need(ctx, p, srcRepo, auth.ActionPull); err != nil {
		return "", err
	}
	if err := s.need(ctx, p, repo, auth.ActionPush); err != nil {
		return "", err
	}
	m, err := s.manifest(ctx, srcRepo, reference)
	if err != nil {
		return "", err
	}
	return m.Digest, s.put(ctx, p, srcRepo, m.Digest, repo, tag)
}
