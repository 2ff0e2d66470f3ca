package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/naming"
	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/securityhub"
)

// result is what a scan brought back.
type result struct {
	info       scan.Info
	hasReport  bool
	report     scan.VulnerabilityReport
	reportJSON []byte
	sbom       []byte
	sbomType   string
}

// record pushes the reports as referrers of the artifact, records the
// summary with a SCANNING_COMPLETED event, and removes the referrers of
// the scan before.
func (e *Engine) record(ctx context.Context, p payload, m meta.Manifest, out result) error {
	now := time.Now().UTC()
	made, err := e.pushReports(ctx, p.Repository, m, out, now)
	if err != nil {
		return err
	}
	var stale []digest.Digest
	err = e.store.Update(ctx, func(tx meta.Tx) error {
		rec, err := Reports.In(tx).Get(ScanReportKey(p.Repository, p.Digest))
		if err != nil {
			return err
		}
		rec, stale = succeeded(rec, out, made, now)
		if err := Reports.In(tx).Put(rec); err != nil {
			return err
		}
		if err := keepInHub(tx, p, out, now); err != nil {
			return err
		}
		return appendEvent(tx, events.ScanningCompleted, rec, p.Trigger)
	})
	if err != nil {
		return err
	}
	for _, d := range stale {
		if err := e.deleteReferrer(ctx, p.Repository, d); err != nil {
			e.log().Warn("scan: removing an earlier report", "repository", p.Repository, "digest", d, "err", err)
		}
	}
	return nil
}

// keepInHub makes the scan the artifact's contribution to the security
// hub (none without a vulnerability report).
func keepInHub(tx meta.Tx, p payload, out result, now time.Time) error {
	if !out.hasReport {
		return securityhub.Forget(tx, p.Repository, p.Digest)
	}
	return securityhub.Record(tx, securityhub.Scan{Repository: p.Repository, Digest: p.Digest, Scanner: out.info.Name,
		ScannedAt: now, Vulnerabilities: out.report.Vulnerabilities})
}

// referrers are the digests of the referrers a scan stored ("" for a
// report it did not make).
type referrers struct{ report, sbom digest.Digest }

// pushReports stores the reports of out as referrers of m in repo.
func (e *Engine) pushReports(ctx context.Context, repo string, m meta.Manifest, out result, created time.Time) (referrers, error) {
	subject := meta.Descriptor{MediaType: m.MediaType, Digest: m.Digest, Size: m.Size}
	var made referrers
	var err error
	if out.hasReport {
		if made.report, err = e.pushReferrer(ctx, repo, subject, ArtifactTypeVulnReport, scan.MimeVulnReport, out.reportJSON, out.info, created); err != nil {
			return made, fmt.Errorf("scan: storing the vulnerability report: %w", err)
		}
	}
	if out.sbom != nil {
		if made.sbom, err = e.pushReferrer(ctx, repo, subject, ArtifactTypeSBOM, out.sbomType, out.sbom, out.info, created); err != nil {
			return made, fmt.Errorf("scan: storing the SBOM: %w", err)
		}
	}
	return made, nil
}

// succeeded is rec after a scan that brought back out, stored as made,
// finished at now; stale are the referrers of the scan before, which
// the new ones replace.
func succeeded(rec ScanReport, out result, made referrers, now time.Time) (_ ScanReport, stale []digest.Digest) {
	for _, old := range []digest.Digest{rec.Report, rec.SBOM} {
		if old != "" && old != made.report && old != made.sbom {
			stale = append(stale, old)
		}
	}
	rec.Status, rec.Message, rec.EndTime, rec.ScannedAt = ScanSuccess, "", now, now
	rec.ScannerName, rec.ScannerVendor, rec.ScannerVersion = out.info.Name, out.info.Vendor, out.info.Version
	rec.Report, rec.SBOM = made.report, made.sbom
	summarize(&rec, out.report.Vulnerabilities)
	return rec, stale
}

