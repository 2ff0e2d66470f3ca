// Package engine runs vulnerability scanning for a registry: scans as
// jobs on the job queue (on push, from the durable event log, for
// projects with auto-scan; on demand; every image on a schedule), with a
// scanner built into the host or a Harbor scanner adapter registered in
// the metadata store (a default, and a choice per project). A scanner is
// told to pull the one artifact with credentials the host makes
// (WithCredentials: short-lived, pull-only, that repository alone).
//
// Each finished scan stores the vulnerability report and the SBOM as OCI
// 1.1 referrers of the artifact (ArtifactTypeVulnReport and Harbor's
// ArtifactTypeSBOM), so they travel with it and show in the referrers API
// (oras discover), keeps a summary per artifact (ScanReport: status,
// severity, counts, findings), keeps the findings in the security hub
// (package scan/securityhub) and appends a SCANNING_COMPLETED or
// SCANNING_FAILED event in the same transaction.
//
// The rules of what callers change — scanner registrations and the
// default (Engine.Registrations), a project's scanner and scanning
// settings (Registrations.SetForProject, ProjectSettings), pings — are
// the engine's, each operation in a transaction of its own, so a Go
// caller and the admin API get the same checks and the same errors
// (ErrInvalid as a *FieldError naming the field, ErrExists, ErrInUse,
// ErrBuiltin, ErrUnavailable, ErrUnknownScanner with meta.ErrNotFound).
// Create the engine with New; options configure it, and it is not
// changed after.
//
// Gate is the pull gate over those summaries: registry hooks that refuse
// manifest pulls a project's settings forbid (412 PROJECTPOLICYVIOLATION,
// naming the vulnerabilities). Made WithGateWatcher, it keeps each
// project's settings in memory, so that a pull of a project that gates
// nothing costs no read of the store; every change of the settings bumps
// ProjectScanGeneration, and the watcher brings it to every instance
// within its interval (to this one before the change returns, through
// ProjectSettings and accounts.Manager made with the same watcher).
package engine
