package builtin

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/berthreg/berth/scan"
)

// job is one scan: queued, running, or finished with reports or an
// error.
type job struct {
	req  scan.Request
	ref  name.Digest
	want wants

	// Set when the scan ends, under Scanner.mu.
	done     bool
	err      error
	reports  map[string][]byte // by reportKey
	finished time.Time
}

// wants is what a request asks the scanner to make.
type wants struct {
	vuln  bool
	sboms []string // MimeSPDX, MimeCycloneDX
}

func reportKey(mimeType, sbomType string) string {
	if mimeType == scan.MimeSBOMReport {
		return mimeType + "|" + sbomType
	}
	return scan.MimeVulnReport
}

// wanted reads a request's enabled capabilities: all reports when it
// names none; otherwise only those it names, refusing kinds this scanner
// does not make.
func wanted(req scan.Request) (wants, error) {
	if len(req.EnabledCapabilities) == 0 {
		return wants{vuln: true, sboms: []string{scan.MimeSPDX, scan.MimeCycloneDX}}, nil
	}
	var w wants
	for i, c := range req.EnabledCapabilities {
		switch c.Type {
		case "", scan.CapabilityVulnerability:
			if len(c.ProducesMimeTypes) > 0 && !slices.ContainsFunc(c.ProducesMimeTypes, isVulnMime) {
				return w, fmt.Errorf("%w: enabled_capabilities[%d].produces_mime_types: %q: this scanner makes %s", scan.ErrUnsupported, i, c.ProducesMimeTypes, scan.MimeVulnReport)
			}
			w.vuln = true
		case scan.CapabilitySBOM:
			types := []string{scan.MimeSPDX, scan.MimeCycloneDX}
			if c.Parameters != nil && len(c.Parameters.SBOMMediaTypes) > 0 {
				types = c.Parameters.SBOMMediaTypes
			}
			for _, t := range types {
				if t != scan.MimeSPDX && t != scan.MimeCycloneDX {
					return w, fmt.Errorf("%w: enabled_capabilities[%d].parameters.sbom_media_types: %q: this scanner makes %s and %s", scan.ErrUnsupported, i, t, scan.MimeSPDX, scan.MimeCycloneDX)
				}
				if !slices.Contains(w.sboms, t) {
					w.sboms = append(w.sboms, t)
				}
			}
		default:
			return w, fmt.Errorf("%w: enabled_capabilities[%d].type: %q", scan.ErrUnsupported, i, c.Type)
		}
	}
	return w, nil
}

func isVulnMime(m string) bool { return m == scan.MimeVulnReport || m == scan.MimeHarborVulnReport }

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Scan implements scan.Scanner: it checks the request and returns an id
// at once; the image is pulled and scanned in the background, at most
// WithConcurrency at a time.
func (s *Scanner) Scan(_ context.Context, req scan.Request) (string, error) {
	if err := req.Check(); err != nil {
		return "", fmt.Errorf("%w: %w", scan.ErrInvalid, err)
	}
	ref, err := reference(req)
	if err != nil {
		return "", fmt.Errorf("%w: %w", scan.ErrInvalid, err)
	}
	if _, err := authenticator(req.Registry.Authorization); err != nil {
		return "", fmt.Errorf("%w: %w", scan.ErrInvalid, err)
	}
	if mt := req.Artifact.MimeType; mt != "" && mt != scan.MimeOCIManifest && mt != scan.MimeDockerManifest {
		return "", fmt.Errorf("%w: artifact.mime_type: %q (this scanner reads %s and %s)", scan.ErrUnsupported, mt, scan.MimeOCIManifest, scan.MimeDockerManifest)
	}
	want, err := wanted(req)
	if err != nil {
		return "", err
	}
	j := &job{req: req, ref: ref, want: want}
	id := newID()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return "", ErrClosed
	}
	s.sweep(time.Now())
	s.jobs[id] = j
	s.wg.Add(1)
	s.mu.Unlock()
	go s.run(id, j)
	return id, nil
}

// run waits for a slot, scans, and records the outcome.
func (s *Scanner) run(id string, j *job) {
	defer s.wg.Done()
	select {
	case s.slots <- struct{}{}:
	case <-s.ctx.Done():
		s.finish(j, nil, fmt.Errorf("builtin: scan %s of %s cancelled before it started: %w", id, j.ref, s.ctx.Err()))
		return
	}
	defer func() { <-s.slots }()
	reports, err := func() (r map[string][]byte, err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("builtin: internal error: %v", p)
			}
		}()
		return s.scan(s.ctx, j)
	}()
	if err != nil {
		err = fmt.Errorf("builtin: scan %s of %s failed: %w", id, j.ref, err)
		s.logger.Warn("scan failed", "id", id, "artifact", j.ref.String(), "err", err)
	}
	s.finish(j, reports, err)
}

func (s *Scanner) finish(j *job, reports map[string][]byte, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j.done, j.reports, j.err, j.finished = true, reports, err, time.Now()
}

// sweep forgets the scans finished longer ago than the retention window.
// The caller holds s.mu.
func (s *Scanner) sweep(now time.Time) {
	for id, j := range s.jobs {
		if j.done && now.Sub(j.finished) > s.retention {
			delete(s.jobs, id)
		}
	}
}

// Report implements scan.Scanner. It returns scan.ErrUnsupported for
// report types the scanner does not make or the scan did not ask for,
// scan.ErrUnknownScan for ids it does not know (or no longer keeps), a
// *scan.NotReady while the scan runs, and the scan's error, naming what
// failed, when it failed.
func (s *Scanner) Report(_ context.Context, id, mimeType, sbomType string) ([]byte, error) {
	switch {
	case isVulnMime(mimeType):
	case mimeType == scan.MimeSBOMReport:
		if sbomType != scan.MimeSPDX && sbomType != scan.MimeCycloneDX {
			return nil, fmt.Errorf("%w: SBOM type %q (this scanner makes %s and %s)", scan.ErrUnsupported, sbomType, scan.MimeSPDX, scan.MimeCycloneDX)
		}
	default:
		return nil, fmt.Errorf("%w: %q", scan.ErrUnsupported, mimeType)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(time.Now())
	j, ok := s.jobs[id]
	if !ok {
		return nil, fmt.Errorf("%w: %q", scan.ErrUnknownScan, id)
	}
	if isVulnMime(mimeType) && !j.want.vuln || mimeType == scan.MimeSBOMReport && !slices.Contains(j.want.sboms, sbomType) {
		return nil, fmt.Errorf("%w: scan %s did not ask for %s", scan.ErrUnsupported, id, cmp.Or(sbomType, mimeType))
	}
	if !j.done {
		return nil, &scan.NotReady{RetryAfter: s.retryAfter}
	}
	if j.err != nil {
		return nil, j.err
	}
	b, ok := j.reports[reportKey(mimeType, sbomType)]
	if !ok {
		return nil, errors.New("builtin: report missing") // not reached: a finished scan makes every report it wants
	}
	return b, nil
}
