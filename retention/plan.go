package retention

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/naming"
)

// Artifact is one manifest of a repository as retention sees it.
type Artifact struct {
	Digest digest.Digest `json:"digest"`
	// Tags are its tags, cosign's attachment tags included.
	Tags     []string  `json:"tags,omitempty"`
	PushedAt time.Time `json:"pushedAt"`
	// PulledAt is when it was last pulled (zero: never, as far as the
	// recorded pull times go).
	PulledAt time.Time `json:"pulledAt,omitzero"`
}

// RepoPlan is what a run does to one repository.
type RepoPlan struct {
	Repository string `json:"repository"`
	// Artifacts counts the repository's artifacts the rules weigh (not
	// index children, referrers and cosign attachments, which follow
	// theirs); Retained counts those kept.
	Artifacts int `json:"artifacts"`
	Retained  int `json:"retained"`
	// Delete lists every manifest deleted: artifacts no rule keeps, with
	// the children, referrers and attachments that go with them.
	Delete []Artifact `json:"delete"`
}

// artifactInfo is a manifest with what ties it to others.
type artifactInfo struct {
	Artifact
	subject  digest.Digest   // a referrer's subject, or a cosign attachment's
	children []digest.Digest // an index's manifests
}

// readRepo reads every manifest of repo with its tags and pull time.
func readRepo(tx meta.Tx, repo string) ([]artifactInfo, error) {
	var out []artifactInfo
	var after digest.Digest
	for {
		page, err := tx.Manifests().List(repo, after, 512)
		if err != nil {
			return nil, err
		}
		pulled, err := pullTimesIn(tx, repo, page)
		if err != nil {
			return nil, err
		}
		for _, d := range page {
			m, err := tx.Manifests().Get(repo, d)
			if err != nil {
				return nil, err
			}
			tags, err := tx.Tags().Of(repo, d)
			if err != nil {
				return nil, err
			}
			a := artifactInfo{Artifact: Artifact{Digest: d, Tags: tags, PushedAt: m.PushedAt, PulledAt: pulled[d]},
				subject: m.Subject}
			for _, c := range m.Manifests {
				a.children = append(a.children, c.Digest)
			}
			if a.subject == "" && len(tags) > 0 && allAttachments(tags) {
				a.subject, _ = naming.AttachmentSubject(tags[0])
			}
			out = append(out, a)
		}
		if len(page) < 512 {
			return out, nil
		}
		after = page[len(page)-1]
	}
}

// allAttachments reports whether every tag is a cosign attachment tag.
func allAttachments(tags []string) bool {
	for _, t := range tags {
		if !naming.IsAttachmentTag(t) {
			return false
		}
	}
	return true
}

// releaseTags are the tags of an artifact rules select by: its own, not
// cosign's attachment tags.
func releaseTags(tags []string) []string {
	var out []string
	for _, t := range tags {
		if !naming.IsAttachmentTag(t) {
			out = append(out, t)
		}
	}
	return out
}

// planRepo decides what to delete from one repository under rules (those
// of the policy that select it, none disabled), keeping what isImmutable
// says is immutable. Artifacts are the manifests that are not index
// children, referrers or cosign attachments of another manifest present
// in the repository; each rule selects those with a tag its tag selector
// selects (or none, when it takes untagged ones) and keeps some of them;
// an artifact with an immutable tag is kept. Then everything a kept
// manifest leads to (an index's children, referrers and attachments,
// recursively) is kept, and every other manifest deleted.
func planRepo(repo string, arts []artifactInfo, rules []Rule, now time.Time, isImmutable func(repo, tag string) (bool, error)) (RepoPlan, error) {
	plan := RepoPlan{Repository: repo, Delete: []Artifact{}}
	present := make(map[digest.Digest]*artifactInfo, len(arts))
	for i := range arts {
		present[arts[i].Digest] = &arts[i]
	}
	dependents := map[digest.Digest][]digest.Digest{}
	dependent := map[digest.Digest]bool{}
	for _, a := range arts {
		for _, c := range a.children {
			if _, ok := present[c]; ok && c != a.Digest {
				dependents[a.Digest] = append(dependents[a.Digest], c)
				dependent[c] = true
			}
		}
		if a.subject != "" {
			// A referrer goes with its subject, and with it if the
			// subject is gone already.
			dependent[a.Digest] = true
			if _, ok := present[a.subject]; ok {
				dependents[a.subject] = append(dependents[a.subject], a.Digest)
			}
		}
	}
	var top []*artifactInfo
	for i := range arts {
		if !dependent[arts[i].Digest] {
			top = append(top, &arts[i])
		}
	}
	plan.Artifacts = len(top)
	kept := map[digest.Digest]bool{}
	for _, r := range rules {
		var selected []*artifactInfo
		for _, a := range top {
			tags := releaseTags(a.Tags)
			if len(tags) == 0 && r.Untagged || slices.ContainsFunc(tags, r.Tags.Selects) {
				selected = append(selected, a)
			}
		}
		for _, a := range keeps(r, selected, now) {
			kept[a.Digest] = true
		}
	}
	for _, a := range top {
		for _, t := range releaseTags(a.Tags) {
			ok, err := isImmutable(repo, t)
			if err != nil {
				return plan, err
			}
			if ok {
				kept[a.Digest] = true
			}
		}
	}
	for _, a := range top {
		if kept[a.Digest] {
			plan.Retained++
		}
	}
	// What kept manifests lead to stays.
	var walk func(d digest.Digest)
	walk = func(d digest.Digest) {
		for _, c := range dependents[d] {
			if !kept[c] {
				kept[c] = true
				walk(c)
			}
		}
	}
	for _, d := range slices.Sorted(maps.Keys(kept)) {
		walk(d)
	}
	for _, a := range arts {
		if !kept[a.Digest] {
			plan.Delete = append(plan.Delete, a.Artifact)
		}
	}
	return plan, nil
}

// keeps is what rule r keeps of the artifacts it selected.
func keeps(r Rule, selected []*artifactInfo, now time.Time) []*artifactInfo {
	latest := func(at func(*artifactInfo) time.Time) []*artifactInfo {
		sorted := slices.Clone(selected)
		slices.SortFunc(sorted, func(a, b *artifactInfo) int {
			if c := at(b).Compare(at(a)); c != 0 {
				return c
			}
			return strings.Compare(string(a.Digest), string(b.Digest))
		})
		return sorted[:min(r.Count, len(sorted))]
	}
	within := func(at func(*artifactInfo) time.Time) []*artifactInfo {
		since := now.Add(-time.Duration(r.Count) * 24 * time.Hour)
		var out []*artifactInfo
		for _, a := range selected {
			if !at(a).Before(since) {
				out = append(out, a)
			}
		}
		return out
	}
	pushed := func(a *artifactInfo) time.Time { return a.PushedAt }
	pulled := func(a *artifactInfo) time.Time { return a.PulledAt }
	switch r.Template {
	case LatestPushed:
		return latest(pushed)
	case LatestPulled:
		return latest(pulled)
	case PushedWithin:
		return within(pushed)
	case PulledWithin:
		return within(pulled)
	default: // Always
		return selected
	}
}
