// Package securityhub is the registry-wide view of vulnerabilities that
// Harbor 2.9 calls its security hub: a summary (vulnerabilities by
// severity, artifacts scanned and vulnerable, fixable ones, the five
// most dangerous artifacts and CVEs) and a search of every finding by
// CVE id, package, severity, CVSS v3 score, project, repository, tag and
// digest.
//
// Nothing is computed from the reports when asked: Record, which the
// scan engine calls in the transaction that records a scan's result,
// keeps per artifact what the scan found (Artifact) and, from it,
// everything the hub serves:
//
//   - totals by severity, of fixable findings and of artifacts scanned
//     and vulnerable, as counters in 16 shards (an artifact always adds
//     to the shard its name hashes to), so that concurrent scans rarely
//     write the same record and a summary reads 16 small records;
//   - how many artifacts carry each CVE, sharded the same way, and an
//     index of CVEs by CVSS v3 score and severity, for the most
//     dangerous CVEs;
//   - an index of artifacts by their critical, high, medium and low
//     counts, for the most dangerous artifacts;
//   - three indexes of findings, by CVE id, by package and by severity
//     and score, which a search reads as key ranges;
//   - a description and links per CVE, stored once.
//
// A rescan replaces the artifact's contribution (only what changed is
// written); Forget and ForgetRepository remove it. Forgetting wraps a
// store so that every deletion made through it does so in the deleting
// transaction; the scan engine
// does too, from the event log. Every change happens in the caller's
// transaction and
// is computed from what that transaction reads, so the numbers stay
// exact when transactions conflict and run again. The counts are of
// findings as the hub keeps them: one per CVE, package and version of an
// artifact (a report listing the same one twice counts it once), and
// "None" counts Harbor's Negligible severity.
//
// Hub serves the summary (Summary) and the search (Vulnerabilities,
// with ParseQuery reading Harbor's q); their cost is bounded by what
// they return, not by the number or size of the reports, except the
// registry's artifact count, a walk of the repositories' counters kept
// for WithArtifactCountTTL. ArtifactsIn, ArtifactOf and Info read the
// records inside a caller's transaction (the CVE export does).
package securityhub
