// Package api is the admin REST API, shaped like Harbor's API v2.0 for the
// resources it covers: paths under /api/v2.0, Harbor's JSON field names,
// page and page_size with X-Total-Count and Link headers, and errors as
// {"errors":[{"code","message"}]} (a metadata store or storage that
// cannot be reached is 503 SERVICE_UNAVAILABLE with a Retry-After, also
// for a login that could not be checked). Clients authenticate with HTTP basic
// credentials (users and robots, as with Harbor's API; failures rate
// limited with WithLimiter) or, with WithSessions, a session cookie from
// Harbor's POST /c/login or, with WithOIDC, from signing in through an
// OpenID Connect provider at /c/oidc/login. Session-authenticated changes
// need an X-Requested-With header, which other sites' pages cannot send.
// Some reads are open to anonymous clients where Harbor's are (public
// projects).
//
// It covers projects and their members, users (with OIDC accounts' CLI
// secrets, their registry passwords), and robot accounts (with two
// extensions: an access's "pattern" limits it to matching repositories,
// and "expires_at" sets an exact expiry; robots holding robot permissions
// manage robots within their own rights), and, with WithJobs and
// WithSchedules, webhook policies and their delivery log, the job queue,
// the audit log and garbage collection (Harbor's /system/gc), and, with
// WithReplication, registry endpoints (/registries), replication policies
// (/replication/policies) and executions with their tasks and logs
// (/replication/executions; POST …/{id}/retry re-runs only the failed
// tasks, a Berth extension), and, with WithScanning, vulnerability
// scanning: scanner registrations (/scanners, with the built-in ones), a
// project's scanner (/projects/{project}/scanner), its scan settings and
// CVE allowlist (Harbor's project metadata auto_scan, prevent_vul and
// severity, and cve_allowlist; Berth's prevent_unscanned), scans of an
// artifact with its scan overview and vulnerability report
// (/projects/{project}/repositories/{repository}/artifacts/{reference}) and
// the scan-all schedule (/system/scanAll/schedule); Harbor's security
// hub for system administrators (/security/summary, /security/vul, from
// package scan/securityhub) and, with WithCVEExport, CSV exports of the
// vulnerabilities of what the caller may pull (/export/cve, package
// scan/cveexport). It serves the
// registry's content through package artifact: repositories
// (/repositories, /projects/{project}/repositories), artifacts with
// their tags, accessories, references and additions, copies and deletes
// (…/repositories/{repository}/artifacts), labels (/labels, and attached
// to artifacts), /search, /statistics and /systeminfo. Berth
// addresses projects, users and robots by name where Harbor uses numeric
// ids. The OpenAPI document is served at Prefix+"/openapi.json"; it is kept
// in parts, openapi/base.json and one file per feature, merged at start.
//
// The API only translates: it decodes requests, checks who may do what,
// calls the feature packages' services (accounts.Manager,
// webhook.Policies, jobs.Schedules, replication.Service, the scan
// engine's), and maps their errors to Harbor's answers. It opens no
// transaction and keeps no store (TestHandlerHoldsNoStore), so a Go
// caller of a service gets the same validation and the same errors as an
// API client.
package api
