package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/scan"
)

// Triggers of a scan, as its job and events name them.
const (
	TriggerPush     = "push"
	TriggerManual   = "manual"
	TriggerSchedule = "schedule"
)

// scanAttempts is how many times a scan is tried before it fails.
const scanAttempts = 3

// payload is a scan job's input.
type payload struct {
	Repository string        `json:"repository"`
	Digest     digest.Digest `json:"digest"`
	// Scanner is the scanner asked for ("": the project's or the default).
	Scanner string `json:"scanner,omitempty"`
	Trigger string `json:"trigger"`
}

// Image config media types: the manifests whose configs have one of these
// are images, which scanners read.
var imageConfigTypes = []string{"application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"}

// Scannable reports whether m is an image a scanner reads: an image
// manifest with an image configuration, not a referrer (a signature, an
// SBOM, a report).
func Scannable(m meta.Manifest) bool {
	return (m.MediaType == scan.MimeOCIManifest || m.MediaType == scan.MimeDockerManifest) &&
		m.Subject == "" && slices.Contains(imageConfigTypes, m.Config.MediaType)
}

// Enqueue asks for a scan of repo@d with the scanner named ("": the
// project's choice or the default). It returns ErrNotScannable for an
// artifact no scanner reads and meta.ErrNotFound for one that does not
// exist; a scan already waiting or running is not asked for twice.
func (e *Engine) Enqueue(ctx context.Context, repo string, d digest.Digest, scanner, trigger string) error {
	err := e.store.Update(ctx, func(tx meta.Tx) error {
		_, err := e.EnqueueTx(tx, repo, d, scanner, trigger, time.Now().UTC())
		return err
	})
	if err == nil {
		e.notify()
	}
	return err
}

// EnqueueTx is Enqueue inside tx; queued is false when a scan of the
// artifact was already waiting or running, or, for a push, when the
// artifact has been scanned already (a new tag on a scanned image: only
// manual and scheduled scans run again).
func (e *Engine) EnqueueTx(tx meta.Tx, repo string, d digest.Digest, scanner, trigger string, now time.Time) (queued bool, err error) {
	m, err := tx.Manifests().Get(repo, d)
	if err != nil {
		return false, err
	}
	if !Scannable(m) {
		return false, fmt.Errorf("%w: %s@%s is %s", ErrNotScannable, repo, d, cmp.Or(m.ArtifactType, m.MediaType))
	}
	rec, err := Reports.In(tx).Get(ScanReportKey(repo, d))
	switch {
	case errors.Is(err, meta.ErrNotFound):
		rec = ScanReport{Repository: repo, Digest: d}
	case err != nil:
		return false, err
	case rec.Status == ScanPending || rec.Status == ScanRunning:
		if j, err := tx.Jobs().Get(rec.JobID); err == nil && j.State.Active() {
			return false, nil
		}
	case trigger == TriggerPush && rec.Status == ScanSuccess:
		return false, nil
	}
	j, err := jobs.EnqueueTx(tx, jobs.Spec{Kind: ScanKind, MaxAttempts: scanAttempts,
		Payload: payload{Repository: repo, Digest: d, Scanner: scanner, Trigger: trigger}}, now)
	if err != nil {
		return false, err
	}
	rec.Status, rec.JobID, rec.Message = ScanPending, j.ID, ""
	return true, Reports.In(tx).Put(rec)
}

// run is a scan job's attempt.
func (e *Engine) run(ctx context.Context, j meta.Job) error {
	var p payload
	if err := json.Unmarshal(j.Payload, &p); err != nil || p.Repository == "" || p.Digest == "" {
		return jobs.Permanent(fmt.Errorf("scan: bad job payload %q", j.Payload))
	}
	err := e.scan(ctx, j, p)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return err // shutting down or canceled: the queue decides
	case errors.Is(err, meta.ErrNotFound):
		// The artifact went while it waited: nothing to scan, nothing to keep.
		_ = e.store.Update(context.WithoutCancel(ctx), func(tx meta.Tx) error {
			if derr := Reports.In(tx).Delete(ScanReportKey(p.Repository, p.Digest)); derr != nil && !errors.Is(derr, meta.ErrNotFound) {
				return derr
			}
			return nil
		})
		return nil
	}
	permanent := errors.Is(err, scan.ErrInvalid) || errors.Is(err, scan.ErrUnsupported) ||
		errors.Is(err, ErrUnknownScanner) || errors.Is(err, ErrNotScannable)
	final := permanent || j.Attempts >= max(j.MaxAttempts, 1)
	uerr := e.store.Update(context.WithoutCancel(ctx), func(tx meta.Tx) error {
		return e.failedTx(tx, j, p, err, final)
	})
	if uerr != nil {
		e.log().Warn("scan: recording a failure", "repository", p.Repository, "digest", p.Digest, "err", uerr)
	}
	if permanent {
		return jobs.Permanent(err)
	}
	return err
}

// failedTx records a failed attempt: the last one makes the scan Error
// and appends a SCANNING_FAILED event.
func (e *Engine) failedTx(tx meta.Tx, j meta.Job, p payload, cause error, final bool) error {
	rec, err := Reports.In(tx).Get(ScanReportKey(p.Repository, p.Digest))
	if err != nil {
		return err
	}
	if rec.JobID != j.ID {
		return nil // a newer scan took over
	}
	if !final {
		rec.Status, rec.Message = ScanPending, fmt.Sprintf("attempt %d of %d failed, retrying: %v", j.Attempts, max(j.MaxAttempts, 1), cause)
		return Reports.In(tx).Put(rec)
	}
	rec.Status, rec.Message, rec.EndTime = ScanError, cause.Error(), time.Now().UTC()
	if err := Reports.In(tx).Put(rec); err != nil {
		return err
	}
	return appendEvent(tx, events.ScanningFailed, rec, p.Trigger)
}

