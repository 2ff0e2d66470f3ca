package gc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/naming"
)

// markRepository returns the manifests of repo that are kept and, when
// untagged ones may go, those that go (only manifests pushed before
// cutoff go). It reads one snapshot of the repository, in steps: its
// manifests (readGraph), the roots of the mark (graph.roots, which reads
// tags only where they decide), what the roots reach (graph.reach), and
// the split into kept and dropped (graph.partition).
func markRepository(ctx context.Context, s meta.Store, repo string, untaggedGo bool, cutoff time.Time) (kept, drop []meta.Manifest, err error) {
	err = s.View(ctx, func(tx meta.Tx) error {
		g, err := readGraph(tx, repo)
		if err != nil {
			return err
		}
		tagsOf := func(d digest.Digest) ([]string, error) { return tx.Tags().Of(repo, d) }
		roots, err := g.roots(tagsOf, untaggedGo, cutoff)
		if err != nil {
			return err
		}
		kept, drop = g.partition(g.reach(roots))
		return nil
	})
	return kept, drop, err
}

// graph is one snapshot of a repository's manifests and the edges the
// mark follows from a kept manifest: the children of an index, its
// referrers (manifests whose subject it is) and its attachments
// (manifests tagged only as its cosign attachments).
type graph struct {
	all       map[digest.Digest]meta.Manifest
	referrers map[digest.Digest][]digest.Digest // subject → referrers
	attached  map[digest.Digest][]digest.Digest // subject → attachments (filled by roots)
	// attachment holds the manifests in attached.
	attachment map[digest.Digest]bool
}

// newGraph is the graph of ms.
func newGraph(ms []meta.Manifest) *graph {
	g := &graph{all: make(map[digest.Digest]meta.Manifest, len(ms)), referrers: map[digest.Digest][]digest.Digest{},
		attached: map[digest.Digest][]digest.Digest{}, attachment: map[digest.Digest]bool{}}
	for _, m := range ms {
		g.all[m.Digest] = m
		if m.Subject != "" {
			g.referrers[m.Subject] = append(g.referrers[m.Subject], m.Digest)
		}
	}
	return g
}

// readGraph reads the graph of repo's manifests in tx: an empty one when
// the repository was deleted since it was listed.
func readGraph(tx meta.Tx, repo string) (*graph, error) {
	ds, err := tx.Manifests().List(repo, "", 0)
	if errors.Is(err, meta.ErrNotFound) {
		return newGraph(nil), nil
	}
	if err != nil {
		return nil, err
	}
	ms := make([]meta.Manifest, 0, len(ds))
	for _, d := range ds {
		m, err := tx.Manifests().Get(repo, d)
		if err != nil {
			return nil, fmt.Errorf("gc: %s@%s: %w", repo, d, err)
		}
		ms = append(ms, m)
	}
	return newGraph(ms), nil
}

// role is what a manifest is to the mark before anything reaches it.
type role int

const (
	// roleCandidate manifests are kept only when a kept one reaches them.
	roleCandidate role = iota
	// roleRoot manifests are kept, and so is what they reach.
	roleRoot
	// roleAttachment manifests are tagged only as cosign attachments of
	// a subject: they are kept when their subject is.
	roleAttachment
)

// keptRegardless reports a manifest the mark keeps whatever its tags:
// every one when untagged manifests stay, else one pushed at or after
// cutoff (within the grace window).
func keptRegardless(m meta.Manifest, untaggedGo bool, cutoff time.Time) bool {
	return !untaggedGo || !m.PushedAt.Before(cutoff)
}

// roleByTags is the role of a manifest not kept regardless, by its tags:
// untagged, a candidate; tagged only with cosign attachment tags
// (naming.AttachmentSubject), an attachment of the last tag's subject;
// tagged otherwise, a root.
func roleByTags(tags []string) (role, digest.Digest) {
	if len(tags) == 0 {
		return roleCandidate, ""
	}
	var subject digest.Digest
	for _, tag := range tags {
		s, ok := naming.AttachmentSubject(tag)
		if !ok {
			return roleRoot, ""
		}
		subject = s
	}
	return roleAttachment, subject
}

// roots returns the roots of the mark among g's manifests and records the
// attachments in g.attached. tagsOf is asked only for the manifests not
// kept regardless.
func (g *graph) roots(tagsOf func(digest.Digest) ([]string, error), untaggedGo bool, cutoff time.Time) ([]digest.Digest, error) {
	var roots []digest.Digest
	for d, m := range g.all {
		if keptRegardless(m, untaggedGo, cutoff) {
			roots = append(roots, d)
			continue
		}
		tags, err := tagsOf(d)
		if err != nil {
			return nil, err
		}
		switch r, subject := roleByTags(tags); r {
		case roleRoot:
			roots = append(roots, d)
		case roleAttachment:
			g.attached[subject] = append(g.attached[subject], d)
			g.attachment[d] = true
		}
	}
	return roots, nil
}

// reach returns what roots reach in g, themselves included: index
// children, referrers and attachments, transitively. Digests g does not
// hold (a child pushed elsewhere, a subject already gone) end the path.
func (g *graph) reach(roots []digest.Digest) map[digest.Digest]bool {
	keep := map[digest.Digest]bool{}
	stack := slices.Clone(roots)
	for len(stack) > 0 {
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		m, ok := g.all[d]
		if !ok || keep[d] {
			continue
		}
		keep[d] = true
		for _, c := range m.Manifests {
			stack = append(stack, c.Digest)
		}
		stack = append(stack, g.referrers[d]...)
		stack = append(stack, g.attached[d]...)
	}
	return keep
}

// partition splits g's manifests into those in keep and the others. The
// others come in digest order, attachments last: subjects go before what
// is attached to them by tag, as the sweep re-checks that an attachment's
// subject is gone.
func (g *graph) partition(keep map[digest.Digest]bool) (kept, drop []meta.Manifest) {
	for d, m := range g.all {
		if keep[d] {
			kept = append(kept, m)
		} else {
			drop = append(drop, m)
		}
	}
	slices.SortFunc(drop, func(a, b meta.Manifest) int { return strings.Compare(string(a.Digest), string(b.Digest)) })
	slices.SortStableFunc(drop, func(a, b meta.Manifest) int {
		return cmpBool(g.attachment[a.Digest], g.attachment[b.Digest])
	})
	return kept, drop
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}
