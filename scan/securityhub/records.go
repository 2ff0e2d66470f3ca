package securityhub

import (
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/scan"
)

// The record kinds of the hub.
const (
	// kindArtifacts holds what each artifact's latest scan found
	// (Artifact), by artifactKey.
	kindArtifacts = "secHubArtifacts"
	// kindByCVE, kindByPackage and kindBySeverity index the findings
	// (indexValue) by CVE id, by package, and by severity and score.
	kindByCVE      = "secHubByCVE"
	kindByPackage  = "secHubByPackage"
	kindBySeverity = "secHubBySeverity"
	// kindTotals holds the Totals, one record per shard.
	kindTotals = "secHubTotals"
	// kindCVECounts counts the artifacts carrying each CVE (counter),
	// per shard.
	kindCVECounts = "secHubCVECounts"
	// kindCVERank orders the CVEs by score and severity (rankEntry), per
	// shard.
	kindCVERank = "secHubCVERank"
	// kindArtifactRank orders the vulnerable artifacts by their counts
	// (artifactRankEntry).
	kindArtifactRank = "secHubArtifactRank"
	// kindCVEInfo holds a description and links per CVE (CVEInfo).
	kindCVEInfo = "secHubCVEInfo"
)

// indexKinds are the finding indexes, each filled by its key function.
var indexKinds = []struct {
	kind string
	key  func(repo string, d digest.Digest, f Finding) string
}{{kindByCVE, cveKey}, {kindByPackage, packageKey}, {kindBySeverity, severityKey}}

// artifacts is the typed table of kindArtifacts.
var artifacts = meta.RecordType[Artifact]{Kind: kindArtifacts, Key: func(a Artifact) string { return artifactKey(a.Repository, a.Digest) }}

// Artifact is what the latest successful scan of an artifact found, as
// the hub keeps it.
type Artifact struct {
	// Repository and Digest name the artifact.
	Repository string        `json:"repository"`
	Digest     digest.Digest `json:"digest"`
	// Scanner names the scanner that made the report.
	Scanner string `json:"scanner,omitempty"`
	// ScannedAt is when the scan was recorded.
	ScannedAt time.Time `json:"scannedAt,omitzero"`
	// Findings are the vulnerabilities found, one per CVE id, package and
	// version, in that order.
	Findings []Finding `json:"findings,omitempty"`
}

// Finding is one vulnerability of one package version.
type Finding struct {
	// CVE is the vulnerability's id (a CVE id, or the scanner's: GHSA-…).
	CVE string `json:"cve"`
	// Package and Version are the vulnerable package; FixVersion the
	// first version that fixes it ("": none known).
	Package    string `json:"pkg,omitempty"`
	Version    string `json:"ver,omitempty"`
	FixVersion string `json:"fix,omitempty"`
	// Severity is on Harbor's scale.
	Severity scan.Severity `json:"sev"`
	// CVSS3 is the CVSS v3 base score (0: none given) and Vector3 its
	// vector.
	CVSS3   float64 `json:"cvss3,omitempty"`
	Vector3 string  `json:"vec3,omitempty"`
	// CWEs are the weaknesses the scanner names.
	CWEs []string `json:"cwe,omitempty"`
}

// CVEInfo is what the hub keeps of a vulnerability beside its findings:
// the first description and links a scanner gave.
type CVEInfo struct {
	Description string   `json:"desc,omitempty"`
	Links       []string `json:"links,omitempty"`
}

// Counts are findings by severity ("None" is Negligible).
type Counts struct {
	Critical int64 `json:"critical,omitempty"`
	High     int64 `json:"high,omitempty"`
	Medium   int64 `json:"medium,omitempty"`
	Low      int64 `json:"low,omitempty"`
	None     int64 `json:"none,omitempty"`
	Unknown  int64 `json:"unknown,omitempty"`
}

// Total is the number of findings counted.
func (c Counts) Total() int64 { return c.Critical + c.High + c.Medium + c.Low + c.None + c.Unknown }

// Of returns the count of severity s.
func (c Counts) Of(s scan.Severity) int64 { return *c.slot(s) }

func (c *Counts) slot(s scan.Severity) *int64 {
	switch severity(s) {
	case scan.SeverityCritical:
		return &c.Critical
	case scan.SeverityHigh:
		return &c.High
	case scan.SeverityMedium:
		return &c.Medium
	case scan.SeverityLow:
		return &c.Low
	case scan.SeverityNegligible:
		return &c.None
	}
	return &c.Unknown
}

// Totals are the registry's numbers: findings by severity, fixable
// findings, and artifacts scanned and vulnerable (with a finding).
type Totals struct {
	Counts
	Fixable    int64 `json:"fixable,omitempty"`
	Scanned    int64 `json:"scanned,omitempty"`
	Vulnerable int64 `json:"vulnerable,omitempty"`
}

// plus returns t with u added, times sign.
func (t Totals) plus(u Totals, sign int64) Totals {
	t.Critical += sign * u.Critical
	t.High += sign * u.High
	t.Medium += sign * u.Medium
	t.Low += sign * u.Low
	t.None += sign * u.None
	t.Unknown += sign * u.Unknown
	t.Fixable += sign * u.Fixable
	t.Scanned += sign * u.Scanned
	t.Vulnerable += sign * u.Vulnerable
	return t
}

// Counts are the artifact's findings by severity.
func (a Artifact) Counts() Counts {
	var c Counts
	for _, f := range a.Findings {
		*c.slot(f.Severity)++
	}
	return c
}

// totals is the artifact's part of the Totals.
func (a Artifact) totals() Totals {
	t := Totals{Counts: a.Counts(), Scanned: 1}
	for _, f := range a.Findings {
		if f.FixVersion != "" {
			t.Fixable++
		}
	}
	if len(a.Findings) > 0 {
		t.Vulnerable = 1
	}
	return t
}

// indexValue is a finding index entry's value: the finding and where.
type indexValue struct {
	Repository string        `json:"r"`
	Digest     digest.Digest `json:"d"`
	Finding    Finding       `json:"f"`
}

// counter counts artifacts (a CVE's, in one shard).
type counter struct {
	N int `json:"n"`
}

func (c *counter) count() *int { return &c.N }

// rankEntry is a CVE's entry in the dangerous-CVE index: how many
// artifacts of the shard have it at this rank, and one of its findings.
type rankEntry struct {
	N       int     `json:"n"`
	Finding Finding `json:"f"`
}

func (e *rankEntry) count() *int { return &e.N }

// artifactRankEntry is an artifact in the dangerous-artifact index.
type artifactRankEntry struct {
	Repository string        `json:"r"`
	Digest     digest.Digest `json:"d"`
	Counts     Counts        `json:"c"`
}
