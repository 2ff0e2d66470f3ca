// Package osv is an offline OSV vulnerability database for the built-in
// scanner: advisories in the OSV format, read from a directory or a zip
// archive the operator provides, matched against installed packages with
// the version rules of each ecosystem (osv-scalibr's semantic package:
// Debian, Alpine, Red Hat, Go and others).
package osv
