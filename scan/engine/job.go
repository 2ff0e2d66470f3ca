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
	"github.com/berthreg/berth/registry/naming"
	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/securityhub"
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

// run is a scan job's attempt: the scan, then what its outcome means
// for the job and the artifact's record (see judge).
func (e *Engine) run(ctx context.Context, j meta.Job) error {
	var p payload
	if err := json.Unmarshal(j.Payload, &p); err != nil || p.Repository == "" || p.Digest == "" {
		return jobs.Permanent(fmt.Errorf("scan: bad job payload %q", j.Payload))
	}
	began := time.Now()
	err := e.scan(ctx, j, p)
	v := judge(err, ctx.Err() != nil, j.Attempts, j.MaxAttempts)
	if e.observe != nil {
		defer func() { e.observe(ScanAttempt{Result: v.observed(), Took: time.Since(began)}) }()
	}
	switch v.outcome {
	case outcomeDone:
		return nil
	case outcomeInterrupted:
		return err // shutting down or canceled: the queue decides
	case outcomeGone:
		e.forget(context.WithoutCancel(ctx), p)
		return nil
	}
	e.recordFailure(context.WithoutCancel(ctx), j, p, err, v.final)
	if v.permanent {
		return jobs.Permanent(err)
	}
	return err
}

// outcome is what became of a scan attempt.
type outcome int

// The outcomes of a scan attempt.
const (
	// outcomeDone: the scan succeeded and is recorded.
	outcomeDone outcome = iota
	// outcomeInterrupted: the attempt was canceled (shutdown, job
	// canceled); nothing is recorded, the queue decides.
	outcomeInterrupted
	// outcomeGone: the artifact went while it waited; its record goes.
	outcomeGone
	// outcomeFailed: the attempt failed; the record says so.
	outcomeFailed
)

// verdict is what a scan attempt's error means.
type verdict struct {
	outcome outcome
	// final: the scan fails for good (Error, SCANNING_FAILED); else it
	// is retried.
	final bool
	// permanent: no attempt could do better (a bad scanner, an artifact
	// no scanner reads), whatever attempts are left.
	permanent bool
}

// observed names the verdict for an observer (ScanAttempt.Result).
func (v verdict) observed() string {
	switch {
	case v.outcome == outcomeDone:
		return "succeeded"
	case v.outcome == outcomeInterrupted:
		return "interrupted"
	case v.outcome == outcomeGone:
		return "gone"
	case v.final:
		return "failed"
	}
	return "retried"
}

// judge is what err, the error of attempt number attempts out of
// maxAttempts (at least 1), means; canceled tells whether the attempt's
// context was done.
func judge(err error, canceled bool, attempts, maxAttempts int) verdict {
	switch {
	case err == nil:
		return verdict{outcome: outcomeDone}
	case canceled:
		return verdict{outcome: outcomeInterrupted}
	case errors.Is(err, meta.ErrNotFound):
		return verdict{outcome: outcomeGone}
	}
	permanent := errors.Is(err, scan.ErrInvalid) || errors.Is(err, scan.ErrUnsupported) ||
		errors.Is(err, ErrUnknownScanner) || errors.Is(err, ErrNotScannable)
	return verdict{outcome: outcomeFailed, permanent: permanent, final: permanent || attempts >= max(maxAttempts, 1)}
}

// forget removes the record of an artifact that went while it waited.
func (e *Engine) forget(ctx context.Context, p payload) {
	_ = e.store.Update(ctx, func(tx meta.Tx) error {
		if err := Reports.In(tx).Delete(ScanReportKey(p.Repository, p.Digest)); err != nil && !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		return securityhub.Forget(tx, p.Repository, p.Digest)
	})
}

// recordFailure records a failed attempt (see failed).
func (e *Engine) recordFailure(ctx context.Context, j meta.Job, p payload, cause error, final bool) {
	err := e.store.Update(ctx, func(tx meta.Tx) error {
		return e.failedTx(tx, j, p, cause, final)
	})
	if err != nil {
		e.log().Warn("scan: recording a failure", "repository", p.Repository, "digest", p.Digest, "err", err)
	}
}

// failedTx records a failed attempt: the last one makes the scan Error
// and appends a SCANNING_FAILED event.
func (e *Engine) failedTx(tx meta.Tx, j meta.Job, p payload, cause error, final bool) error {
	rec, err := Reports.In(tx).Get(ScanReportKey(p.Repository, p.Digest))
	if err != nil {
		return err
	}
	rec, ok := failed(rec, j, cause, final, time.Now().UTC())
	if !ok {
		return nil // a newer scan took over
	}
	if err := Reports.In(tx).Put(rec); err != nil {
		return err
	}
	if final {
		return appendEvent(tx, events.ScanningFailed, rec, p.Trigger)
	}
	return nil
}

// failed is rec after attempt j failed with cause at now: Pending with
// a message while it is retried, Error when final. ok is false when rec
// belongs to another job (a newer scan took over), which stays as it is.
func failed(rec ScanReport, j meta.Job, cause error, final bool, now time.Time) (_ ScanReport, ok bool) {
	if rec.JobID != j.ID {
		return rec, false
	}
	if !final {
		rec.Status, rec.Message = ScanPending, fmt.Sprintf("attempt %d of %d failed, retrying: %v", j.Attempts, max(j.MaxAttempts, 1), cause)
		return rec, true
	}
	rec.Status, rec.Message, rec.EndTime = ScanError, cause.Error(), now
	return rec, true
}