// scan runs one attempt: ask the scanner, wait for its reports, store
// them as referrers, record the summary.
func (e *Engine) scan(ctx context.Context, j meta.Job, p payload) error {
	var (
		m       meta.Manifest
		tags    []string
		name    string
		started = time.Now().UTC()
	)
	err := e.store.Update(ctx, func(tx meta.Tx) error {
		var err error
		if m, err = tx.Manifests().Get(p.Repository, p.Digest); err != nil {
			return err
		}
		if !Scannable(m) {
			return fmt.Errorf("%w: %s@%s", ErrNotScannable, p.Repository, p.Digest)
		}
		if tags, err = tx.Tags().Of(p.Repository, p.Digest); err != nil {
			return err
		}
		if name, err = e.scannerFor(tx, events.ProjectOf(p.Repository), p.Scanner); err != nil {
			return err
		}
		rec, err := Reports.In(tx).Get(ScanReportKey(p.Repository, p.Digest))
		if errors.Is(err, meta.ErrNotFound) {
			rec, err = ScanReport{Repository: p.Repository, Digest: p.Digest}, nil
		}
		if err != nil {
			return err
		}
		rec.Status, rec.JobID, rec.Scanner, rec.StartTime, rec.Message = ScanRunning, j.ID, name, started, ""
		return Reports.In(tx).Put(rec)
	})
	if err != nil {
		return err
	}
	if name == "" {
		return fmt.Errorf("%w: none is configured", ErrUnknownScanner)
	}
	r, err := e.resolve(ctx, name)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	md, err := r.scanner.Metadata(ctx)
	if err != nil {
		return fmt.Errorf("scanner %s: metadata: %w", name, err)
	}
	req, sbomType := request(md, r.registry, p, m, tags)
	if len(req.EnabledCapabilities) == 0 {
		return fmt.Errorf("%w: scanner %s makes neither vulnerability reports nor SBOMs", scan.ErrUnsupported, name)
	}
	if e.credentials != nil {
		if req.Registry.Authorization, err = e.credentials(ctx, name, p.Repository); err != nil {
			return fmt.Errorf("scan: credentials for %s: %w", name, err)
		}
	}
	id, err := r.scanner.Scan(ctx, req)
	if err != nil {
		return fmt.Errorf("scanner %s: %w", name, err)
	}
	out := result{info: md.Scanner}
	if md.Produces(scan.MimeVulnReport) {
		b, err := scan.Wait(ctx, r.scanner, id, scan.MimeVulnReport, "")
		if err != nil {
			return fmt.Errorf("scanner %s: vulnerability report: %w", name, err)
		}
		if err := json.Unmarshal(b, &out.report); err != nil {
			return fmt.Errorf("scanner %s: vulnerability report: %w", name, err)
		}
		out.hasReport, out.reportJSON = true, b
	}
	if sbomType != "" {
		b, err := scan.Wait(ctx, r.scanner, id, scan.MimeSBOMReport, sbomType)
		if err != nil {
			return fmt.Errorf("scanner %s: SBOM: %w", name, err)
		}
		var rep scan.SBOMReport
		if err := json.Unmarshal(b, &rep); err != nil || rep.SBOM == nil {
			return fmt.Errorf("scanner %s: SBOM report without an sbom (%v)", name, err)
		}
		if out.sbom, err = json.Marshal(rep.SBOM); err != nil {
			return err
		}
		out.sbomType = cmp.Or(rep.MediaType, sbomType)
	}
	return e.record(ctx, j, p, m, out)
}

// request is what the scanner is asked: the reports its metadata
// promises (an SBOM in SPDX when it offers it, else its first format).
func request(md scan.Metadata, registry string, p payload, m meta.Manifest, tags []string) (scan.Request, string) {
	req := scan.Request{Registry: scan.Registry{URL: registry},
		Artifact: scan.Artifact{Repository: p.Repository, Digest: p.Digest.String(), MimeType: m.MediaType}}
	if len(tags) > 0 {
		req.Artifact.Tag = tags[0]
	}
	if md.Produces(scan.MimeVulnReport) {
		req.EnabledCapabilities = append(req.EnabledCapabilities, scan.EnabledCapability{Type: scan.CapabilityVulnerability,
			ProducesMimeTypes: []string{scan.MimeVulnReport}})
	}
	sbomType := ""
	for _, c := range md.Capabilities {
		if c.Type != scan.CapabilitySBOM || !slices.Contains(c.ProducesMimeTypes, scan.MimeSBOMReport) {
			continue
		}
		formats := c.AdditionalAttributes["sbom_media_types"]
		switch {
		case slices.Contains(formats, scan.MimeSPDX):
			sbomType = scan.MimeSPDX
		case len(formats) > 0:
			sbomType = formats[0]
		}
	}
	if sbomType != "" {
		ec := scan.EnabledCapability{Type: scan.CapabilitySBOM, ProducesMimeTypes: []string{scan.MimeSBOMReport}}
		ec.Parameters = &struct {
			SBOMMediaTypes []string `json:"sbom_media_types,omitempty"`
		}{SBOMMediaTypes: []string{sbomType}}
		req.EnabledCapabilities = append(req.EnabledCapabilities, ec)
	}
	return req, sbomType
}
