package ui

// projectSettingRoutes lists the pages of members, robot accounts, labels, logs and webhooks of a project.
func (h *Handler) projectSettingRoutes() []route { return nil }
