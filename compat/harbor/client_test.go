package harbor

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/berthreg/berth/api"
	httptransport "github.com/go-openapi/runtime/client"
	"github.com/goharbor/go-client/pkg/harbor"
	v2client "github.com/goharbor/go-client/pkg/sdk/v2.0/client"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/artifact"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/project"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/repository"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// newClient is Harbor's Go client for the server at host, signed in as
// user with basic credentials, sending its requests through rt.
func newClient(t *testing.T, host, user, password string, rt http.RoundTripper) *v2client.HarborAPI {
	t.Helper()
	u, err := url.Parse("http://" + host + api.Prefix)
	if err != nil {
		t.Fatal(err)
	}
	cfg := harbor.Config{URL: u, Transport: rt, AuthInfo: httptransport.BasicAuth(user, password)}
	return v2client.New(cfg.ToV2Config())
}

// content is what fixture pushed.
type content struct {
	host       string
	client     *v2client.HarborAPI
	conform    *conformingTransport
	v1, v2     v1.Image      // team/app:v1 and :v2
	index      v1.ImageIndex // team/app:multi, two platforms
	cli        v1.Image      // team/tools/cli:1.0
	d1, d2     v1.Hash
	dIdx, dCli v1.Hash
}

// fixture starts a server and, through Harbor's client, creates the
// private project team and the public project pub, then pushes with
// go-containerregistry team/app:v1, :v2 and :multi (an index of two
// platforms), team/tools/cli:1.0 and :latest, and pub/tool:latest.
func fixture(t *testing.T) content {
	t.Helper()
	c := content{host: serve(t)}
	c.conform = newConformingTransport(t, openAPIDocument(t, c.host), c.host, t.Errorf)
	c.client = newClient(t, c.host, "admin", adminPassword, c.conform)
	for _, p := range []struct{ name, public string }{{"team", "false"}, {"pub", "true"}} {
		_, err := c.client.Project.CreateProject(t.Context(), &project.CreateProjectParams{Project: &models.ProjectReq{
			ProjectName: p.name, Metadata: &models.ProjectMetadata{Public: p.public},
		}})
		if err != nil {
			t.Fatalf("CreateProject %s: %v", p.name, err)
		}
	}
	c.v1, c.v2 = randomImage(t, 512, 2), randomImage(t, 512, 1)
	c.d1 = push(t, c.host, "team/app", "v1", c.v1)
	c.d2 = push(t, c.host, "team/app", "v2", c.v2)
	c.index = mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: randomImage(t, 256, 1), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: randomImage(t, 256, 1), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}})
	c.dIdx = push(t, c.host, "team/app", "multi", c.index)
	c.cli = randomImage(t, 256, 1)
	c.dCli = push(t, c.host, "team/tools/cli", "1.0", c.cli)
	push(t, c.host, "team/tools/cli", "latest", randomImage(t, 256, 1))
	push(t, c.host, "pub/tool", "latest", c.v2)
	return c
}

