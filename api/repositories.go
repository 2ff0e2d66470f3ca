package api

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/berthreg/berth/artifact"
	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/internal/harborq"
)

// repositoryJSON is Harbor's Repository. Berth has no numeric
// repository ids; project_id is the project's id.
type repositoryJSON struct {
	ProjectID     uint64    `json:"project_id,omitempty"`
	Name          string    `json:"name"`
	Description   string    `json:"description"`
	ArtifactCount int       `json:"artifact_count"`
	PullCount     int64     `json:"pull_count"`
	CreationTime  time.Time `json:"creation_time"`
	UpdateTime    time.Time `json:"update_time"`
}

func toRepositoryJSON(r artifact.Repository) repositoryJSON {
	return repositoryJSON{ProjectID: r.ProjectID, Name: r.Name, Description: r.Description, ArtifactCount: r.ArtifactCount,
		PullCount: r.PullCount, CreationTime: r.CreatedAt, UpdateTime: r.UpdatedAt}
}

// repositoryOf reads the repository of a path below
// /projects/{project}/repositories/{repository}: Harbor double-encodes
// the slashes of a repository's name inside its project ("a%252Fb");
// single-encoded works too.
func repositoryOf(r *http.Request) (string, error) {
	name, err := url.PathUnescape(r.PathValue("repository"))
	if err != nil {
		return "", badRequest("repository_name: %v", err)
	}
	return r.PathValue("project") + "/" + name, nil
}

// listRepositories is GET /repositories (every project the caller
// sees) and GET /projects/{project}/repositories.
func (h *Handler) listRepositories(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	q := artifact.RepositoryQuery{Sort: r.URL.Query().Get("sort"), Offset: (pg.num - 1) * pg.size, Limit: pg.size}
	project := r.PathValue("project")
	if q.Name, q.NameContains, err = nameFilter(r); err != nil {
		return err
	}
	if project != "" && q.Name != "" && !strings.Contains(q.Name, "/") {
		q.Name = project + "/" + q.Name
	}
	list, total, err := h.content.ListRepositories(r.Context(), p, project, q)
	if err != nil {
		return toAPIErrorNamed(err, "project "+project)
	}
	out := make([]repositoryJSON, 0, len(list))
	for _, repo := range list {
		out = append(out, toRepositoryJSON(repo))
	}
	writeCounted(w, r, pg, out, total)
	return nil
}

// getRepository is GET /projects/{project}/repositories/{repository}.
func (h *Handler) getRepository(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	repo, err := repositoryOf(r)
	if err != nil {
		return err
	}
	got, err := h.content.GetRepository(r.Context(), p, repo)
	if err != nil {
		return toAPIErrorNamed(err, "repository "+repo)
	}
	writeJSON(w, http.StatusOK, toRepositoryJSON(got))
	return nil
}

// updateRepository is PUT /projects/{project}/repositories/{repository}:
// its description.
func (h *Handler) updateRepository(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	repo, err := repositoryOf(r)
	if err != nil {
		return err
	}
	var req struct {
		Description *string `json:"description"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Description == nil {
		return badRequest("description: required")
	}
	if err := h.content.SetDescription(r.Context(), p, repo, *req.Description); err != nil {
		return toAPIErrorNamed(err, "repository "+repo)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// deleteRepository is DELETE /projects/{project}/repositories/{repository}.
func (h *Handler) deleteRepository(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	repo, err := repositoryOf(r)
	if err != nil {
		return err
	}
	if err := h.content.DeleteRepository(r.Context(), p, repo); err != nil {
		return toAPIErrorNamed(err, "repository "+repo)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// nameFilter reads a q of name=value or name=~text.
func nameFilter(r *http.Request) (exact, contains string, err error) {
	parsed, err := harborq.Parse(r.URL.Query().Get("q"), "name")
	if err != nil {
		return "", "", badRequest("%v", err)
	}
	for _, c := range parsed.Conds() {
		switch c.Kind {
		case harborq.Exact:
			exact = c.Value
		case harborq.Fuzzy:
			contains = c.Value
		default:
			return "", "", badRequest("q: name takes name=value or name=~text")
		}
	}
	return exact, contains, nil
}
