package artifact

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/label"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/naming"
	"github.com/berthreg/berth/retention"
	"github.com/berthreg/berth/scan/engine"
)

// Artifact is an artifact as listed, with what the query asked to
// show.
type Artifact struct {
	// Repository is its full repository name.
	Repository string
	// Manifest is its manifest record.
	Manifest meta.Manifest
	// Size is what it stores, as Harbor counts: an image's manifest,
	// config and layers; an index's manifest and its children's sizes.
	Size int64
	// Tags are the tags naming it, in name order (With.Tags).
	Tags []Tag
	// PullTime is when it was last pulled, as recorded (zero: never).
	PullTime time.Time
	// Scan is its latest scan (With.Scan; nil: never scanned).
	Scan *engine.ScanReport
	// Accessories are its signatures, SBOMs, attestations and other
	// referrers (With.Accessories or With.Signature).
	Accessories []Accessory
	// References are an index's children, with their platforms when
	// the Service has WithContent (every listing of an index).
	References []Reference
	// Signed is set when it has a signature accessory (With.Signature).
	Signed bool
	// Labels are the labels attached to it (With.Labels).
	Labels []label.Label
	// Config is an image's configuration (GetArtifact, with
	// WithContent; nil for other artifacts).
	Config *ocispec.Image
}

// With says what a listing shows beside the manifests.
type With struct {
	Tags, Scan, Accessories, Signature bool
	// Immutable marks the tags an immutability rule holds (needs
	// WithImmutable).
	Immutable bool
	// Labels shows the labels attached.
	Labels bool
}

// ArtifactQuery selects and orders a repository's artifacts.
type ArtifactQuery struct {
	// Tag keeps the manifest this tag names (any manifest, not only an
	// artifact).
	Tag string
	// TagContains keeps the artifacts with a tag containing it.
	TagContains string
	// Tagged, when set, keeps tagged (true) or untagged (false)
	// artifacts.
	Tagged *bool
	// MediaType keeps the artifacts of this manifest or config media
	// type.
	MediaType string
	// PushedFrom and PushedTo bound the push time, inclusively.
	PushedFrom, PushedTo time.Time
	// Digests, when not nil, keeps only these.
	Digests []digest.Digest
	// Labels keeps the artifacts carrying every one of these labels
	// (ids, or names: the project's label, else the global one).
	Labels []string
	// Sort is "-push_time" (the default, newest first) or "push_time".
	Sort string
	// Offset artifacts are skipped, then up to Limit returned.
	Offset, Limit int
	// With says what to show of each.
	With With
}

func (q ArtifactQuery) check() error {
	switch {
	case q.Offset < 0 || q.Limit < 0:
		return invalid("page", "must not be negative")
	case q.Sort != "" && q.Sort != "push_time" && q.Sort != "-push_time":
		return invalid("sort", fmt.Sprintf("%q: push_time or -push_time", q.Sort))
	case !q.PushedFrom.IsZero() && !q.PushedTo.IsZero() && q.PushedTo.Before(q.PushedFrom):
		return invalid("push_time", "the range ends before it starts")
	}
	return nil
}

// indexed reports whether the store's push-order index answers q alone.
func (q ArtifactQuery) indexed() bool {
	return q.Tag == "" && q.TagContains == "" && q.Tagged == nil && q.MediaType == "" && q.Digests == nil && len(q.Labels) == 0
}

// labelled narrows q.Digests to the artifacts of repo carrying every
// label of q.Labels.
func labelled(tx meta.Tx, repo string, q ArtifactQuery) (ArtifactQuery, error) {
	if len(q.Labels) == 0 {
		return q, nil
	}
	ids, err := label.Resolve(tx, naming.ProjectOf(repo), q.Labels)
	if errors.Is(err, meta.ErrNotFound) {
		return q, invalid("q", "labels: "+err.Error())
	}
	if err != nil {
		return q, err
	}
	keep := q.Digests
	for i, id := range ids {
		with, err := label.ArtifactsWith(tx, repo, id)
		if err != nil {
			return q, err
		}
		if i == 0 && keep == nil {
			keep = with
			continue
		}
		keep = slices.DeleteFunc(slices.Clone(keep), func(d digest.Digest) bool { return !slices.Contains(with, d) })
	}
	if keep == nil {
		keep = []digest.Digest{}
	}
	q.Digests = keep
	return q, nil
}

