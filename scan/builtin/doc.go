// Package builtin is Berth's built-in vulnerability and SBOM scanner: a
// scan.Scanner that needs no network beyond the registry it pulls from.
//
// For each scan it pulls the image manifest by digest from the request's
// registry with go-containerregistry (authenticating with the request's
// Authorization: "Bearer <token>" as a registry token, "Basic <base64>"
// as credentials, none as anonymous; http:// registries are reached
// insecurely), applies the layers in order with osv-scalibr's layer
// scanning (whiteouts and opaque whiteouts honoured), lists the packages
// with osv-scalibr's dpkg, apk, rpm and Go binary extractors, and matches
// them against an offline OSV database (package osv). It makes Harbor's
// vulnerability report and SBOM reports in SPDX 2.3 and CycloneDX JSON
// (osv-scalibr's converters). Scans run in the background, at most
// WithConcurrency at a time, each copying the image's layers, uncompressed,
// to a temporary directory it removes when done; finished reports are
// kept in memory WithRetention.
//
// # Ecosystems
//
// A package is looked up under the OSV ecosystem osv-scalibr gives it
// (extractor.Package.Ecosystem): "Alpine:v3.18" for an apk package on
// Alpine 3.18.x (from /etc/os-release VERSION_ID), "Debian:12" for dpkg
// on Debian 12, "Red Hat:…", "AlmaLinux:9", "Rocky Linux:9" (the major
// release added: scalibr gives none), "SUSE:…" and
// the others it knows for rpm, "Go" for Go modules. Distribution
// advisories are keyed by source package, so — as Trivy and osv-scanner
// do — a Debian binary package is looked up by its Source (and source
// version, when dpkg records one), an Alpine package by its origin, and
// the Go toolchain as "stdlib"; RPM versions of the Red Hat family carry
// their epoch. A vulnerability names the installed binary package and
// version (a Go module by its path); the package the advisory names is in
// VendorAttributes["source_package"] when it differs. Packages of an OS
// without a VERSION_ID match only advisories naming no release, those of
// an OS osv-scalibr does not know none (both are still in the SBOMs), nor
// do Debian transitional packages or Go main modules built as "(devel)".
//
// # Reports
//
// Vulnerabilities are sorted by id, then package, then version; the
// report's severity is the highest. A distribution's per-CVE record is
// reported under the CVE ("DEBIAN-CVE-2023-4911" as "CVE-2023-4911", the
// record's id in VendorAttributes["osv_id"]) so CVE allowlists apply;
// severities are as package osv rates them (the record's word, the
// distribution's rating, else the CVSS base score).
package builtin
