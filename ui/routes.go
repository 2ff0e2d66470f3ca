package ui

// routes lists the portal's pages and actions, by area (each area's file
// holds its handlers and messages).
func (h *Handler) routes() []route {
	out := []route{
		{"GET /login", h.loginPage},
		{"POST /login", h.action(h.login)},
		{"POST /logout", h.action(h.logout)},
		{"POST /prefs", h.action(h.setPrefs)},
	}
	for _, area := range [][]route{
		h.projectRoutes(), h.projectSettingRoutes(), h.artifactRoutes(), h.policyRoutes(),
		h.adminAccessRoutes(), h.adminWorkRoutes(),
	} {
		out = append(out, area...)
	}
	return out
}