// ListArtifacts returns a page of repository repo's artifacts that p may
// pull and how many q selects in all.
func (s *Service) ListArtifacts(ctx context.Context, p auth.Principal, repo string, q ArtifactQuery) ([]Artifact, int, error) {
	if err := q.check(); err != nil {
		return nil, 0, err
	}
	if err := s.need(ctx, p, repo, auth.ActionPull); err != nil {
		return nil, 0, err
	}
	var out []Artifact
	total := 0
	err := s.store.View(ctx, func(tx meta.Tx) error {
		var page []meta.Manifest
		var err error
		if q.indexed() {
			page, total, err = tx.Manifests().Artifacts(repo, meta.ArtifactQuery{Offset: q.Offset, Limit: q.Limit,
				OldestFirst: q.Sort == "push_time", PushedFrom: q.PushedFrom, PushedTo: q.PushedTo})
		} else {
			var sel ArtifactQuery
			if sel, err = labelled(tx, repo, q); err != nil {
				return err
			}
			page, total, err = selectArtifacts(tx, repo, sel)
		}
		if err != nil {
			return err
		}
		out, err = decorate(tx, repo, page, q.With)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	s.addPlatforms(ctx, out)
	if err := s.markImmutable(ctx, out, q.With); err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// selectArtifacts answers a query the push-order index cannot: it
// gathers candidates from the tags (or q.Digests), else from every
// artifact, filters, orders and pages them.
func selectArtifacts(tx meta.Tx, repo string, q ArtifactQuery) ([]meta.Manifest, int, error) {
	var cands []meta.Manifest
	switch {
	case q.Tag != "":
		d, err := tx.Tags().Get(repo, q.Tag)
		if errors.Is(err, meta.ErrNotFound) {
			if _, err := tx.Repositories().Get(repo); err != nil {
				return nil, 0, err
			}
			break
		}
		if err != nil {
			return nil, 0, err
		}
		m, err := tx.Manifests().Get(repo, d)
		if err != nil {
			return nil, 0, err
		}
		cands = append(cands, m)
	case q.TagContains != "" || q.Tagged != nil && *q.Tagged || q.Digests != nil:
		ds, err := candidateDigests(tx, repo, q)
		if err != nil {
			return nil, 0, err
		}
		for _, d := range ds {
			m, err := tx.Manifests().Get(repo, d)
			if errors.Is(err, meta.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, 0, err
			}
			if m.IsAccessory() {
				continue
			}
			cands = append(cands, m)
		}
	default:
		all, _, err := tx.Manifests().Artifacts(repo, meta.ArtifactQuery{})
		if err != nil {
			return nil, 0, err
		}
		cands = all
	}
	kept := cands[:0]
	for _, m := range cands {
		if q.MediaType != "" && m.MediaType != q.MediaType && m.Config.MediaType != q.MediaType && m.ArtifactType != q.MediaType {
			continue
		}
		if !q.PushedFrom.IsZero() && m.PushedAt.Before(q.PushedFrom) || !q.PushedTo.IsZero() && m.PushedAt.After(q.PushedTo) {
			continue
		}
		if q.Tagged != nil && !*q.Tagged {
			tags, err := tx.Tags().Of(repo, m.Digest)
			if err != nil {
				return nil, 0, err
			}
			if len(userTags(tags)) > 0 {
				continue
			}
		}
		kept = append(kept, m)
	}
	slices.SortFunc(kept, func(a, b meta.Manifest) int {
		c := a.PushedAt.Compare(b.PushedAt)
		if c == 0 {
			c = strings.Compare(string(a.Digest), string(b.Digest))
		}
		if q.Sort != "push_time" {
			c = -c
		}
		return c
	})
	page := window(kept, q.Offset, q.Limit)
	return page, len(kept), nil
}

// candidateDigests returns the digests a tag or digest filter selects,
// once each, reading the repository's tags (not its manifests).
func candidateDigests(tx meta.Tx, repo string, q ArtifactQuery) ([]digest.Digest, error) {
	if q.Digests != nil && q.TagContains == "" && q.Tagged == nil {
		return q.Digests, nil
	}
	tags, err := tx.Tags().List(repo, "", 0)
	if err != nil {
		return nil, err
	}
	var only map[digest.Digest]bool
	if q.Digests != nil {
		only = map[digest.Digest]bool{}
		for _, d := range q.Digests {
			only[d] = true
		}
	}
	seen := map[digest.Digest]bool{}
	var out []digest.Digest
	for _, t := range userTags(tags) {
		if q.TagContains != "" && !strings.Contains(t, q.TagContains) {
			continue
		}
		d, err := tx.Tags().Get(repo, t)
		if err != nil {
			return nil, err
		}
		if seen[d] || only != nil && !only[d] {
			continue
		}
		seen[d] = true
		out = append(out, d)
	}
	return out, nil
}

// userTags drops cosign's tags (sha256-<hex>.sig and the like), which
// name accessories, not artifacts.
func userTags(tags []string) []string {
	return slices.DeleteFunc(slices.Clone(tags), naming.IsAttachmentTag)
}

// decorate reads what w asks to show of the manifests of a page.
func decorate(tx meta.Tx, repo string, page []meta.Manifest, w With) ([]Artifact, error) {
	out := make([]Artifact, len(page))
	ds := make([]digest.Digest, len(page))
	for i, m := range page {
		out[i] = Artifact{Repository: repo, Manifest: m}
		ds[i] = m.Digest
		for _, c := range m.Manifests {
			out[i].References = append(out[i].References, Reference{Digest: c.Digest, MediaType: c.MediaType, Size: c.Size})
		}
	}
	if len(page) == 0 {
		return out, nil
	}
	pulls, err := retention.PullTimesIn(tx, repo, ds)
	if err != nil {
		return nil, err
	}
	var labels map[digest.Digest][]label.Label
	if w.Labels {
		if labels, err = label.Of(tx, repo, ds); err != nil {
			return nil, err
		}
	}
	var reports map[string][]byte
	if w.Scan {
		keys := make([]string, len(ds))
		for i, d := range ds {
			keys[i] = engine.ScanReportKey(repo, d)
		}
		if reports, err = tx.Records(engine.Reports.Kind).GetMany(keys); err != nil {
			return nil, err
		}
	}
	for i := range out {
		a := &out[i]
		if a.Size, err = sizeOf(tx, repo, a.Manifest); err != nil {
			return nil, err
		}
		a.PullTime = pulls[a.Manifest.Digest]
		a.Labels = labels[a.Manifest.Digest]
		if w.Tags {
			tags, err := tx.Tags().Of(repo, a.Manifest.Digest)
			if err != nil {
				return nil, err
			}
			for _, t := range userTags(tags) {
				a.Tags = append(a.Tags, Tag{Name: t, Digest: a.Manifest.Digest, PushedAt: a.Manifest.PushedAt})
			}
		}
		if raw, ok := reports[engine.ScanReportKey(repo, a.Manifest.Digest)]; ok {
			var rec engine.ScanReport
			if err := json.Unmarshal(raw, &rec); err == nil {
				a.Scan = &rec
			}
		}
		if w.Accessories || w.Signature {
			acc, err := accessoriesOf(tx, repo, a.Manifest.Digest)
			if err != nil {
				return nil, err
			}
			for _, x := range acc {
				a.Signed = a.Signed || x.IsSignature()
			}
			if w.Accessories {
				a.Accessories = acc
			}
		}
	}
	return out, nil
}

// sizeOf is m's size as Harbor counts it: its bytes, its config and
// layers, and, for an index, its children's sizes (children missing from
// repo count their descriptors' sizes).
func sizeOf(tx meta.Tx, repo string, m meta.Manifest) (int64, error) {
	n := m.Size + m.Config.Size
	for _, l := range m.Layers {
		n += l.Size
	}
	for _, c := range m.Manifests {
		child, err := tx.Manifests().Get(repo, c.Digest)
		if errors.Is(err, meta.ErrNotFound) {
			n += c.Size
			continue
		}
		if err != nil {
			return 0, err
		}
		n += child.Size + child.Config.Size
		for _, l := range child.Layers {
			n += l.Size
		}
	}
	return n, nil
}

// GetArtifact returns the artifact reference names in repo (a digest or
// a tag), showing what w asks.
func (s *Service) GetArtifact(ctx context.Context, p auth.Principal, repo, reference string, w With) (Artifact, error) {
	if err := s.need(ctx, p, repo, auth.ActionPull); err != nil {
		return Artifact{}, err
	}
	var out []Artifact
	err := s.store.View(ctx, func(tx meta.Tx) error {
		m, err := resolve(tx, repo, reference)
		if err != nil {
			return err
		}
		out, err = decorate(tx, repo, []meta.Manifest{m}, w)
		return err
	})
	if err != nil {
		return Artifact{}, err
	}
	s.addPlatforms(ctx, out)
	if err := s.markImmutable(ctx, out, w); err != nil {
		return Artifact{}, err
	}
	out[0].Config = s.imageConfig(ctx, out[0].Manifest)
	return out[0], nil
}

// imageConfig reads the configuration of an image (nil for other
// artifacts, or when it cannot be read).
func (s *Service) imageConfig(ctx context.Context, m meta.Manifest) *ocispec.Image {
	switch m.Config.MediaType {
	case "application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json":
	default:
		return nil
	}
	if s.content == nil {
		return nil
	}
	raw, err := s.readContent(ctx, m.Config.Digest, maxManifestRead)
	if err != nil {
		return nil
	}
	var img ocispec.Image
	if json.Unmarshal(raw, &img) != nil {
		return nil
	}
	return &img
}

// resolve reads the manifest reference names in repo.
func resolve(tx meta.Tx, repo, reference string) (meta.Manifest, error) {
	d, err := digest.Parse(reference)
	if err != nil {
		if err := naming.CheckTag(reference); err != nil {
			return meta.Manifest{}, invalid("reference", "neither a digest nor a tag")
		}
		if d, err = tx.Tags().Get(repo, reference); err != nil {
			return meta.Manifest{}, err
		}
	}
	return tx.Manifests().Get(repo, d)
}
