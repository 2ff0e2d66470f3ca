package api

import (
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/scan/securityhub"
)

// WithSecurityHub serves the security hub (GET /security/summary and
// /security/vul) from hub (default: one over New's store).
func WithSecurityHub(hub *securityhub.Hub) Option { return func(h *Handler) { h.securityHub = hub } }

// securityHubRoutes registers Harbor's security hub, for system
// administrators.
func (h *Handler) securityHubRoutes() {
	h.route("GET /security/summary", h.securitySummary)
	h.route("GET /security/vul", h.securityVulnerabilities)
}

// securitySummaryJSON is Harbor's SecuritySummary, with Berth's
// vulnerable_cnt (artifacts with a finding).
type securitySummaryJSON struct {
	CriticalCnt        int64                   `json:"critical_cnt"`
	HighCnt            int64                   `json:"high_cnt"`
	MediumCnt          int64                   `json:"medium_cnt"`
	LowCnt             int64                   `json:"low_cnt"`
	NoneCnt            int64                   `json:"none_cnt"`
	UnknownCnt         int64                   `json:"unknown_cnt"`
	TotalVuls          int64                   `json:"total_vuls"`
	ScannedCnt         int64                   `json:"scanned_cnt"`
	TotalArtifact      int64                   `json:"total_artifact"`
	FixableCnt         int64                   `json:"fixable_cnt"`
	VulnerableCnt      int64                   `json:"vulnerable_cnt"`
	DangerousCVEs      []dangerousCVEJSON      `json:"dangerous_cves"`
	DangerousArtifacts []dangerousArtifactJSON `json:"dangerous_artifacts"`
}

// dangerousCVEJSON is Harbor's DangerousCVE, with Berth's artifact_cnt.
type dangerousCVEJSON struct {
	CVEID       string   `json:"cve_id"`
	Severity    string   `json:"severity"`
	CVSSScoreV3 *float64 `json:"cvss_score_v3,omitempty"`
	Desc        string   `json:"desc"`
	Package     string   `json:"package"`
	Version     string   `json:"version"`
	ArtifactCnt int      `json:"artifact_cnt"`
}

// dangerousArtifactJSON is Harbor's DangerousArtifact.
type dangerousArtifactJSON struct {
	ProjectID      uint64 `json:"project_id"`
	RepositoryName string `json:"repository_name"`
	Digest         string `json:"digest"`
	CriticalCnt    int64  `json:"critical_cnt"`
	HighCnt        int64  `json:"high_cnt"`
	MediumCnt      int64  `json:"medium_cnt"`
}

// vulnerabilityItemJSON is Harbor's VulnerabilityItem.
type vulnerabilityItemJSON struct {
	ProjectID      uint64   `json:"project_id"`
	RepositoryName string   `json:"repository_name"`
	Digest         string   `json:"digest"`
	Tags           []string `json:"tags"`
	CVEID          string   `json:"cve_id"`
	Severity       string   `json:"severity"`
	CVSSV3Score    *float64 `json:"cvss_v3_score,omitempty"`
	Package        string   `json:"package"`
	Version        string   `json:"version"`
	FixedVersion   string   `json:"fixed_version"`
	Desc           string   `json:"desc"`
	Links          []string `json:"links"`
}

// adminHub refuses everyone but system administrators (as Harbor's
// security hub does), and returns the hub (501 without one).
func (h *Handler) adminHub(p auth.Principal) (*securityhub.Hub, error) {
	if err := adminOnly(p); err != nil {
		return nil, err
	}
	if h.securityHub == nil {
		return nil, &apiError{status: http.StatusNotImplemented, code: "NOT_IMPLEMENTED", msg: "this server keeps no security hub"}
	}
	return h.securityHub, nil
}

// boolParam reads the query parameter key as a boolean (false when
// absent).
func boolParam(r *http.Request, key string) (bool, error) {
	v := r.URL.Query().Get(key)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badRequest("%s: %q is not true or false", key, v)
	}
	return b, nil
}

// cvssScore is a CVSS score for Harbor's JSON (nil: none).
func cvssScore(f float64) *float64 {
	if f <= 0 {
		return nil
	}
	return &f
}

