package rbac

import "github.com/berthreg/berth/auth"

// Role is a project role.
type Role string

// The project roles, Harbor's.
const (
	ProjectAdmin Role = "projectAdmin"
	Maintainer   Role = "maintainer"
	Developer    Role = "developer"
	Guest        Role = "guest"
	LimitedGuest Role = "limitedGuest"
)

// Roles lists the roles from most to least powerful.
var Roles = []Role{ProjectAdmin, Maintainer, Developer, Guest, LimitedGuest}

// Project resources other than repositories, for the admin API.
const (
	ResourceProject = "project"
	ResourceMember  = "member"
	ResourceRobot   = "robot"
)

// Actions on project resources.
const (
	ActionRead   = "read"
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionDelete = "delete"
)

// ProjectResources lists the project resources other than repositories.
var ProjectResources = []string{ResourceProject, ResourceMember, ResourceRobot}

// ResourceActions lists the actions on ProjectResources.
var ResourceActions = []string{ActionRead, ActionCreate, ActionUpdate, ActionDelete}

// RepositoryActions lists the actions on repositories.
var RepositoryActions = []string{auth.ActionPull, auth.ActionPush, auth.ActionDelete}

// Permission is one thing a role may do: an action on a resource type of
// its project ("repository" for every repository in it).
type Permission struct {
	Resource string
	Action   string
}

// Matrix is what each role may do in its project, after Harbor's
// permission table: pulls for every role; pushes from Developer up;
// deletes of artifacts and tags, and robot management reads, from
// Maintainer up; member and robot management, project update and delete for
// ProjectAdmin. LimitedGuest may pull but not read the project's members.
var Matrix = map[Role][]Permission{
	LimitedGuest: {
		{auth.TypeRepository, auth.ActionPull}, {ResourceProject, ActionRead},
	},
	Guest: {
		{auth.TypeRepository, auth.ActionPull}, {ResourceProject, ActionRead}, {ResourceMember, ActionRead},
	},
	Developer: {
		{auth.TypeRepository, auth.ActionPull}, {auth.TypeRepository, auth.ActionPush},
		{ResourceProject, ActionRead}, {ResourceMember, ActionRead},
	},
	Maintainer: {
		{auth.TypeRepository, auth.ActionPull}, {auth.TypeRepository, auth.ActionPush}, {auth.TypeRepository, auth.ActionDelete},
		{ResourceProject, ActionRead}, {ResourceMember, ActionRead}, {ResourceRobot, ActionRead},
	},
	ProjectAdmin: {
		{auth.TypeRepository, auth.ActionPull}, {auth.TypeRepository, auth.ActionPush}, {auth.TypeRepository, auth.ActionDelete},
		{ResourceProject, ActionRead}, {ResourceProject, ActionUpdate}, {ResourceProject, ActionDelete},
		{ResourceMember, ActionRead}, {ResourceMember, ActionCreate}, {ResourceMember, ActionUpdate}, {ResourceMember, ActionDelete},
		{ResourceRobot, ActionRead}, {ResourceRobot, ActionCreate}, {ResourceRobot, ActionUpdate}, {ResourceRobot, ActionDelete},
	},
}
