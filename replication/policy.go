package replication

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/registry/naming"
)

// Policy says what to copy from where to where, in one direction (push
// mode is a policy whose source is this registry, pull mode one whose
// destination is).
type Policy struct {
	// Source and Destination are the registries' host[:port] and how to
	// reach them.
	Source, Destination                 string
	SourceEndpoint, DestinationEndpoint Endpoint
	// Repositories lists the source repositories to consider when its
	// catalog cannot be listed (the catalog is used when it is empty).
	Repositories []string
	// Filter selects repositories, tags and artifacts.
	Filter Filter
	// Namespace, when set, replaces the leading components of the
	// repository name that Flatten drops ("mirror"). Flatten is Harbor's
	// destination namespace replace count: how many leading components
	// go (0 none, -1 all but the last).
	Namespace string
	Flatten   int
	// Override replaces destination tags that point at other content;
	// without it such tags are left alone and counted as conflicts.
	Override bool
	// Mounts, when set, is shared by the copies (cross-repository mounts
	// at the destination).
	Mounts *Mounts
	// AttachedLabels, when set, returns the names of the labels attached
	// to manifest d of source repository repo (a source that is this
	// registry: see WithAttachedLabels), which the filter's labels match
	// beside the image's.
	AttachedLabels func(ctx context.Context, repo string, d digest.Digest) ([]string, error)
}

// DestinationRepository maps a source repository to its destination name.
func (p Policy) DestinationRepository(repo string) string {
	parts := strings.Split(repo, "/")
	drop := p.Flatten
	if drop < 0 || drop >= len(parts) {
		drop = len(parts) - 1
	}
	parts = parts[drop:]
	if p.Namespace != "" {
		parts = append([]string{p.Namespace}, parts...)
	}
	return strings.Join(parts, "/")
}

// The operations of an Item.
const (
	OpCopy     = "copy"
	OpDeletion = "deletion"
)

// Item is one artifact to replicate: the unit of a task.
type Item struct {
	// Operation is OpCopy or OpDeletion.
	Operation string `json:"operation"`
	// Repository is the source repository; Tag or Digest the artifact.
	Repository string `json:"repository"`
	Tag        string `json:"tag,omitempty"`
	Digest     string `json:"digest,omitempty"`
}

// Ref is the item's tag, else its digest.
func (it Item) Ref() string {
	if it.Tag != "" {
		return it.Tag
	}
	return it.Digest
}

// Plan lists the items a run of p copies: every selected tag of every
// selected repository of the source (attachment tags go with their
// subjects).
func Plan(ctx context.Context, p Policy) ([]Item, error) {
	if err := p.Filter.Check(); err != nil {
		return nil, fmt.Errorf("replication: %w", err)
	}
	var err error
	if p.SourceEndpoint, err = p.SourceEndpoint.reused(); err != nil {
		return nil, err
	}
	if p.DestinationEndpoint, err = p.DestinationEndpoint.reused(); err != nil {
		return nil, err
	}
	repos := p.Repositories
	if len(repos) == 0 {
		reg, opts, err := p.SourceEndpoint.registry(ctx, p.Source)
		if err != nil {
			return nil, err
		}
		if repos, err = remote.Catalog(ctx, reg, opts...); err != nil {
			return nil, fmt.Errorf("replication: catalog of %s: %w", p.Source, err)
		}
	}
	var items []Item
	for _, repo := range repos {
		if !p.Filter.Repository(repo) {
			continue
		}
		sr, sopts, err := p.SourceEndpoint.repo(ctx, p.Source+"/"+repo)
		if err != nil {
			return nil, err
		}
		tags, err := remote.List(sr, sopts...)
		if err != nil {
			return nil, fmt.Errorf("replication: tags of %s: %w", sr, err)
		}
		for _, tag := range tags {
			if naming.IsAttachmentTag(tag) {
				continue // copied with its subject
			}
			it := Item{Operation: OpCopy, Repository: repo, Tag: tag}
			ok, err := Selects(ctx, p, it)
			if err != nil {
				return nil, err
			}
			if ok {
				items = append(items, it)
			}
		}
	}
	return items, nil
}

