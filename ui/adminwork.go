package ui

// adminWorkRoutes lists the pages of the administrator's garbage collection, scanners, job queue, vulnerabilities and audit log.
func (h *Handler) adminWorkRoutes() []route { return nil }
