package securityhub

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/internal/harborq"
	"github.com/berthreg/berth/scan"
)

// Query selects findings; zero fields select all. Every field given
// must match.
type Query struct {
	// CVE is a CVE id and Package a package name, exactly.
	CVE     string
	Package string
	// Severity is on Harbor's scale.
	Severity scan.Severity
	// Repository is a full repository name; Project a project's name, or
	// its id (accounts.Project.ID) in decimal.
	Repository string
	Project    string
	// Tag selects artifacts with that tag; Digest the artifact.
	Tag    string
	Digest digest.Digest
	// CVSS bounds the CVSS v3 score (findings without one never match).
	CVSS *Range
}

// Range is an inclusive range of CVSS scores.
type Range struct{ Min, Max float64 }

// QueryError is a query that cannot be answered, naming the q key at
// fault. It matches ErrInvalid.
type QueryError struct {
	// Key is the q key at fault ("" for the query's shape).
	Key     string
	Problem string
}

// Error is "q: key: problem".
func (e *QueryError) Error() string {
	if e.Key == "" {
		return "q: " + e.Problem
	}
	return "q: " + e.Key + ": " + e.Problem
}

// Is matches ErrInvalid.
func (e *QueryError) Is(target error) bool { return target == ErrInvalid }

// The q keys of Harbor's GET /security/vul.
const (
	KeyCVE        = "cve_id"
	KeyPackage    = "package"
	KeySeverity   = "severity"
	KeyRepository = "repository_name"
	KeyProject    = "project_id"
	KeyTag        = "tag"
	KeyDigest     = "digest"
	KeyCVSS       = "cvss_score_v3"
)

// ParseQuery reads Harbor's q of GET /security/vul: comma-separated
// key=value conditions on cve_id, package, severity, repository_name,
// project_id, tag and digest (exact values), and cvss_score_v3=[min~max]
// (either end may be empty) or cvss_score_v3=score. A key given twice,
// a fuzzy or set condition, a severity off Harbor's scale, a malformed
// digest or score is a *QueryError.
func ParseQuery(q string) (Query, error) {
	parsed, err := harborq.Parse(q, KeyCVE, KeyPackage, KeySeverity, KeyRepository, KeyProject, KeyTag, KeyDigest, KeyCVSS)
	if err != nil {
		return Query{}, &QueryError{Problem: strings.TrimPrefix(err.Error(), "q: ")}
	}
	var out Query
	seen := map[string]bool{}
	for _, c := range parsed.Conds() {
		if seen[c.Key] {
			return Query{}, &QueryError{Key: c.Key, Problem: "given twice"}
		}
		seen[c.Key] = true
		if c.Key == KeyCVSS {
			if out.CVSS, err = scoreRange(c); err != nil {
				return Query{}, err
			}
			continue
		}
		if c.Kind != harborq.Exact {
			return Query{}, &QueryError{Key: c.Key, Problem: "only exact values are searched (key=value)"}
		}
		if c.Value == "" {
			return Query{}, &QueryError{Key: c.Key, Problem: "empty"}
		}
		switch c.Key {
		case KeyCVE:
			out.CVE = c.Value
		case KeyPackage:
			out.Package = c.Value
		case KeySeverity:
			out.Severity = severity(scan.Severity(c.Value))
			if out.Severity == scan.SeverityUnknown && !strings.EqualFold(c.Value, string(scan.SeverityUnknown)) {
				return Query{}, &QueryError{Key: c.Key, Problem: fmt.Sprintf("%q is not Critical, High, Medium, Low, None, Negligible or Unknown", c.Value)}
			}
		case KeyRepository:
			out.Repository = c.Value
		case KeyProject:
			out.Project = c.Value
		case KeyTag:
			out.Tag = c.Value
		case KeyDigest:
			d, err := digest.Parse(c.Value)
			if err != nil {
				return Query{}, &QueryError{Key: c.Key, Problem: err.Error()}
			}
			out.Digest = d
		}
	}
	return out, nil
}

// scoreRange reads cvss_score_v3's condition.
func scoreRange(c harborq.Cond) (*Range, error) {
	lo, hi := c.Min, c.Max
	switch c.Kind {
	case harborq.Range:
	case harborq.Exact:
		lo, hi = c.Value, c.Value
	default:
		return nil, &QueryError{Key: c.Key, Problem: "a score range is [min~max]"}
	}
	r := &Range{Min: 0, Max: 10}
	for _, end := range []struct {
		s   string
		dst *float64
	}{{lo, &r.Min}, {hi, &r.Max}} {
		if end.s == "" {
			continue
		}
		f, err := strconv.ParseFloat(end.s, 64)
		if err != nil || math.IsNaN(f) || f < 0 || f > 10 {
			return nil, &QueryError{Key: c.Key, Problem: fmt.Sprintf("%q is not a score from 0 to 10", end.s)}
		}
		*end.dst = f
	}
	if r.Min > r.Max {
		return nil, &QueryError{Key: c.Key, Problem: "the range's minimum is above its maximum"}
	}
	return r, nil
}

// empty reports whether q selects every finding.
func (q Query) empty() bool { return q == Query{} }

// onlySeverity reports whether q selects by severity alone.
func (q Query) onlySeverity() bool { return q.Severity != "" && q == Query{Severity: q.Severity} }
