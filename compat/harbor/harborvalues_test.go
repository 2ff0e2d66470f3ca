package harbor

import (
	"testing"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/artifact"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/project"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/repository"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// harborSize is the size Harbor gives an image artifact: its manifest's
// bytes, its config and its layers.
func harborSize(t *testing.T, img v1.Image) int64 {
	t.Helper()
	raw, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	size := int64(len(raw)) + m.Config.Size
	for _, l := range m.Layers {
		size += l.Size
	}
	return size
}

// TestHarborClientHarborValues checks values Harbor's clients read that
// Berth's handlers answer differently today (reported in issue 21; the
// JSON shapes decode, the values differ): a project's project_id (the
// id its repositories' project_id carries) and repo_count, and an
// artifact's size, which Harbor counts as the manifest plus its config
// and layers (an index: plus its children's sizes).
func TestHarborClientHarborValues(t *testing.T) {
	f := fixture(t)
	ctx, c := t.Context(), f.client

	p, err := c.Project.GetProject(ctx, &project.GetProjectParams{ProjectNameOrID: "team", XIsResourceName: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Repository.GetRepository(ctx, &repository.GetRepositoryParams{ProjectName: "team", RepositoryName: "app"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Payload.ProjectID == 0 || int64(p.Payload.ProjectID) != r.Payload.ProjectID {
		t.Errorf("project team: project_id %d; its repository's project_id %d", p.Payload.ProjectID, r.Payload.ProjectID)
	}
	if p.Payload.RepoCount != 2 {
		t.Errorf("project team: repo_count %d, want 2", p.Payload.RepoCount)
	}

	a, err := c.Artifact.GetArtifact(ctx, &artifact.GetArtifactParams{ProjectName: "team", RepositoryName: "app", Reference: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	if want := harborSize(t, f.v1); a.Payload.Size != want {
		t.Errorf("team/app:v1: size %d, want %d (manifest, config and layers)", a.Payload.Size, want)
	}
	ix, err := c.Artifact.GetArtifact(ctx, &artifact.GetArtifactParams{ProjectName: "team", RepositoryName: "app", Reference: "multi"})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := f.index.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	im, err := f.index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	want := int64(len(raw))
	for _, d := range im.Manifests {
		child, err := f.index.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		want += harborSize(t, child)
	}
	if ix.Payload.Size != want {
		t.Errorf("team/app:multi: size %d, want %d (the index and its children)", ix.Payload.Size, want)
	}
}