// securitySummary is GET /security/summary?with_dangerous_cve=&with_dangerous_artifact=.
func (h *Handler) securitySummary(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	hub, err := h.adminHub(p)
	if err != nil {
		return err
	}
	var o securityhub.SummaryOptions
	if o.DangerousCVEs, err = boolParam(r, "with_dangerous_cve"); err != nil {
		return err
	}
	if o.DangerousArtifacts, err = boolParam(r, "with_dangerous_artifact"); err != nil {
		return err
	}
	s, err := hub.Summary(r.Context(), o)
	if err != nil {
		return err
	}
	out := securitySummaryJSON{CriticalCnt: s.Critical, HighCnt: s.High, MediumCnt: s.Medium, LowCnt: s.Low, NoneCnt: s.None,
		UnknownCnt: s.Unknown, TotalVuls: s.Total(), ScannedCnt: s.Scanned, TotalArtifact: s.Artifacts, FixableCnt: s.Fixable,
		VulnerableCnt: s.Vulnerable}
	if o.DangerousCVEs {
		out.DangerousCVEs = []dangerousCVEJSON{}
		for _, c := range s.DangerousCVEs {
			out.DangerousCVEs = append(out.DangerousCVEs, dangerousCVEJSON{CVEID: c.CVE, Severity: string(c.Severity), CVSSScoreV3: cvssScore(c.CVSS3),
				Desc: c.Description, Package: c.Package, Version: c.Version, ArtifactCnt: c.Artifacts})
		}
	}
	if o.DangerousArtifacts {
		out.DangerousArtifacts = []dangerousArtifactJSON{}
		for _, a := range s.DangerousArtifacts {
			out.DangerousArtifacts = append(out.DangerousArtifacts, dangerousArtifactJSON{ProjectID: a.ProjectID, RepositoryName: a.Repository,
				Digest: a.Digest.String(), CriticalCnt: a.Critical, HighCnt: a.High, MediumCnt: a.Medium})
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// securityVulnerabilities is GET /security/vul?q=&page=&page_size=&tune_count=:
// a page of the registry's findings, X-Total-Count -1 when they were
// too many to count (tune_count past 1000; see securityhub.MaxExamined).
func (h *Handler) securityVulnerabilities(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	hub, err := h.adminHub(p)
	if err != nil {
		return err
	}
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	q, err := securityhub.ParseQuery(r.URL.Query().Get("q"))
	if err != nil {
		return hubError(err)
	}
	tune, err := boolParam(r, "tune_count")
	if err != nil {
		return err
	}
	offset := math.MaxInt
	if pg.num-1 <= math.MaxInt/pg.size {
		offset = (pg.num - 1) * pg.size
	}
	items, total, err := hub.Vulnerabilities(r.Context(), q, securityhub.Page{Offset: offset, Limit: pg.size, TuneCount: tune})
	if err != nil {
		return hubError(err)
	}
	out := make([]vulnerabilityItemJSON, 0, len(items))
	for _, it := range items {
		out = append(out, vulnerabilityItemJSON{ProjectID: it.ProjectID, RepositoryName: it.Repository, Digest: it.Digest.String(),
			Tags: append([]string{}, it.Tags...), CVEID: it.CVE, Severity: string(it.Severity), CVSSV3Score: cvssScore(it.CVSS3),
			Package: it.Package, Version: it.Version, FixedVersion: it.FixVersion, Desc: it.Description, Links: append([]string{}, it.Links...)})
	}
	if total < 0 {
		// Unknown: the links offer a next page while this one is full.
		known := (pg.num-1)*pg.size + len(items)
		if len(items) == pg.size {
			known++
		}
		pg.setHeaders(w, r, known)
		w.Header().Set("X-Total-Count", "-1")
	} else {
		pg.setHeaders(w, r, total)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// hubError maps the hub's refusals: a bad query is 400.
func hubError(err error) error {
	if errors.Is(err, securityhub.ErrInvalid) {
		return badRequest("%s", err.Error())
	}
	return err
}
