package accounts

import (
	"time"

	"github.com/berthreg/berth/meta"
)

// The account record kinds (the bucket names of earlier builds).
var (
	// Projects holds the projects with their members, keyed by name.
	Projects = meta.RecordType[Project]{Kind: "projects", Key: func(p Project) string { return p.Name }}
	// Users holds the user accounts, keyed by name.
	Users = meta.RecordType[User]{Kind: "users", Key: func(u User) string { return u.Name }}
	// Robots holds the robot accounts, keyed by their full name.
	Robots = meta.RecordType[Robot]{Kind: "robots", Key: func(r Robot) string { return r.Name }}
)

// Project is a namespace of repositories: the first component of a
// repository's name is its project.
type Project struct {
	// ID identifies this incarnation of the project for good: the event
	// log's sequence number of the event that recorded its creation, so a
	// project re-created under the same name gets another. Records that
	// belong to a project (webhook policies) carry it, and its events are
	// those from this number on. Zero for projects from before ids.
	ID uint64 `json:"id,omitempty"`
	// Name is the project name.
	Name string `json:"name"`
	// Public projects may be pulled from by anyone.
	Public bool `json:"public"`
	// Members hold roles in the project.
	Members []Member `json:"members,omitempty"`
	// Grants let users and groups act on some of the project's
	// repositories, beside or without a role.
	Grants []MemberGrant `json:"grants,omitempty"`
	// Scan holds the project's scanning settings.
	Scan ProjectScan `json:"scan,omitzero"`
	// CreatedBy names the account that created it.
	CreatedBy string `json:"createdBy,omitempty"`
	// CreatedAt and UpdatedAt bound the record's life.
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// MemberGrant lets a user or a group perform actions on the repositories
// of its project whose names match a doublestar pattern.
type MemberGrant struct {
	// ID numbers the grant within its project (from 1).
	ID int64 `json:"id"`
	// Kind is "user" or "group".
	Kind string `json:"kind"`
	// Name is the user or group name.
	Name string `json:"name"`
	// Pattern matches full repository names inside the project.
	Pattern string `json:"pattern"`
	// Actions are among "pull", "push", "delete".
	Actions []string `json:"actions"`
}

// Member is a user or a group holding a role in a project.
type Member struct {
	// ID numbers the membership within its project (from 1, never reused
	// while the project lives).
	ID int64 `json:"id,omitempty"`
	// Kind is "user" or "group".
	Kind string `json:"kind"`
	// Name is the user or group name.
	Name string `json:"name"`
	// Role is the project role ("projectAdmin", "maintainer", "developer",
	// "guest", "limitedGuest").
	Role string `json:"role"`
}

// User is a person's account.
type User struct {
	// Name is the login name.
	Name string `json:"name"`
	// Email and FullName describe the person.
	Email    string `json:"email,omitempty"`
	FullName string `json:"fullName,omitempty"`
	// PasswordHash is the bcrypt hash of a local account's password
	// (empty for LDAP and OIDC accounts).
	PasswordHash []byte `json:"passwordHash,omitempty"`
	// CLISecretHash is the bcrypt hash of an OIDC account's CLI secret,
	// its registry password.
	CLISecretHash []byte `json:"cliSecretHash,omitempty"`
	// Source is where the account comes from: "local", "ldap" or "oidc".
	Source string `json:"source"`
	// Subject is the OIDC subject (issuer-unique id) of an OIDC account.
	Subject string `json:"subject,omitempty"`
	// Groups are the groups an OIDC account belonged to at its last login
	// (its ID token's groups claim); project members of kind "group"
	// reach it through them.
	Groups []string `json:"groups,omitempty"`
	// Admin marks a system administrator.
	Admin bool `json:"admin,omitempty"`
	// Disabled accounts cannot log in.
	Disabled bool `json:"disabled,omitempty"`
	// Sessions are the account's live browser sessions, oldest first: a
	// session cookie opens only while its session is listed here.
	Sessions []UserSession `json:"sessions,omitempty"`
	// CreatedAt and UpdatedAt bound the record's life.
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// UserSession is one signed-in browser session of a user account.
type UserSession struct {
	// IDHash is the SHA-256 (hex) of the session's random id, which its
	// cookie carries.
	IDHash string `json:"idHash"`
	// ExpiresAt ends the session.
	ExpiresAt time.Time `json:"expiresAt"`
}

// Robot is a robot account: "robot$<project>+<name>" for a project robot,
// "robot$<name>" for a system robot.
type Robot struct {
	// Name is the full account name.
	Name string `json:"name"`
	// Project is the project of a project robot ("" for a system robot).
	Project string `json:"project,omitempty"`
	// Description says what it is for.
	Description string `json:"description,omitempty"`
	// SecretHash is the bcrypt hash of its secret (shown once, at creation
	// or rotation).
	SecretHash []byte `json:"secretHash"`
	// Grants are what it may do.
	Grants []Grant `json:"grants,omitempty"`
	// ExpiresAt ends its validity (zero: never).
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
	// Disabled robots cannot log in.
	Disabled bool `json:"disabled,omitempty"`
	// CreatedBy names the account that created it.
	CreatedBy string `json:"createdBy,omitempty"`
	// CreatedAt and UpdatedAt bound the record's life.
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Grant lets an account perform actions on the repositories of one project
// whose names match a doublestar pattern, or on one of the project's other
// resources (its robots, members, the project itself).
type Grant struct {
	// Project is the project the grant is confined to; "*" (system robots
	// only) is every project, present and future.
	Project string `json:"project"`
	// Resource is what the grant is about: "" for repositories, else
	// "project", "member" or "robot".
	Resource string `json:"resource,omitempty"`
	// Pattern matches full repository names ("team/app-*", "team/**"); it
	// is empty for the other resources.
	Pattern string `json:"pattern,omitempty"`
	// Actions are among "pull", "push", "delete" for repositories, and
	// "read", "create", "update", "delete" for the other resources.
	Actions []string `json:"actions"`
}

// ProjectScan is a project's scanning settings.
type ProjectScan struct {
	// AutoScan scans every image pushed to the project.
	AutoScan bool `json:"autoScan,omitempty"`
	// Scanner names the registration the project uses ("": the default).
	Scanner string `json:"scanner,omitempty"`
	// PreventVulnerable refuses pulls of images with a vulnerability of
	// Severity or higher that the allowlist does not cover.
	PreventVulnerable bool   `json:"preventVulnerable,omitempty"`
	Severity          string `json:"severity,omitempty"`
	// DenyUnscanned refuses pulls of images without a finished scan.
	DenyUnscanned bool `json:"denyUnscanned,omitempty"`
	// Allowlist names vulnerabilities that do not count.
	Allowlist []AllowedVulnerability `json:"allowlist,omitempty"`
}

// AllowedVulnerability is an allowlist entry.
type AllowedVulnerability struct {
	// ID is the vulnerability's id ("CVE-2024-1234").
	ID string `json:"id"`
	// ExpiresAt ends the entry (zero: never).
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
}
