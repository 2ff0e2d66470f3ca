// Package label keeps Harbor's labels: names with a description and a
// color that people attach to artifacts, to sort them, find them
// (artifact listings filtered by label) and select them (replication
// label filters).
//
// A label is global (Scope Global, managed by system administrators,
// usable in every project) or belongs to one project (ProjectScope,
// managed by the project's administrators and maintainers, usable only
// on that project's artifacts). Anybody may read the global labels;
// whoever sees a project may read its labels. Whoever may push to a
// repository (developers and up) attaches labels to its artifacts and
// detaches them. Names are unique within a scope; ids are allocated by
// the Service and never given twice.
//
// # Records
//
// Labels live in the metadata store's record space: by id, and indexed
// by scope and name (a scope's labels are a prefix scan). An attachment
// is kept twice: under the artifact ("<repository>@<digest>", the
// artifact's label ids), so that Of reads the labels of a page of
// artifacts with one GetMany; and under the label
// ("<id>/<repository>@<digest>"), so that ArtifactsWith lists a
// repository's artifacts carrying a label with a prefix scan, without
// reading the repository. Deleting a label detaches it everywhere in the
// same transaction.
//
// # Keeping in step
//
// Forget drops an artifact's attachments and ForgetRepository a
// repository's, in the deleting transaction: Forgetting's store does it
// for every deletion made through it (the registry, retention, garbage
// collection and the like);
// DeleteProject (an accounts.ProjectCleanup) deletes a project's labels
// with the project. A project label also
// carries its project's id (accounts.Project.ID), so a label of a
// project deleted and created again under the name is never shown nor
// used.
package label
