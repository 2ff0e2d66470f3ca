package ui

// artifactRoutes lists the pages of a repository's artifacts and an artifact's details.
func (h *Handler) artifactRoutes() []route { return nil }
