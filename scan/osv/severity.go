package osv

import (
	"math"
	"strings"

	gocvss20 "github.com/pandatix/go-cvss/20"
	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"

	"github.com/berthreg/berth/scan"
)

// Severity is one entry of an OSV record's severity list.
type Severity struct {
	// Type is CVSS_V2, CVSS_V3, CVSS_V4 or a distribution's own scale
	// ("Ubuntu", whose score is a word).
	Type string `json:"type"`
	// Score is the vector ("CVSS:3.1/AV:N/…") or the word.
	Score string `json:"score"`
}

// assessment is what a record says about one affected package's
// severity: the word on Harbor's scale, the CVSS scores and vectors the
// record carries, and where the word came from.
type assessment struct {
	severity scan.Severity
	cvss     *scan.CVSS
	v4Score  float64
	v4Vector string
	source   string // "record", "distribution", "cvss_v3", "cvss_v4", "cvss_v2" or ""
}

// assess rates an affected package, in this order:
//
//  1. a severity word the record states (ecosystem_specific.severity,
//     database_specific.severity — GitHub's and several distributions'
//     records);
//  2. the distribution's own rating: Debian's urgency
//     (ecosystem_specific.urgency: unimportant, low, medium, high; "not
//     yet assigned" is no rating) or a severity entry of a distribution
//     type (Ubuntu's "low", "medium", …);
//  3. the CVSS base score computed from the record's vectors — the
//     affected package's own severity list first, then the record's —
//     preferring v3.x, then v4.0, then v2.0: ≥9 Critical, ≥7 High, ≥4
//     Medium, >0 Low, 0 Negligible (v2 has no Critical: ≥7 High);
//  4. Unknown.
//
// The scores found are returned whichever step decided.
func (a Advisory) assess(af Affected) assessment {
	var out assessment
	entries := append(append([]Severity(nil), af.Severity...), a.Severity...)
	var v3, v2 float64
	v3ok, v2ok, v4ok := false, false, false
	word := ""
	for _, e := range entries {
		vector := strings.TrimSpace(e.Score)
		switch strings.ToUpper(e.Type) {
		case "CVSS_V3":
			if s, ok := scoreV3(vector); ok && !v3ok {
				v3, v3ok = s, true
				out.cvss = withCVSS(out.cvss)
				out.cvss.ScoreV3, out.cvss.VectorV3 = s, vector
			}
		case "CVSS_V2":
			if s, ok := scoreV2(vector); ok && !v2ok {
				v2, v2ok = s, true
				out.cvss = withCVSS(out.cvss)
				out.cvss.ScoreV2, out.cvss.VectorV2 = s, vector
			}
		case "CVSS_V4":
			if s, ok := scoreV4(vector); ok && !v4ok {
				out.v4Score, out.v4Vector, v4ok = s, vector, true
			}
		default: // a distribution's scale, e.g. "Ubuntu": the score is a word
			if word == "" && severityOf(vector) != scan.SeverityUnknown {
				word = vector
			}
		}
	}
	switch {
	case severityOf(a.severity(af)) != scan.SeverityUnknown:
		out.severity, out.source = severityOf(a.severity(af)), "record"
	case severityOf(urgency(af)) != scan.SeverityUnknown:
		out.severity, out.source = severityOf(urgency(af)), "distribution"
	case word != "":
		out.severity, out.source = severityOf(word), "distribution"
	case v3ok:
		out.severity, out.source = ratingV3(v3), "cvss_v3"
	case v4ok:
		out.severity, out.source = ratingV3(out.v4Score), "cvss_v4"
	case v2ok:
		out.severity, out.source = ratingV2(v2), "cvss_v2"
	default:
		out.severity = scan.SeverityUnknown
	}
	return out
}

func withCVSS(c *scan.CVSS) *scan.CVSS {
	if c == nil {
		return &scan.CVSS{}
	}
	return c
}

// urgency is Debian's rating of the affected package, as the security
// tracker states it ("low", "medium**" — the asterisks mark a rating
// not yet reviewed), or "".
func urgency(af Affected) string {
	for _, m := range []map[string]any{af.EcosystemSpecific, af.DatabaseSpecific} {
		if s, ok := m["urgency"].(string); ok && s != "" {
			return strings.TrimRight(strings.TrimSpace(s), "*")
		}
	}
	return ""
}

// scoreV3 is the base score of a CVSS v3.0 or v3.1 vector.
func scoreV3(vector string) (float64, bool) {
	switch {
	case strings.HasPrefix(vector, "CVSS:3.1/"):
		c, err := gocvss31.ParseVector(vector)
		if err != nil {
			return 0, false
		}
		return finite(c.BaseScore())
	case strings.HasPrefix(vector, "CVSS:3.0/"):
		c, err := gocvss30.ParseVector(vector)
		if err != nil {
			return 0, false
		}
		return finite(c.BaseScore())
	}
	return 0, false
}

// scoreV4 is the score of a CVSS v4.0 vector.
func scoreV4(vector string) (float64, bool) {
	if !strings.HasPrefix(vector, "CVSS:4.0/") {
		return 0, false
	}
	c, err := gocvss40.ParseVector(vector)
	if err != nil {
		return 0, false
	}
	return finite(c.Score())
}

// scoreV2 is the base score of a CVSS v2.0 vector ("AV:N/AC:L/Au:N/…",
// with or without the parentheses some databases add).
func scoreV2(vector string) (float64, bool) {
	vector = strings.TrimSuffix(strings.TrimPrefix(vector, "("), ")")
	c, err := gocvss20.ParseVector(vector)
	if err != nil {
		return 0, false
	}
	return finite(c.BaseScore())
}

func finite(s float64) (float64, bool) {
	if math.IsNaN(s) || s < 0 || s > 10 {
		return 0, false
	}
	return s, true
}

// ratingV3 maps a CVSS v3/v4 score to Harbor's scale (the qualitative
// ratings of the CVSS specification, None being Negligible).
func ratingV3(s float64) scan.Severity {
	switch {
	case s >= 9:
		return scan.SeverityCritical
	case s >= 7:
		return scan.SeverityHigh
	case s >= 4:
		return scan.SeverityMedium
	case s > 0:
		return scan.SeverityLow
	}
	return scan.SeverityNegligible
}

// ratingV2 maps a CVSS v2 score to Harbor's scale (NVD's v2 ratings:
// Low, Medium, High; the v3 bands, with no Critical).
func ratingV2(s float64) scan.Severity {
	if r := ratingV3(s); r != scan.SeverityCritical {
		return r
	}
	return scan.SeverityHigh
}

// severityOf maps a record's severity word to Harbor's scale.
func severityOf(s string) scan.Severity {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "CRITICAL":
		return scan.SeverityCritical
	case "HIGH", "IMPORTANT":
		return scan.SeverityHigh
	case "MEDIUM", "MODERATE":
		return scan.SeverityMedium
	case "LOW":
		return scan.SeverityLow
	case "NEGLIGIBLE", "UNIMPORTANT":
		return scan.SeverityNegligible
	}
	return scan.SeverityUnknown
}