// push writes img (an image or an index) as host/repo:tag with the
// admin's credentials and returns its digest.
func push(t *testing.T, host, repo, tag string, img interface {
	remote.Taggable
	Digest() (v1.Hash, error)
}) v1.Hash {
	t.Helper()
	ref, err := name.ParseReference(host+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	opt := remote.WithAuth(&authn.Basic{Username: "admin", Password: adminPassword})
	switch v := img.(type) {
	case v1.ImageIndex:
		err = remote.WriteIndex(ref, v, opt)
	case v1.Image:
		err = remote.Write(ref, v, opt)
	default:
		t.Fatalf("pushing a %T", img)
	}
	if err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func randomImage(t *testing.T, size, layers int64) v1.Image {
	t.Helper()
	img, err := random.Image(size, layers)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// tagNames returns the tags' names.
func tagNames(tags []*models.Tag) []string {
	var out []string
	for _, tg := range tags {
		out = append(out, tg.Name)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// TestHarborClient drives a whole Berth server with Harbor's own Go
// client: projects listed and read (by name, with X-Is-Resource-Name),
// repositories listed and read (a nested name, encoded twice on the
// wire), artifacts listed with their tags and read by tag and by digest,
// and an artifact's tags listed, checking the values and the
// X-Total-Count and Link headers the client decodes. Every request and
// answer also goes through conformingTransport, which checks them
// against Berth's own OpenAPI document.
func TestHarborClient(t *testing.T) {
	f := fixture(t)
	ctx, c := t.Context(), f.client

	// Projects.
	projects, err := c.Project.ListProjects(ctx, &project.ListProjectsParams{Page: ptr(int64(1)), PageSize: ptr(int64(10))})
	if err != nil {
		t.Fatalf("ListProjects: %v", err)
	}
	var pnames []string
	for _, p := range projects.Payload {
		pnames = append(pnames, p.Name)
	}
	slices.Sort(pnames)
	// The server may create projects of its own (library); ours are there.
	if !slices.Contains(pnames, "team") || !slices.Contains(pnames, "pub") || projects.XTotalCount != int64(len(pnames)) {
		t.Errorf("ListProjects: %q, X-Total-Count %d", pnames, projects.XTotalCount)
	}
	got, err := c.Project.GetProject(ctx, &project.GetProjectParams{ProjectNameOrID: "team", XIsResourceName: ptr(true)})
	if err != nil {
		t.Fatalf("GetProject team: %v", err)
	}
	if got.Payload.Name != "team" || got.Payload.OwnerName != "admin" || got.Payload.Metadata == nil || got.Payload.Metadata.Public != "false" {
		t.Errorf("GetProject team: %+v (metadata %+v)", got.Payload, got.Payload.Metadata)
	}
	pub, err := c.Project.ListProjects(ctx, &project.ListProjectsParams{Name: ptr("pub")})
	if err != nil {
		t.Fatalf("ListProjects name=pub: %v", err)
	}
	if len(pub.Payload) != 1 || pub.Payload[0].Name != "pub" || pub.Payload[0].Metadata == nil || pub.Payload[0].Metadata.Public != "true" || pub.XTotalCount != 1 {
		t.Errorf("ListProjects name=pub: %+v (X-Total-Count %d)", pub.Payload, pub.XTotalCount)
	}

	// Repositories.
	repos, err := c.Repository.ListRepositories(ctx, &repository.ListRepositoriesParams{ProjectName: "team"})
	if err != nil {
		t.Fatalf("ListRepositories team: %v", err)
	}
	counts := map[string]int64{}
	for _, r := range repos.Payload {
		counts[r.Name] = r.ArtifactCount
	}
	if len(repos.Payload) != 2 || counts["team/app"] != 3 || counts["team/tools/cli"] != 2 || repos.XTotalCount != 2 {
		t.Errorf("ListRepositories team: %v, X-Total-Count %d", counts, repos.XTotalCount)
	}
	page, err := c.Repository.ListRepositories(ctx, &repository.ListRepositoriesParams{ProjectName: "team", PageSize: ptr(int64(1))})
	if err != nil {
		t.Fatalf("ListRepositories page_size=1: %v", err)
	}
	if len(page.Payload) != 1 || page.XTotalCount != 2 || page.Link == "" {
		t.Errorf("ListRepositories page_size=1: %d repositories, X-Total-Count %d, Link %q", len(page.Payload), page.XTotalCount, page.Link)
	}
	all, err := c.Repository.ListAllRepositories(ctx, &repository.ListAllRepositoriesParams{})
	if err != nil {
		t.Fatalf("ListAllRepositories: %v", err)
	}
	var rnames []string
	for _, r := range all.Payload {
		rnames = append(rnames, r.Name)
	}
	if !slices.Equal(rnames, []string{"pub/tool", "team/app", "team/tools/cli"}) || all.XTotalCount != 3 {
		t.Errorf("ListAllRepositories: %q, X-Total-Count %d", rnames, all.XTotalCount)
	}
	// The client escapes path parameters once; Harbor's convention is to
	// pass a nested name escaped already, so it is "tools%252Fcli" on the
	// wire.
	cli := url.PathEscape("tools/cli")
	nested, err := c.Repository.GetRepository(ctx, &repository.GetRepositoryParams{ProjectName: "team", RepositoryName: cli})
	if err != nil {
		t.Fatalf("GetRepository tools/cli: %v", err)
	}
	if nested.Payload.Name != "team/tools/cli" || nested.Payload.ArtifactCount != 2 {
		t.Errorf("GetRepository tools/cli: %+v", nested.Payload)
	}

	// Artifacts with their tags: the index once (its children are its
	// references), newest first.
	arts, err := c.Artifact.ListArtifacts(ctx, &artifact.ListArtifactsParams{ProjectName: "team", RepositoryName: "app", WithTag: ptr(true)})
	if err != nil {
		t.Fatalf("ListArtifacts team/app: %v", err)
	}
	var digests []string
	tags := map[string][]string{}
	for _, a := range arts.Payload {
		digests = append(digests, a.Digest)
		tags[a.Digest] = tagNames(a.Tags)
	}
	if !slices.Equal(digests, []string{f.dIdx.String(), f.d2.String(), f.d1.String()}) || arts.XTotalCount != 3 {
		t.Fatalf("ListArtifacts team/app: %q (X-Total-Count %d), want the index, v2, v1", digests, arts.XTotalCount)
	}
	for d, want := range map[v1.Hash]string{f.d1: "v1", f.d2: "v2", f.dIdx: "multi"} {
		if !slices.Equal(tags[d.String()], []string{want}) {
			t.Errorf("ListArtifacts: %s has tags %q, want %q", d, tags[d.String()], want)
		}
	}
	ix := arts.Payload[0]
	im, err := f.index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(ix.References) != 2 || ix.References[0].ChildDigest != im.Manifests[0].Digest.String() ||
		ix.References[1].Platform == nil || ix.References[1].Platform.Architecture != "arm64" || ix.References[1].Platform.Variant != "v8" {
		t.Errorf("the index's references: %+v", ix.References)
	}
	if ix.RepositoryName != "team/app" || ix.Type != "IMAGE" || ix.ManifestMediaType != string(im.MediaType) {
		t.Errorf("the index: repository %q, type %q, manifest media type %q", ix.RepositoryName, ix.Type, ix.ManifestMediaType)
	}
	q, err := c.Artifact.ListArtifacts(ctx, &artifact.ListArtifactsParams{ProjectName: "team", RepositoryName: "app", Q: ptr("tags=v2")})
	if err != nil {
		t.Fatalf("ListArtifacts q=tags=v2: %v", err)
	}
	if len(q.Payload) != 1 || q.Payload[0].Digest != f.d2.String() || q.XTotalCount != 1 {
		t.Errorf("ListArtifacts q=tags=v2: %d artifacts, X-Total-Count %d", len(q.Payload), q.XTotalCount)
	}

	// One artifact, by tag and by digest, and its tags.
	a, err := c.Artifact.GetArtifact(ctx, &artifact.GetArtifactParams{ProjectName: "team", RepositoryName: "app", Reference: "v1", WithTag: ptr(true)})
	if err != nil {
		t.Fatalf("GetArtifact v1: %v", err)
	}
	if a.Payload.Digest != f.d1.String() || !slices.Equal(tagNames(a.Payload.Tags), []string{"v1"}) || a.Payload.RepositoryName != "team/app" ||
		a.Payload.MediaType != "application/vnd.docker.container.image.v1+json" || a.Payload.AdditionLinks["build_history"].Href == "" {
		t.Errorf("GetArtifact v1: %+v", a.Payload)
	}
	byDigest, err := c.Artifact.GetArtifact(ctx, &artifact.GetArtifactParams{ProjectName: "team", RepositoryName: "app", Reference: f.d2.String()})
	if err != nil {
		t.Fatalf("GetArtifact %s: %v", f.d2, err)
	}
	if byDigest.Payload.Digest != f.d2.String() || !slices.Equal(tagNames(byDigest.Payload.Tags), []string{"v2"}) {
		t.Errorf("GetArtifact by digest: %s, tags %q", byDigest.Payload.Digest, tagNames(byDigest.Payload.Tags))
	}
	tl, err := c.Artifact.ListTags(ctx, &artifact.ListTagsParams{ProjectName: "team", RepositoryName: "app", Reference: "v1"})
	if err != nil {
		t.Fatalf("ListTags v1: %v", err)
	}
	if !slices.Equal(tagNames(tl.Payload), []string{"v1"}) || tl.XTotalCount != 1 {
		t.Errorf("ListTags v1: %q, X-Total-Count %d", tagNames(tl.Payload), tl.XTotalCount)
	}
	_, err = c.Artifact.GetArtifact(ctx, &artifact.GetArtifactParams{ProjectName: "team", RepositoryName: "app", Reference: "v9"})
	if nf := new(artifact.GetArtifactNotFound); !errors.As(err, &nf) {
		t.Errorf("GetArtifact v9: %v, want the client's GetArtifactNotFound", err)
	}

	// The nested repository.
	carts, err := c.Artifact.ListArtifacts(ctx, &artifact.ListArtifactsParams{ProjectName: "team", RepositoryName: cli, WithTag: ptr(true)})
	if err != nil {
		t.Fatalf("ListArtifacts team/tools/cli: %v", err)
	}
	if len(carts.Payload) != 2 || carts.XTotalCount != 2 {
		t.Errorf("ListArtifacts team/tools/cli: %d artifacts, X-Total-Count %d", len(carts.Payload), carts.XTotalCount)
	}
	ca, err := c.Artifact.GetArtifact(ctx, &artifact.GetArtifactParams{ProjectName: "team", RepositoryName: cli, Reference: "1.0"})
	if err != nil {
		t.Fatalf("GetArtifact tools/cli:1.0: %v", err)
	}
	if ca.Payload.Digest != f.dCli.String() || ca.Payload.RepositoryName != "team/tools/cli" {
		t.Errorf("GetArtifact tools/cli:1.0: %s in %q", ca.Payload.Digest, ca.Payload.RepositoryName)
	}
	ctl, err := c.Artifact.ListTags(ctx, &artifact.ListTagsParams{ProjectName: "team", RepositoryName: cli, Reference: f.dCli.String()})
	if err != nil {
		t.Fatalf("ListTags tools/cli@%s: %v", f.dCli, err)
	}
	if !slices.Equal(tagNames(ctl.Payload), []string{"1.0"}) || ctl.XTotalCount != 1 {
		t.Errorf("ListTags tools/cli: %q, X-Total-Count %d", tagNames(ctl.Payload), ctl.XTotalCount)
	}

	// Every call went through the document check.
	want := []string{
		"GET /projects", "GET /projects/{project}", "GET /projects/{project}/repositories",
		"GET /projects/{project}/repositories/{repository}", "GET /projects/{project}/repositories/{repository}/artifacts",
		"GET /projects/{project}/repositories/{repository}/artifacts/{reference}",
		"GET /projects/{project}/repositories/{repository}/artifacts/{reference}/tags", "GET /repositories", "POST /projects",
	}
	if got := f.conform.operations(); !slices.Equal(got, want) {
		t.Errorf("operations checked against the document: %q, want %q", got, want)
	}
}
