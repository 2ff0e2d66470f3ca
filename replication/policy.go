package replication

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote"
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
	// Filter selects repositories and tags.
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

// Summary is what a run did.
type Summary struct {
	// Tags counts the tags considered; Copied and Skipped count manifests;
	// Conflicts counts destination tags left alone without Override.
	Tags, Copied, Skipped, Conflicts int
}

// Run copies every selected tag of every selected repository. It is
// idempotent: a second run copies nothing.
func Run(ctx context.Context, p Policy) (Summary, error) {
	var sum Summary
	if err := p.Filter.Check(); err != nil {
		return sum, err
	}
	repos := p.Repositories
	if len(repos) == 0 {
		reg, opts, err := p.SourceEndpoint.registry(ctx, p.Source)
		if err != nil {
			return sum, err
		}
		if repos, err = remote.Catalog(ctx, reg, opts...); err != nil {
			return sum, fmt.Errorf("replication: catalog of %s: %w", p.Source, err)
		}
	}
	for _, repo := range repos {
		if !p.Filter.Repository(repo) {
			continue
		}
		sr, sopts, err := p.SourceEndpoint.repo(ctx, p.Source+"/"+repo)
		if err != nil {
			return sum, err
		}
		tags, err := remote.List(sr, sopts...)
		if err != nil {
			return sum, fmt.Errorf("replication: tags of %s: %w", sr, err)
		}
		for _, tag := range tags {
			if !p.Filter.Tag(tag) {
				continue
			}
			sum.Tags++
			res, err := Copy(ctx, p.SourceEndpoint, sr.String(), p.DestinationEndpoint,
				p.Destination+"/"+p.DestinationRepository(repo), tag, CopyOptions{Override: p.Override})
			if err != nil {
				return sum, err
			}
			sum.Copied += len(res.Copied)
			sum.Skipped += len(res.Skipped)
			sum.Conflicts += res.Conflicts
		}
	}
	return sum, nil
}