// summarize fills a record's severity, counts and findings.
func summarize(rec *ScanReport, vs []scan.Vulnerability) {
	rec.Counts, rec.Fixable, rec.Findings = map[string]int{}, 0, nil
	for _, v := range vs {
		sev := v.Severity
		if !sev.Valid() {
			sev = scan.SeverityUnknown
		}
		rec.Counts[string(sev)]++
		if v.FixVersion != "" {
			rec.Fixable++
		}
		rec.Findings = append(rec.Findings, ScanFinding{ID: v.ID, Severity: string(sev)})
	}
	// By id, the highest severity first: Compact keeps that one.
	slices.SortFunc(rec.Findings, func(a, b ScanFinding) int {
		return cmp.Or(strings.Compare(a.ID, b.ID), scan.Severity(b.Severity).Rank()-scan.Severity(a.Severity).Rank())
	})
	rec.Findings = slices.CompactFunc(rec.Findings, func(a, b ScanFinding) bool { return a.ID == b.ID })
	rec.Severity = string(scan.Highest(vs))
	if len(vs) == 0 {
		rec.Severity = "None"
	}
}

// Overview is Harbor's scan overview of a record.
func Overview(rec ScanReport) scan.Overview {
	o := scan.Overview{ReportID: rec.Report.String(), ScanStatus: string(rec.Status), StartTime: rec.StartTime, EndTime: rec.EndTime}
	if rec.Status == ScanSuccess || rec.Status == ScanError {
		o.CompletePercent = 100
	}
	if !rec.EndTime.IsZero() && !rec.StartTime.IsZero() {
		o.Duration = int64(rec.EndTime.Sub(rec.StartTime).Seconds())
	}
	if rec.ScannerName != "" {
		o.Scanner = &scan.Info{Name: rec.ScannerName, Vendor: rec.ScannerVendor, Version: rec.ScannerVersion}
	}
	if !rec.ScannedAt.IsZero() {
		o.Severity = scan.Severity(rec.Severity)
		c := &scan.OverviewCounts{Fixable: rec.Fixable, Summary: map[scan.Severity]int{}}
		for sev, n := range rec.Counts {
			c.Summary[scan.Severity(sev)] = n
			c.Total += n
		}
		o.Summary = c
	}
	return o
}

// appendEvent appends a scanning event about rec.
func appendEvent(tx meta.Tx, typ string, rec ScanReport, trigger string) error {
	m, err := tx.Manifests().Get(rec.Repository, rec.Digest)
	if err != nil && !errors.Is(err, meta.ErrNotFound) {
		return err
	}
	tags, err := tx.Tags().Of(rec.Repository, rec.Digest)
	if err != nil && !errors.Is(err, meta.ErrNotFound) {
		return err
	}
	overview, err := json.Marshal(map[string]scan.Overview{scan.MimeVulnReport: Overview(rec)})
	if err != nil {
		return err
	}
	ev := meta.Event{Type: typ, Project: naming.ProjectOf(rec.Repository), Repository: rec.Repository,
		Digest: rec.Digest.String(), MediaType: m.MediaType, Result: "success",
		Details: map[string]string{"scanner": rec.Scanner, "trigger": trigger, "scan_status": string(rec.Status),
			"scan_overview": string(overview)}}
	if typ == events.ScanningFailed {
		ev.Result, ev.Details["message"] = "failure", rec.Message
	} else {
		ev.Details["severity"] = rec.Severity
		ev.Details["total"] = strconv.Itoa(len(rec.Findings))
		ev.Details["fixable"] = strconv.Itoa(rec.Fixable)
	}
	if len(tags) > 0 {
		ev.Tag = tags[0]
		if len(tags) > 1 {
			ev.Details["tags"] = strings.Join(tags, ",")
		}
	}
	_, err = tx.Events().Append(ev)
	return err
}
