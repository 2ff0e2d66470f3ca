package replication

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/registry/naming"
)

// Endpoint is a registry to copy from or to.
type Endpoint struct {
	// Options are go-containerregistry's remote options: credentials
	// (remote.WithAuth), transport (TLS, proxies), user agent, retries.
	Options []remote.Option
	// Insecure uses plain HTTP.
	Insecure bool
}

func (e Endpoint) nameOptions() []name.Option {
	if e.Insecure {
		return []name.Option{name.Insecure}
	}
	return nil
}

func (e Endpoint) registry(ctx context.Context, s string) (name.Registry, []remote.Option, error) {
	r, err := name.NewRegistry(s, e.nameOptions()...)
	return r, append([]remote.Option{remote.WithContext(ctx)}, e.Options...), err
}

func (e Endpoint) repo(ctx context.Context, s string) (name.Repository, []remote.Option, error) {
	r, err := name.NewRepository(s, e.nameOptions()...)
	return r, append([]remote.Option{remote.WithContext(ctx)}, e.Options...), err
}

// reused returns e with one go-containerregistry Puller and Pusher in its
// options, so that the calls made with it share connections and tokens
// (a registry with a token service then checks the credentials once per
// scope, not once per call).
func (e Endpoint) reused() (Endpoint, error) {
	pl, err := remote.NewPuller(e.Options...)
	if err != nil {
		return e, err
	}
	pu, err := remote.NewPusher(e.Options...)
	if err != nil {
		return e, err
	}
	e.Options = append(slices.Clip(e.Options), remote.Reuse(pl), remote.Reuse(pu))
	return e, nil
}

// Result says what one Copy did.
type Result struct {
	// Copied lists the manifests written to the destination (the tagged
	// one, index children, referrers, attachments); Skipped those it
	// already had.
	Copied, Skipped []v1.Hash
	// Conflicts counts destination tags left alone because they point at
	// other content and Override is off.
	Conflicts int
}

// CopyOptions tune a Copy.
type CopyOptions struct {
	// Override replaces a destination tag that points at other content.
	Override bool
	// Mounts, when set, remembers which destination repositories hold
	// which blobs, so that a blob missing from the destination repository
	// is mounted from another one instead of being sent again.
	Mounts *Mounts
	// Log, when set, is told what the copy does.
	Log func(format string, args ...any)
}

func (o CopyOptions) logf(format string, args ...any) {
	if o.Log != nil {
		o.Log(format, args...)
	}
}

// copier holds one Copy's references and options.
type copier struct {
	sr, dr       name.Repository
	sopts, dopts []remote.Option
	o            CopyOptions
	res          Result
	seen         map[v1.Hash]bool
}

// Copy copies srcRepo:ref from src to dstRepo on dst under the same tag
// (ref a tag) or digest (ref "sha256:…"), with the referrers of what it
// copies and cosign's tag-named attachments (sha256-<hex>.sig, .att,
// .sbom), transitively. What the destination already has is not
// transferred again: manifests are checked with HEAD, blobs by go-
// containerregistry with HEAD, then a cross-repository mount when Mounts
// knows a destination repository holding them.
func Copy(ctx context.Context, src Endpoint, srcRepo string, dst Endpoint, dstRepo, ref string, o CopyOptions) (Result, error) {
	c := &copier{o: o, seen: map[v1.Hash]bool{}}
	var err error
	if src, err = src.reused(); err != nil {
		return c.res, err
	}
	if dst, err = dst.reused(); err != nil {
		return c.res, err
	}
	if c.sr, c.sopts, err = src.repo(ctx, srcRepo); err != nil {
		return c.res, fmt.Errorf("replication: source %s: %w", srcRepo, err)
	}
	if c.dr, c.dopts, err = dst.repo(ctx, dstRepo); err != nil {
		return c.res, fmt.Errorf("replication: destination %s: %w", dstRepo, err)
	}
	err = c.reference(ref, o.Override)
	return c.res, err
}

// at names ref (a tag or a digest) in repo.
func at(repo name.Repository, ref string) name.Reference {
	if strings.Contains(ref, ":") {
		return repo.Digest(ref)
	}
	return repo.Tag(ref)
}

// reference copies one tag or digest, then what refers to it.
func (c *copier) reference(ref string, override bool) error {
	desc, err := remote.Get(at(c.sr, ref), c.sopts...)
	if err != nil {
		return fmt.Errorf("replication: %s: %w", at(c.sr, ref), err)
	}
	dref := at(c.dr, ref)
	if !override {
		if _, isTag := dref.(name.Tag); isTag {
			if have, err := remote.Head(dref, c.dopts...); err == nil && have.Digest != desc.Digest {
				c.res.Conflicts++
				c.o.logf("conflict: %s is %s at the destination, %s at the source; left alone", dref, have.Digest, desc.Digest)
				return nil
			}
		}
	}
	if err := c.manifest(desc, dref); err != nil {
		return err
	}
	return c.followers(desc.Digest)
}

// followers copies the referrers and attachments of d, and theirs.
func (c *copier) followers(d v1.Hash) error {
	if c.seen[d] {
		return nil
	}
	c.seen[d] = true
	idx, err := remote.Referrers(c.sr.Digest(d.String()), c.sopts...)
	if err != nil {
		return fmt.Errorf("replication: referrers of %s@%s: %w", c.sr, d, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, r := range im.Manifests {
		desc, err := remote.Get(c.sr.Digest(r.Digest.String()), c.sopts...)
		if err != nil {
			return fmt.Errorf("replication: referrer %s: %w", r.Digest, err)
		}
		if err := c.manifest(desc, c.dr.Digest(r.Digest.String())); err != nil {
			return err
		}
		if err := c.followers(r.Digest); err != nil {
			return err
		}
	}
	for _, tag := range naming.AttachmentTags(digest.Digest(d.String())) {
		if _, err := remote.Head(c.sr.Tag(tag), c.sopts...); notFound(err) {
			continue
		} else if err != nil {
			return fmt.Errorf("replication: attachment %s:%s: %w", c.sr, tag, err)
		}
		if err := c.reference(tag, true); err != nil {
			return err
		}
	}
	return nil
}

// manifest writes desc (an image, an index with its children, or an
// artifact) to ref on the destination unless it is there under that
// reference already.
func (c *copier) manifest(desc *remote.Descriptor, ref name.Reference) error {
	if have, err := remote.Head(ref, c.dopts...); err == nil && have.Digest == desc.Digest {
		c.res.Skipped = append(c.res.Skipped, desc.Digest)
		return nil
	} else if err != nil && !notFound(err) {
		return fmt.Errorf("replication: destination %s: %w", ref, err)
	}
	var err error
	switch {
	case desc.MediaType.IsIndex():
		idx, ierr := desc.ImageIndex()
		if ierr != nil {
			return ierr
		}
		err = remote.WriteIndex(ref, mountIndex{idx, c}, c.dopts...)
	case desc.MediaType.IsImage():
		img, ierr := desc.Image()
		if ierr != nil {
			return ierr
		}
		err = remote.Write(ref, mountImage{img, c}, c.dopts...)
		if err == nil {
			c.remember(img)
		}
	default:
		err = remote.Put(ref, desc, c.dopts...)
	}
	if err != nil {
		return fmt.Errorf("replication: write %s: %w", ref, err)
	}
	c.o.logf("copied %s (%s)", ref, desc.Digest)
	c.res.Copied = append(c.res.Copied, desc.Digest)
	return nil
}

// notFound reports a 404 from a registry.
func notFound(err error) bool {
	var terr *transport.Error
	return errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound
}
