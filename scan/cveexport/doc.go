// Package cveexport exports vulnerabilities as CSV, as Harbor's "Export
// CVEs" does: a caller asks (Service.Start) for the findings of some
// projects (by name or id; none named: every project), optionally only
// of repositories and tags matching doublestar patterns, of artifacts
// carrying some labels, and of some CVE ids; a job on the job queue
// writes the CSV, which only that caller may then list, read and
// download, once the job has finished.
//
// Only repositories the caller may pull from are exported: the rights
// are checked for each repository when the job runs (with the account's
// current rights when the Service is made WithPrincipals), so a caller
// never gets a line of a repository it could not read through the
// registry.
//
// The rows come from what the security hub keeps at scan time (package
// scan/securityhub): one per finding of each artifact's latest scan,
// with Harbor's columns (Repository, Artifact Digest, Tags, CVE,
// Package, Current Version, Fixed in version, Severity, CVSS V3 Score,
// CWE Ids, Scanner), and Berth's Project, CVSS V3 Vector and
// Description. Cells a spreadsheet would take for a formula are
// prefixed with a quote. The CSV is kept in the metadata store in
// chunks, at most WithLimit bytes (16 MiB by default: an export that
// reaches it stops there and says so); a caller keeps its latest
// WithKeep executions (5 by default), older ones going with their files
// when it starts another.
package cveexport
