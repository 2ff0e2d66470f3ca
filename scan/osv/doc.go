// Package osv is an offline OSV vulnerability database for the built-in
// scanner: advisories in the OSV format, read from a directory or a zip
// archive the operator provides, matched against installed packages with
// the version rules of each ecosystem (osv-scalibr's semantic package:
// Debian, Alpine, Red Hat, Go and others).
//
// # Severity
//
// A match is rated on Harbor's scale by, in this order: a severity word
// the record states (ecosystem_specific or database_specific
// "severity", as GitHub's and several distributions' records carry); the
// distribution's own rating (Debian's ecosystem_specific "urgency" —
// unimportant, low, medium, high, "not yet assigned" being none — or a
// severity entry of a distribution's type, such as Ubuntu's words); the
// CVSS base score computed from the record's vectors (the affected
// package's severity list first, then the record's; v3.x before v4.0
// before v2.0) with the CVSS specification's ratings (≥9 Critical, ≥7
// High, ≥4 Medium, >0 Low, 0 Negligible; v2 scores top out at High, as
// NVD rates them); else Unknown. The v2 and v3 scores and vectors go in
// PreferredCVSS whichever step decided, a v4 score and vector in
// VendorAttributes["cvss_v4"], and the step in
// VendorAttributes["severity_source"].
package osv
