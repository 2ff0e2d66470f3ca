package server

import (
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/retention"
	"github.com/berthreg/berth/scan/engine"
)

// Accounts returns the server's projects, members, robots and users: the
// manager the admin API works through, so that what a host does from its
// own Go code (a project made when one of its tenants is, a robot issued
// to its build system, a group made a member) is stored, evented and
// enforced exactly as the same change through the API, on every instance.
// Its methods take the acting principal where the API checks one; a host
// acting for itself passes a principal of its own (an administrator's, as
// its authenticator would return it). Nil with auth.disabled.
func (s *Server) Accounts() *accounts.Manager { return s.accounts }

// ProjectScans returns the projects' scanning settings (scan on push,
// the pull gate's severity and allowlist), as the admin API's project
// metadata changes them; a change is in force on every instance within
// metadata.refresh. Nil with auth.disabled.
func (s *Server) ProjectScans() *engine.ProjectSettings { return s.projectScans }

// Retention returns the projects' tag retention: the policies (which
// artifacts a project keeps, on which schedule), runs and dry runs, as
// the admin API's /retentions change and start them.
func (s *Server) Retention() *retention.Service { return s.retention }
