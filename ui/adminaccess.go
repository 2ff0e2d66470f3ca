package ui

// adminAccessRoutes lists the pages of the administrator's users, system robots, registries, replication and configuration.
func (h *Handler) adminAccessRoutes() []route { return nil }
