package api

import (
	"net/http"

	"github.com/berthreg/berth/auth"
)

// searchRepositoryJSON is Harbor's SearchRepository.
type searchRepositoryJSON struct {
	RepositoryName string `json:"repository_name"`
	ProjectName    string `json:"project_name"`
	ProjectID      uint64 `json:"project_id,omitempty"`
	ProjectPublic  bool   `json:"project_public"`
	PullCount      int64  `json:"pull_count"`
	ArtifactCount  int    `json:"artifact_count"`
}

// search is GET /search?q=text: the projects and repositories whose
// names contain text, among those the caller may see.
func (h *Handler) search(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	res, err := h.content.Search(r.Context(), p, r.URL.Query().Get("q"))
	if err != nil {
		return err
	}
	out := struct {
		Project    []projectJSON          `json:"project"`
		Repository []searchRepositoryJSON `json:"repository"`
	}{Project: []projectJSON{}, Repository: []searchRepositoryJSON{}}
	for _, proj := range res.Projects {
		out.Project = append(out.Project, toProjectJSON(proj, p))
	}
	for _, repo := range res.Repositories {
		out.Repository = append(out.Repository, searchRepositoryJSON{RepositoryName: repo.Name, ProjectName: repo.Project,
			ProjectID: repo.ProjectID, ProjectPublic: res.Public[repo.Project], PullCount: repo.PullCount, ArtifactCount: repo.ArtifactCount})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// statistics is GET /statistics: the projects and repositories the
// caller sees, and (for system administrators) the storage the projects
// use.
func (h *Handler) statistics(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := signedIn(p); err != nil {
		return err
	}
	st, err := h.content.Statistics(r.Context(), p)
	if err != nil {
		return err
	}
	out := map[string]int64{
		"private_project_count": int64(st.PrivateProjects), "public_project_count": int64(st.PublicProjects),
		"total_project_count": int64(st.PrivateProjects + st.PublicProjects),
		"private_repo_count":  int64(st.PrivateRepositories), "public_repo_count": int64(st.PublicRepositories),
		"total_repo_count": int64(st.PrivateRepositories + st.PublicRepositories),
	}
	if p.Admin && h.quotas != nil {
		all, err := h.quotas.All(r.Context())
		if err != nil {
			return err
		}
		var used int64
		for _, q := range all {
			used += q.Used
		}
		out["total_storage_consumption"] = used
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
