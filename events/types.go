package events

// Event types. The artifact, scan, quota, replication and retention types
// are Harbor's webhook event types; the others are Berth's.
const (
	PushArtifact      = "PUSH_ARTIFACT"
	PullArtifact      = "PULL_ARTIFACT"
	DeleteArtifact    = "DELETE_ARTIFACT"
	DeleteTag         = "DELETE_TAG"
	ScanningCompleted = "SCANNING_COMPLETED"
	ScanningFailed    = "SCANNING_FAILED"
	QuotaExceed       = "QUOTA_EXCEED"
	QuotaWarning      = "QUOTA_WARNING"
	Replication       = "REPLICATION"
	TagRetention      = "TAG_RETENTION"
	CreateRepository  = "CREATE_REPOSITORY"
	// DeleteRepository records a repository deleted with everything in
	// it (through the admin API), one event for all its artifacts.
	DeleteRepository = "DELETE_REPOSITORY"
	CreateProject    = "CREATE_PROJECT"
	DeleteProject    = "DELETE_PROJECT"
	CreateRobot      = "CREATE_ROBOT"
	DeleteRobot      = "DELETE_ROBOT"
	ChangeMember     = "CHANGE_MEMBER"
	CreateUser       = "CREATE_USER"
	DeleteUser       = "DELETE_USER"
	Login            = "LOGIN"
	// CreateWebhookPolicy and DeleteWebhookPolicy record webhook policy
	// changes; a policy's id is the sequence number of its creation.
	CreateWebhookPolicy = "CREATE_WEBHOOK_POLICY"
	DeleteWebhookPolicy = "DELETE_WEBHOOK_POLICY"
)

// Types lists every event type, for validating webhook policies.
var Types = []string{
	PushArtifact, PullArtifact, DeleteArtifact, DeleteTag, ScanningCompleted, ScanningFailed, QuotaExceed, QuotaWarning,
	Replication, TagRetention, CreateRepository, DeleteRepository, CreateProject, DeleteProject, CreateRobot, DeleteRobot, ChangeMember, CreateUser, DeleteUser, Login,
	CreateWebhookPolicy, DeleteWebhookPolicy,
}
