package securityhub

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/scan"
)

// Bounds on what the hub keeps of a vulnerability (longer values are
// cut): they keep index keys short and records small.
const (
	maxIDLen      = 128
	maxPackageLen = 256
	maxVersionLen = 128
	maxVectorLen  = 160
	maxCWEs       = 8
	maxCWELen     = 32
	maxDescLen    = 1024
	maxLinks      = 5
	maxLinkLen    = 512
)

// Scan is a scan's outcome as Record takes it: the artifact, the
// scanner, and the vulnerabilities of its report.
type Scan struct {
	Repository string
	Digest     digest.Digest
	// Scanner names the scanner; ScannedAt is when the scan ended.
	Scanner   string
	ScannedAt time.Time
	// Vulnerabilities are the report's (scan.VulnerabilityReport's).
	Vulnerabilities []scan.Vulnerability
}

// artifactOf is what the hub keeps of s: its findings, one per CVE,
// package and version (the most dangerous when the report repeats one),
// in key order; and the CVEs' descriptions and links.
func artifactOf(s Scan) (Artifact, map[string]CVEInfo) {
	a := Artifact{Repository: s.Repository, Digest: s.Digest, Scanner: clip(s.Scanner, maxPackageLen), ScannedAt: s.ScannedAt.UTC()}
	info := map[string]CVEInfo{}
	for _, v := range s.Vulnerabilities {
		id := clip(strings.TrimSpace(v.ID), maxIDLen)
		if id == "" {
			continue
		}
		f := Finding{CVE: id, Package: clip(v.Package, maxPackageLen), Version: clip(v.Version, maxVersionLen),
			FixVersion: clip(v.FixVersion, maxVersionLen), Severity: severity(v.Severity)}
		if c := v.PreferredCVSS; c != nil && tenths(c.ScoreV3) > 0 {
			f.CVSS3, f.Vector3 = float64(tenths(c.ScoreV3))/10, clip(c.VectorV3, maxVectorLen)
		}
		for _, w := range v.CWEIDs {
			if len(f.CWEs) < maxCWEs && w != "" {
				f.CWEs = append(f.CWEs, clip(w, maxCWELen))
			}
		}
		a.Findings = append(a.Findings, f)
		if _, seen := info[id]; !seen && (v.Description != "" || len(v.Links) > 0) {
			ci := CVEInfo{Description: clip(v.Description, maxDescLen)}
			for _, l := range v.Links {
				if len(ci.Links) < maxLinks && l != "" {
					ci.Links = append(ci.Links, clip(l, maxLinkLen))
				}
			}
			info[id] = ci
		}
	}
	// By key, the most dangerous first: Compact keeps that one.
	slices.SortFunc(a.Findings, func(x, y Finding) int {
		return cmp.Or(strings.Compare(x.CVE, y.CVE), strings.Compare(x.Package, y.Package),
			strings.Compare(x.Version, y.Version), strings.Compare(rankOf(x), rankOf(y)))
	})
	a.Findings = slices.CompactFunc(a.Findings, func(x, y Finding) bool {
		return x.CVE == y.CVE && x.Package == y.Package && x.Version == y.Version
	})
	return a, info
}
