// Package pluggable speaks Harbor's Pluggable Scanner API v1.2: Server
// serves any scan.Scanner as a scanner adapter (GET /api/v1/metadata, POST
// /api/v1/scan, GET /api/v1/scan/{id}/report with 302 and Refresh-After
// while the report is made), and Client is a scan.Scanner that reaches an
// adapter over HTTP, such as Trivy's, unchanged.
package pluggable