// scan runs one attempt, in steps: start it (the artifact, its tags and
// its scanner; the record Running), ask the scanner, collect its
// reports, record them.
func (e *Engine) scan(ctx context.Context, j meta.Job, p payload) error {
	t, err := e.start(ctx, j, p, time.Now().UTC())
	if err != nil {
		return err
	}
	r, err := e.resolve(ctx, t.scanner)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	asked, err := e.ask(ctx, r, p, t)
	if err != nil {
		return err
	}
	out, err := collect(ctx, r, asked)
	if err != nil {
		return err
	}
	return e.record(ctx, p, t.manifest, out)
}

// target is what a scan attempt scans: the artifact, its tags, and the
// scanner named for it.
type target struct {
	manifest meta.Manifest
	tags     []string
	scanner  string
}

// start reads what the attempt scans and marks the record Running (a
// scan without a scanner is ErrUnknownScanner).
func (e *Engine) start(ctx context.Context, j meta.Job, p payload, now time.Time) (target, error) {
	var t target
	err := e.store.Update(ctx, func(tx meta.Tx) error {
		var err error
		if t.manifest, err = tx.Manifests().Get(p.Repository, p.Digest); err != nil {
			return err
		}
		if !Scannable(t.manifest) {
			return fmt.Errorf("%w: %s@%s", ErrNotScannable, p.Repository, p.Digest)
		}
		if t.tags, err = tx.Tags().Of(p.Repository, p.Digest); err != nil {
			return err
		}
		if t.scanner, err = e.scannerFor(tx, naming.ProjectOf(p.Repository), p.Scanner); err != nil {
			return err
		}
		rec, err := Reports.In(tx).Get(ScanReportKey(p.Repository, p.Digest))
		if errors.Is(err, meta.ErrNotFound) {
			rec, err = ScanReport{Repository: p.Repository, Digest: p.Digest}, nil
		}
		if err != nil {
			return err
		}
		rec.Status, rec.JobID, rec.Scanner, rec.StartTime, rec.Message = ScanRunning, j.ID, t.scanner, now, ""
		return Reports.In(tx).Put(rec)
	})
	if err == nil && t.scanner == "" {
		err = fmt.Errorf("%w: none is configured", ErrUnknownScanner)
	}
	return t, err
}

// asked is a scan the scanner accepted: its id, what the scanner said
// it is, and the SBOM format asked for ("": none).
type asked struct {
	id       string
	md       scan.Metadata
	sbomType string
}

// ask asks the scanner for the reports its metadata promises, with
// credentials for the artifact's repository.
func (e *Engine) ask(ctx context.Context, r resolved, p payload, t target) (asked, error) {
	md, err := r.scanner.Metadata(ctx)
	if err != nil {
		return asked{}, fmt.Errorf("scanner %s: metadata: %w", r.name, err)
	}
	req, sbomType := request(md, r.registry, p, t.manifest, t.tags)
	if len(req.EnabledCapabilities) == 0 {
		return asked{}, fmt.Errorf("%w: scanner %s makes neither vulnerability reports nor SBOMs", scan.ErrUnsupported, r.name)
	}
	if e.credentials != nil {
		if req.Registry.Authorization, err = e.credentials(ctx, r.name, p.Repository); err != nil {
			return asked{}, fmt.Errorf("scan: credentials for %s: %w", r.name, err)
		}
	}
	id, err := r.scanner.Scan(ctx, req)
	if err != nil {
		return asked{}, fmt.Errorf("scanner %s: %w", r.name, err)
	}
	return asked{id: id, md: md, sbomType: sbomType}, nil
}

// collect waits for the reports of a scan and reads them.
func collect(ctx context.Context, r resolved, a asked) (result, error) {
	out := result{info: a.md.Scanner}
	if a.md.Produces(scan.MimeVulnReport) {
		b, err := scan.Wait(ctx, r.scanner, a.id, scan.MimeVulnReport, "")
		if err == nil {
			err = json.Unmarshal(b, &out.report)
		}
		if err != nil {
			return out, fmt.Errorf("scanner %s: vulnerability report: %w", r.name, err)
		}
		out.hasReport, out.reportJSON = true, b
	}
	if a.sbomType != "" {
		b, err := scan.Wait(ctx, r.scanner, a.id, scan.MimeSBOMReport, a.sbomType)
		if err != nil {
			return out, fmt.Errorf("scanner %s: SBOM: %w", r.name, err)
		}
		if out.sbom, out.sbomType, err = sbomOf(b, a.sbomType); err != nil {
			return out, fmt.Errorf("scanner %s: %w", r.name, err)
		}
	}
	return out, nil
}

// sbomOf reads an SBOM report: the SBOM it holds, and its format (the
// one asked for, unless the report names its own).
func sbomOf(b []byte, asked string) ([]byte, string, error) {
	var rep scan.SBOMReport
	if err := json.Unmarshal(b, &rep); err != nil || rep.SBOM == nil {
		return nil, "", fmt.Errorf("SBOM report without an sbom (%v)", err)
	}
	sbom, err := json.Marshal(rep.SBOM)
	if err != nil {
		return nil, "", err
	}
	return sbom, cmp.Or(rep.MediaType, asked), nil
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
