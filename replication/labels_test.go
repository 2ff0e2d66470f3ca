package replication

import (
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// TestFilterAttachedLabels: a filter label matches an image label or
// the name of an attached label; every one must match.
func TestFilterAttachedLabels(t *testing.T) {
	image := map[string]string{"tier": "prod"}
	for _, c := range []struct {
		labels   []string
		attached []string
		want     bool
	}{
		{[]string{"release"}, []string{"release", "qa"}, true},
		{[]string{"release"}, nil, false},
		{[]string{"release", "tier=prod"}, []string{"release"}, true},
		{[]string{"release", "tier=dev"}, []string{"release"}, false},
		{[]string{"tier=dev"}, []string{"tier=dev"}, true}, // a label may be named so
		{[]string{"tier"}, []string{"other"}, true},
	} {
		f := Filter{Labels: c.labels}
		if got := f.Artifact("application/vnd.oci.image.config.v1+json", image, c.attached...); got != c.want {
			t.Errorf("labels %q on an image labeled %v with %q attached: %v, want %v", c.labels, image, c.attached, got, c.want)
		}
	}
}

// TestEnginePushSelectsAttachedLabels: a push policy's label filter
// selects the artifacts carrying the label in this registry (read in a
// transaction of its store) or in their image configuration.
func TestEnginePushSelectsAttachedLabels(t *testing.T) {
	// Here the artifacts tagged "v1" carry the label "release".
	attached := func(tx meta.Tx, repo string, d digest.Digest) ([]string, error) {
		tags, err := tx.Tags().Of(repo, d)
		if err != nil || !slices.Contains(tags, "v1") {
			return nil, err
		}
		return []string{"release"}, nil
	}
	r := newRigWith(t, []EngineOption{WithAttachedLabels(attached)})
	push(t, r.src.Host, "team/app:v1")
	push(t, r.src.Host, "team/app:v2")
	labeled, _ := random.Image(128, 1)
	labeled, _ = mutate.Config(labeled, v1.Config{Labels: map[string]string{"release": "yes"}})
	if err := remote.Write(ref(t, r.src.Host, "team/app:v3"), labeled); err != nil {
		t.Fatal(err)
	}
	r.policy(PolicyRecord{Name: "p", Destination: "dst", Labels: []string{"release"}})
	if e := r.wait(r.start("p")); e.Status != StatusSucceeded || e.Total != 2 {
		t.Fatalf("execution %+v; tasks %+v", e, r.tasks(e.ID))
	}
	if got := tagsOf(t, r.dst.Host, "team/app"); !slices.Equal(got, []string{"v1", "v3"}) {
		t.Errorf("replicated %v, want v1 (attached label) and v3 (image label)", got)
	}
}
