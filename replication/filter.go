package replication

import (
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// Filter selects what is replicated. Empty Repositories or Tags match
// everything; an exclude wins over a match.
type Filter struct {
	// Repositories and ExcludeRepositories are doublestar patterns over
	// full repository names ("team/**", "team/app-*").
	Repositories, ExcludeRepositories []string
	// Tags and ExcludeTags are doublestar patterns over tags ("v*",
	// "*-rc*").
	Tags, ExcludeTags []string
	// Labels selects artifacts carrying every one of these labels: "key"
	// (any value) or "key=value", looked up in the manifest's annotations
	// and the image configuration's labels, or the name of a label
	// attached to the artifact in this registry (package label; see
	// WithAttachedLabels).
	Labels []string
	// ArtifactTypes, when set, are doublestar patterns one of which the
	// artifact's type must match: its artifactType, else its config media
	// type, else (an index) its media type.
	ArtifactTypes []string
}

// Check reports the first pattern that is not a valid doublestar pattern
// (or label without a key) as a *FieldError naming its field.
func (f Filter) Check() error {
	for field, set := range map[string][]string{"repositories": f.Repositories, "excludeRepositories": f.ExcludeRepositories,
		"tags": f.Tags, "excludeTags": f.ExcludeTags, "artifactTypes": f.ArtifactTypes} {
		for _, p := range set {
			if !doublestar.ValidatePattern(p) {
				return invalid(field, "pattern %q is not valid", p)
			}
		}
	}
	for _, l := range f.Labels {
		if k, _, _ := strings.Cut(l, "="); k == "" {
			return invalid("labels", "%q has no key", l)
		}
	}
	return nil
}

// match reports name matched by one of include (or include empty) and
// none of exclude.
func match(name string, include, exclude []string) bool {
	hit := func(p string) bool { ok, err := doublestar.Match(p, name); return err == nil && ok }
	return (len(include) == 0 || slices.ContainsFunc(include, hit)) && !slices.ContainsFunc(exclude, hit)
}

// Repository reports whether repository repo is selected.
func (f Filter) Repository(repo string) bool {
	return match(repo, f.Repositories, f.ExcludeRepositories)
}

// Tag reports whether tag is selected.
func (f Filter) Tag(tag string) bool { return match(tag, f.Tags, f.ExcludeTags) }

// inspects reports whether the filter looks into artifacts (labels or
// types), which costs a manifest (and config) fetch per tag.
func (f Filter) inspects() bool { return len(f.Labels) > 0 || len(f.ArtifactTypes) > 0 }

// Artifact reports whether an artifact of type artifactType with these
// labels (annotations and image labels) and attached labels (the names
// of the registry's labels attached to it) is selected: each of the
// filter's labels matches an image label ("key", "key=value") or is the
// name of an attached label.
func (f Filter) Artifact(artifactType string, labels map[string]string, attached ...string) bool {
	if len(f.ArtifactTypes) > 0 && !match(artifactType, f.ArtifactTypes, nil) {
		return false
	}
	for _, l := range f.Labels {
		if slices.Contains(attached, l) {
			continue
		}
		k, v, hasValue := strings.Cut(l, "=")
		got, ok := labels[k]
		if !ok || hasValue && got != v {
			return false
		}
	}
	return true
}
