// Package rbac decides access with casbin, using an RBAC-with-domains model
// in which a project is a domain: members hold roles in a project, roles
// hold permissions (Harbor's matrix, as data in Matrix), and users, groups
// and robots may also hold grants on repositories matching a doublestar
// pattern inside one project, beyond what Harbor offers. System
// administrators may do everything; anyone may pull from a public project.
//
// The policy lives in the casbin enforcer and changes take effect at once
// (AddMember, RemoveMember, AddGrant, …); persisting it is the caller's
// business (auth/accounts keeps it with the projects and robots). Load
// replaces the whole policy from its source at once: a decision sees the
// old policy or the new one, never a half-loaded one, and each decision
// reads one policy throughout. A caller whose source other processes
// change reloads when it learns of a change (accounts.WithWatcher, over
// package generation).
//
// A repository's project is the first component of its name
// ("team/app/api" is in project "team").
package rbac
