package securityhub

import (
	"fmt"
	"hash/fnv"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/scan"
)

// shards is how many parts each counter is kept in.
const shards = 16

// sep separates the parts of an index key; esc keeps it out of them, so
// that a part's prefix ("CVE-1 ") never matches another's ("CVE-12 ").
const sep = " "

// esc percent-encodes the bytes of s that would break a key: control
// characters, the space (sep) and '%' itself, and DEL.
func esc(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == '%' || r == 0x7f }) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == '%' || c == 0x7f {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// artifactKey is the key of repo@d's records.
func artifactKey(repo string, d digest.Digest) string { return esc(repo) + "@" + esc(d.String()) }

// shardOf is the counter shard repo@d adds to.
func shardOf(repo string, d digest.Digest) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(repo + "@" + d.String()))
	return fmt.Sprintf("%02d", h.Sum32()%shards)
}

// shardNames are the shards' key parts, in order.
var shardNames = func() []string {
	out := make([]string, shards)
	for i := range out {
		out[i] = fmt.Sprintf("%02d", i)
	}
	return out
}()

// severity maps a scanner's severity to Harbor's scale (Unknown when it
// is not on it; "None" is Negligible).
func severity(s scan.Severity) scan.Severity {
	if s.Valid() {
		return s
	}
	if strings.EqualFold(string(s), "none") {
		return scan.SeverityNegligible
	}
	for _, v := range []scan.Severity{scan.SeverityCritical, scan.SeverityHigh, scan.SeverityMedium, scan.SeverityLow,
		scan.SeverityNegligible, scan.SeverityUnknown} {
		if strings.EqualFold(string(s), string(v)) {
			return v
		}
	}
	return scan.SeverityUnknown
}

// sevKey orders severities, the highest first: "0" Critical … "5"
// Unknown.
func sevKey(s scan.Severity) string { return string(rune('0' + 5 - s.Rank())) }

// tenths is a CVSS score in tenths (0..100); 0 is no score.
func tenths(score float64) int {
	if !(score > 0) || math.IsInf(score, 0) {
		return 0
	}
	return int(math.Round(min(score, 10) * 10))
}

// scoreKey orders CVSS scores, the highest first; no score sorts last.
func scoreKey(score float64) string {
	t := tenths(score)
	if t == 0 {
		return "999"
	}
	return fmt.Sprintf("%03d", 100-t)
}

// rankOf is where a finding stands among the most dangerous: by CVSS v3
// score, then severity (the smallest key is the most dangerous).
func rankOf(f Finding) string { return scoreKey(f.CVSS3) + sevKey(f.Severity) }

// clip returns s as valid UTF-8 of at most n bytes, cut at a character.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// The index keys of a finding of repo@d.
func cveKey(repo string, d digest.Digest, f Finding) string {
	return esc(f.CVE) + sep + artifactKey(repo, d) + sep + esc(f.Package) + sep + esc(f.Version)
}

func packageKey(repo string, d digest.Digest, f Finding) string {
	return esc(f.Package) + sep + esc(f.CVE) + sep + artifactKey(repo, d) + sep + esc(f.Version)
}

func severityKey(repo string, d digest.Digest, f Finding) string {
	return sevKey(f.Severity) + scoreKey(f.CVSS3) + sep + esc(f.CVE) + sep + artifactKey(repo, d) + sep +
		esc(f.Package) + sep + esc(f.Version)
}

// countKey is the key of a CVE's artifact counter in shard.
func countKey(cve, shard string) string { return esc(cve) + sep + shard }

// cveRankKey is the key of a CVE's entry in the dangerous-CVE index.
func cveRankKey(f Finding, shard string) string { return rankOf(f) + sep + esc(f.CVE) + sep + shard }

// artifactRankKey is the key of an artifact in the dangerous-artifact
// index: its critical, high, medium and low counts, highest first.
func artifactRankKey(repo string, d digest.Digest, c Counts) string {
	inv := func(n int64) string { return fmt.Sprintf("%010d", max(0, 9999999999-n)) }
	return inv(c.Critical) + inv(c.High) + inv(c.Medium) + inv(c.Low) + sep + artifactKey(repo, d)
}
