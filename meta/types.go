package meta

import (
	"time"

	"github.com/opencontainers/go-digest"
)

// Repository is one named repository.
type Repository struct {
	// Name is the full repository name, e.g. "library/alpine".
	Name string `json:"name"`
	// CreatedAt is when the first thing was recorded in it.
	CreatedAt time.Time `json:"createdAt"`
}

// Descriptor names content a manifest references.
type Descriptor struct {
	MediaType string        `json:"mediaType,omitempty"`
	Digest    digest.Digest `json:"digest"`
	Size      int64         `json:"size"`
}

// Manifest is the metadata of one manifest stored in a repository. Its bytes
// live in blob storage under its digest.
type Manifest struct {
	// Digest is the digest of the manifest bytes.
	Digest digest.Digest `json:"digest"`
	// MediaType is the manifest's media type as served (Content-Type).
	MediaType string `json:"mediaType"`
	// ArtifactType is what the referrers API reports: the manifest's
	// artifactType, else its config's media type; empty for indexes without one.
	ArtifactType string `json:"artifactType,omitempty"`
	// Size is the length of the manifest bytes.
	Size int64 `json:"size"`
	// Subject is the digest of the manifest this one refers to, if any.
	Subject digest.Digest `json:"subject,omitempty"`
	// Config is the config blob of an image manifest (zero for an index).
	Config Descriptor `json:"config,omitzero"`
	// Layers are the layer blobs of an image manifest.
	Layers []Descriptor `json:"layers,omitempty"`
	// Manifests are the child manifests of an index.
	Manifests []Descriptor `json:"manifests,omitempty"`
	// Annotations are the manifest's annotations.
	Annotations map[string]string `json:"annotations,omitempty"`
	// PushedAt is when the manifest was last pushed.
	PushedAt time.Time `json:"pushedAt"`
}

// Blob is one blob known to the registry.
type Blob struct {
	Digest digest.Digest `json:"digest"`
	Size   int64         `json:"size"`
	// CreatedAt is when the blob was first stored (registry-wide record) or
	// linked (repository link).
	CreatedAt time.Time `json:"createdAt"`
}

// Upload is an in-progress blob upload session, persisted after every
// acknowledged chunk so that any instance can resume it after a restart.
type Upload struct {
	// ID is the opaque session id in the upload URL.
	ID string `json:"id"`
	// Repository is the repository the blob is being pushed to.
	Repository string `json:"repository"`
	// Offset is the number of bytes durably received and acknowledged.
	Offset int64 `json:"offset"`
	// HashState is the marshalled state of the running digest (sha256) over
	// the first Offset bytes (encoding.BinaryMarshaler output).
	HashState []byte `json:"hashState,omitempty"`
	// DriverState is opaque resume state a storage driver may need (e.g. an
	// S3 multipart upload id and parts).
	DriverState []byte `json:"driverState,omitempty"`
	// StartedAt and UpdatedAt bound the session's life.
	StartedAt time.Time `json:"startedAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

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
