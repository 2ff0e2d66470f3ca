package replication

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Endpoint is a registry to copy from or to.
type Endpoint struct {
	// Options are go-containerregistry's remote options: credentials
	// (remote.WithAuth), transport (TLS, proxies), user agent.
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

// Result says what one Copy did.
type Result struct {
	// Copied lists the manifests written to the destination (the tagged
	// one, index children, referrers); Skipped those it already had.
	Copied, Skipped []v1.Hash
	// Conflicts counts destination tags left alone because they point at
	// other content and Override is off.
	Conflicts int
}

// CopyOptions tune a Copy.
type CopyOptions struct {
	// Override replaces a destination tag that points at other content.
	Override bool
}

// Copy copies srcRepo:tag from src to dstRepo:tag on dst, with the
// referrers of what it copies, transitively. What the destination already
// has (same digest) is not transferred again.
func Copy(ctx context.Context, src Endpoint, srcRepo string, dst Endpoint, dstRepo, tag string, o CopyOptions) (Result, error) {
	var res Result
	sr, sopts, err := src.repo(ctx, srcRepo)
	if err != nil {
		return res, fmt.Errorf("replication: source %s: %w", srcRepo, err)
	}
	dr, dopts, err := dst.repo(ctx, dstRepo)
	if err != nil {
		return res, fmt.Errorf("replication: destination %s: %w", dstRepo, err)
	}
	desc, err := remote.Get(sr.Tag(tag), sopts...)
	if err != nil {
		return res, fmt.Errorf("replication: %s:%s: %w", srcRepo, tag, err)
	}
	if !o.Override {
		if have, err := remote.Head(dr.Tag(tag), dopts...); err == nil && have.Digest != desc.Digest {
			res.Conflicts++
			return res, nil
		}
	}
	if err := copyManifest(sr, sopts, dr, dopts, desc, dr.Tag(tag), &res); err != nil {
		return res, err
	}
	return res, copyReferrers(sr, sopts, dr, dopts, desc.Digest, &res, map[v1.Hash]bool{})
}

// copyManifest writes desc (an image, an index with its children, or an
// artifact) to ref on the destination unless it is there under that
// reference already.
func copyManifest(sr name.Repository, sopts []remote.Option, dr name.Repository, dopts []remote.Option, desc *remote.Descriptor, ref name.Reference, res *Result) error {
	if have, err := remote.Head(ref, dopts...); err == nil && have.Digest == desc.Digest {
		res.Skipped = append(res.Skipped, desc.Digest)
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
		err = remote.WriteIndex(ref, idx, dopts...)
	case desc.MediaType.IsImage():
		img, ierr := desc.Image()
		if ierr != nil {
			return ierr
		}
		err = remote.Write(ref, img, dopts...)
	default:
		err = remote.Put(ref, desc, dopts...)
	}
	if err != nil {
		return fmt.Errorf("replication: write %s: %w", ref, err)
	}
	res.Copied = append(res.Copied, desc.Digest)
	return nil
}

// copyReferrers copies the referrers of d, and theirs.
func copyReferrers(sr name.Repository, sopts []remote.Option, dr name.Repository, dopts []remote.Option, d v1.Hash, res *Result, seen map[v1.Hash]bool) error {
	if seen[d] {
		return nil
	}
	seen[d] = true
	idx, err := remote.Referrers(sr.Digest(d.String()), sopts...)
	if err != nil {
		return fmt.Errorf("replication: referrers of %s@%s: %w", sr, d, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, r := range im.Manifests {
		desc, err := remote.Get(sr.Digest(r.Digest.String()), sopts...)
		if err != nil {
			return fmt.Errorf("replication: referrer %s: %w", r.Digest, err)
		}
		if err := copyManifest(sr, sopts, dr, dopts, desc, dr.Digest(r.Digest.String()), res); err != nil {
			return err
		}
		if err := copyReferrers(sr, sopts, dr, dopts, r.Digest, res, seen); err != nil {
			return err
		}
	}
	return nil
}

func notFound(err error) bool {
	var terr *transport.Error
	return errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound
}
