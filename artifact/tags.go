package artifact

import (
	"context"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/meta"
)

// Tag is a tag of an artifact.
type Tag struct {
	// Name is the tag.
	Name string
	// Digest is the artifact it names.
	Digest digest.Digest
	// PushedAt is when the artifact was last pushed.
	PushedAt time.Time
	// Immutable is set when an immutability rule holds it (shown when
	// asked for, with WithImmutable).
	Immutable bool
}

// TagQuery selects tags of an artifact.
type TagQuery struct {
	// Name keeps the tag of this name; NameContains those containing it.
	Name, NameContains string
	// Offset tags are skipped, then up to Limit returned.
	Offset, Limit int
	// Immutable marks the tags an immutability rule holds.
	Immutable bool
}

// ListTags returns a page of the tags of the artifact reference names in
// repo, in name order, and how many q selects.
func (s *Service) ListTags(ctx context.Context, p auth.Principal, repo, reference string, q TagQuery) ([]Tag, int, error) {
	if q.Offset < 0 || q.Limit < 0 {
		return nil, 0, invalid("page", "must not be negative")
	}
	if err := s.need(ctx, p, repo, auth.ActionPull); err != nil {
		return nil, 0, err
	}
	var all []Tag
	err := s.store.View(ctx, func(tx meta.Tx) error {
		m, err := resolve(tx, repo, reference)
		if err != nil {
			return err
		}
		names, err := tx.Tags().Of(repo, m.Digest)
		if err != nil {
			return err
		}
		all = all[:0]
		for _, n := range userTags(names) {
			if q.Name != "" && n != q.Name || q.NameContains != "" && !strings.Contains(n, q.NameContains) {
				continue
			}
			all = append(all, Tag{Name: n, Digest: m.Digest, PushedAt: m.PushedAt})
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	page := window(all, q.Offset, q.Limit)
	if q.Immutable {
		if err := s.markTags(ctx, repo, page); err != nil {
			return nil, 0, err
		}
	}
	return page, len(all), nil
}

// markImmutable marks the immutable tags of arts when w asks.
func (s *Service) markImmutable(ctx context.Context, arts []Artifact, w With) error {
	if !w.Immutable {
		return nil
	}
	for i := range arts {
		if err := s.markTags(ctx, arts[i].Repository, arts[i].Tags); err != nil {
			return err
		}
	}
	return nil
}

// markTags sets Immutable on the tags of repo a rule holds.
func (s *Service) markTags(ctx context.Context, repo string, tags []Tag) error {
	if s.immutable == nil {
		return nil
	}
	for i := range tags {
		ok, err := s.immutable(ctx, repo, tags[i].Name)
		if err != nil {
			return err
		}
		tags[i].Immutable = ok
	}
	return nil
}