// Selects reports whether p replicates it: its repository and tag pass
// the filter and, for a copy when the filter looks at labels or types,
// the artifact does. Attachments (cosign's tags, or an untagged artifact
// with a subject, as events name them) are selected when their subject is
// at the destination already: they follow their subject. Other untagged
// artifacts travel with the tag or index that names them.
func Selects(ctx context.Context, p Policy, it Item) (bool, error) {
	if !p.Filter.Repository(it.Repository) {
		return false, nil
	}
	if it.Operation != OpCopy {
		return it.Tag == "" || p.Filter.Tag(it.Tag), nil
	}
	if naming.IsAttachmentTag(it.Tag) {
		base, _, _ := strings.Cut(it.Tag, ".")
		return p.atDestination(ctx, it.Repository, strings.Replace(base, "-", ":", 1))
	}
	if it.Tag != "" && !p.Filter.Tag(it.Tag) {
		return false, nil
	}
	if it.Tag != "" && !p.Filter.inspects() {
		return true, nil
	}
	sr, sopts, err := p.SourceEndpoint.repo(ctx, p.Source+"/"+it.Repository)
	if err != nil {
		return false, err
	}
	desc, err := remote.Get(at(sr, it.Ref()), sopts...)
	if notFound(err) {
		return false, nil // gone since it was listed
	} else if err != nil {
		return false, fmt.Errorf("replication: %s:%s: %w", sr, it.Ref(), err)
	}
	var m struct {
		ArtifactType string                     `json:"artifactType"`
		Subject      *struct{ Digest string }   `json:"subject"`
		Config       struct{ MediaType string } `json:"config"`
		Annotations  map[string]string          `json:"annotations"`
	}
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return false, fmt.Errorf("replication: %s:%s: manifest: %w", sr, it.Ref(), err)
	}
	if it.Tag == "" {
		if m.Subject == nil {
			return false, nil
		}
		return p.atDestination(ctx, it.Repository, m.Subject.Digest)
	}
	kind := m.ArtifactType
	if kind == "" {
		kind = m.Config.MediaType
	}
	if kind == "" {
		kind = string(desc.MediaType)
	}
	labels := map[string]string{}
	if desc.MediaType.IsImage() {
		if img, err := desc.Image(); err == nil {
			if cf, err := img.ConfigFile(); err == nil {
				for k, v := range cf.Config.Labels {
					labels[k] = v
				}
			}
		}
	}
	for k, v := range m.Annotations {
		labels[k] = v
	}
	var attached []string
	if p.AttachedLabels != nil && len(p.Filter.Labels) > 0 {
		if attached, err = p.AttachedLabels(ctx, it.Repository, digest.Digest(desc.Digest.String())); err != nil {
			return false, fmt.Errorf("replication: labels of %s:%s: %w", sr, it.Ref(), err)
		}
	}
	return p.Filter.Artifact(kind, labels, attached...), nil
}

// atDestination reports whether the destination has manifest digest in
// the repository that repo maps to.
func (p Policy) atDestination(ctx context.Context, repo, digest string) (bool, error) {
	dr, dopts, err := p.DestinationEndpoint.repo(ctx, p.Destination+"/"+p.DestinationRepository(repo))
	if err != nil {
		return false, err
	}
	if _, err := remote.Head(dr.Digest(digest), dopts...); notFound(err) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("replication: destination %s@%s: %w", dr, digest, err)
	}
	return true, nil
}

// Do replicates one item: a Copy to the mapped destination repository,
// or a deletion there (a tag, or a manifest by digest; already gone is
// done).
func Do(ctx context.Context, p Policy, it Item, log func(string, ...any)) (Result, error) {
	dst := p.Destination + "/" + p.DestinationRepository(it.Repository)
	if it.Operation == OpDeletion {
		dr, dopts, err := p.DestinationEndpoint.repo(ctx, dst)
		if err != nil {
			return Result{}, err
		}
		ref := at(dr, it.Ref())
		if err := remote.Delete(ref, dopts...); err != nil && !notFound(err) {
			return Result{}, fmt.Errorf("replication: delete %s: %w", ref, err)
		}
		if log != nil {
			log("deleted %s", ref)
		}
		return Result{}, nil
	}
	return Copy(ctx, p.SourceEndpoint, p.Source+"/"+it.Repository, p.DestinationEndpoint, dst, it.Ref(),
		CopyOptions{Override: p.Override, Mounts: p.Mounts, Log: log})
}

// Summary is what a run did.
type Summary struct {
	// Tags counts the tags considered; Copied and Skipped count manifests;
	// Conflicts counts destination tags left alone without Override.
	Tags, Copied, Skipped, Conflicts int
}

// Run copies every item Plan lists, one after the other, in this
// goroutine (the Engine runs them as jobs instead). It is idempotent: a
// second run copies nothing.
func Run(ctx context.Context, p Policy) (Summary, error) {
	var sum Summary
	items, err := Plan(ctx, p)
	if err != nil {
		return sum, err
	}
	for _, it := range items {
		sum.Tags++
		res, err := Do(ctx, p, it, nil)
		if err != nil {
			return sum, err
		}
		sum.Copied += len(res.Copied)
		sum.Skipped += len(res.Skipped)
		sum.Conflicts += res.Conflicts
	}
	return sum, nil
}
