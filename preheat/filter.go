package preheat

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/berthreg/berth/registry/naming"
)

// The media types of what is preheated: images and image indexes, as
// Harbor's preheat selects only artifacts of type IMAGE
// (goharbor/harbor src/controller/p2p/preheat/enforcer.go, getCandidates).
var (
	imageMediaTypes = []string{
		"application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json",
		"application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json",
	}
	imageConfigTypes = []string{"", "application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"}
)

// isImage reports whether an artifact of these types is an image or an
// image index (not a Helm chart, a signature, an SBOM…).
func isImage(mediaType, artifactType string) bool {
	return slices.Contains(imageMediaTypes, mediaType) && slices.Contains(imageConfigTypes, artifactType)
}

// matchPattern reports whether value matches a doublestar pattern ("" is
// every value).
func matchPattern(pattern, value string) bool {
	if pattern == "" {
		return true
	}
	ok, err := doublestar.Match(pattern, value)
	return err == nil && ok
}

// Names reports whether f's repository and tag patterns select tag of
// repository, a full name in project: the repository pattern matches the
// name inside the project ("app" for "team/app"), as Harbor's does, and
// cosign's attachment tags ("sha256-<hex>.sig") are never selected.
func (f Filters) Names(project, repository, tag string) bool {
	inner, ok := strings.CutPrefix(repository, project+"/")
	return ok && tag != "" && !naming.IsAttachmentTag(tag) && matchPattern(f.Repository, inner) && matchPattern(f.Tag, tag)
}

// inspects reports whether f needs to look at artifacts beyond their names.
func (f Filters) inspects() bool {
	return len(f.Labels) > 0 || f.Signature || f.Vulnerability != ""
}

// Selects reports whether f selects the artifact beyond its names (see
// Names): it carries every label of f.Labels, is signed when
// f.Signature, and its latest scan found nothing of f.Vulnerability or
// above (an artifact without a successful scan is not selected). The
// checks run in Harbor's order (label, signature, vulnerability) and
// stop at the first that fails.
func (f Filters) Selects(ctx context.Context, src Artifacts, repository, digest string) (bool, error) {
	if len(f.Labels) > 0 {
		have, err := src.Labels(ctx, repository, digest)
		if err != nil {
			return false, fmt.Errorf("labels of %s@%s: %w", repository, digest, err)
		}
		for _, l := range f.Labels {
			if !slices.Contains(have, l) {
				return false, nil
			}
		}
	}
	if f.Signature {
		ok, err := src.Signed(ctx, repository, digest)
		if err != nil {
			return false, fmt.Errorf("signature of %s@%s: %w", repository, digest, err)
		}
		if !ok {
			return false, nil
		}
	}
	if f.Vulnerability != "" {
		sev, scanned, err := src.Severity(ctx, repository, digest)
		if err != nil {
			return false, fmt.Errorf("scan of %s@%s: %w", repository, digest, err)
		}
		clean := sev == "" || strings.EqualFold(string(sev), "None")
		if !scanned || (!clean && sev.Rank() >= f.Vulnerability.Rank()) {
			return false, nil
		}
	}
	return true, nil
}

// item is an artifact an execution may preheat: a tag of a repository,
// and (once selected) its digest.
type item struct {
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	Digest     string `json:"digest,omitempty"`
	MediaType  string `json:"media_type,omitempty"`
}

// selection is what selectArtifacts found: the items to preheat, in
// repository and tag order, one per digest.
type selection []item

// selectArtifacts lists what p selects now: every tag of the project's
// repositories when items is nil (manual and scheduled runs), else the
// tags items name, as they point now (event runs; a tag deleted since is
// left out). Only images pass, one item per digest (its first tag in
// repository and tag order), and then only those the filters select.
func (s *Service) selectArtifacts(ctx context.Context, p Policy, items []item) (selection, error) {
	wanted := map[string]map[string]bool{} // repository → tags (nil: all)
	if items == nil {
		repos, err := s.artifacts.Repositories(ctx, p.Project)
		if err != nil {
			return nil, fmt.Errorf("repositories of project %s: %w", p.Project, err)
		}
		for _, r := range repos {
			wanted[r] = nil
		}
	} else {
		for _, it := range items {
			if wanted[it.Repository] == nil {
				wanted[it.Repository] = map[string]bool{}
			}
			wanted[it.Repository][it.Tag] = true
		}
	}
	var out selection
	seen := map[string]bool{}
	for _, repo := range slices.Sorted(func(yield func(string) bool) {
		for r := range wanted {
			if !yield(r) {
				return
			}
		}
	}) {
		if !matchInner(p, repo) {
			continue
		}
		tagged, err := s.artifacts.Tagged(ctx, repo)
		if err != nil {
			return nil, fmt.Errorf("tags of %s: %w", repo, err)
		}
		slices.SortFunc(tagged, func(a, b Artifact) int { return strings.Compare(a.Tag, b.Tag) })
		for _, a := range tagged {
			if tags := wanted[repo]; tags != nil && !tags[a.Tag] {
				continue
			}
			if a.Repository == "" {
				a.Repository = repo
			}
			if a.Repository != repo || !p.Filters.Names(p.Project, repo, a.Tag) || !isImage(a.MediaType, a.ArtifactType) || seen[a.Digest] {
				continue
			}
			seen[a.Digest] = true
			if p.Filters.inspects() {
				ok, err := p.Filters.Selects(ctx, s.artifacts, repo, a.Digest)
				if err != nil {
					return nil, err
				}
				if !ok {
					continue
				}
			}
			out = append(out, item{Repository: repo, Tag: a.Tag, Digest: a.Digest, MediaType: a.MediaType})
		}
	}
	return out, nil
}

// matchInner reports whether p's repository pattern selects repo (a
// full name in p's project).
func matchInner(p Policy, repo string) bool {
	inner, ok := strings.CutPrefix(repo, p.Project+"/")
	return ok && matchPattern(p.Filters.Repository, inner)
}
