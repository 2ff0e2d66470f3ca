// Package rbac decides access with casbin, using an RBAC-with-domains model
// in which a project is a domain: members hold roles in a project, roles
// hold permissions (Harbor's matrix, as data in Matrix), and users, groups
// and robots may also hold grants on repositories matching a doublestar
// pattern inside one project, beyond what Harbor offers. System
// administrators may do everything; anyone may pull from a public project.
//
// The policy lives in the casbin enforcer and changes take effect at once
// (AddMember, RemoveMember, AddGrant, …); persisting it is the caller's
// business (Policy and Load move the whole policy in and out).
//
// A repository's project is the first component of its name
// ("team/app/api" is in project "team").
package rbac
