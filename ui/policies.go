package ui

// policyRoutes lists the pages of a project's policies.
func (h *Handler) policyRoutes() []route { return nil }
