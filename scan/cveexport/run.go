package cveexport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/label"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/scan/securityhub"
)

// artifactPage is how many artifacts an export reads per transaction.
const artifactPage = 64

// run is an export job: it writes the execution's file afresh (an
// attempt after a failed one starts over) and records how it ended.
func (s *Service) run(ctx context.Context, j meta.Job) error {
	var pl payload
	if err := json.Unmarshal(j.Payload, &pl); err != nil || pl.User == "" {
		return jobs.Permanent(fmt.Errorf("cveexport: job %d: bad payload %q", j.ID, j.Payload))
	}
	ex, err := s.begin(ctx, pl.User, j.ID)
	if errors.Is(err, meta.ErrNotFound) {
		return jobs.Permanent(fmt.Errorf("cveexport: export %d is gone", j.ID))
	}
	if err != nil {
		return err
	}
	p := ex.Principal
	if s.principals != nil {
		if p, err = s.principals(ctx, ex.User); err != nil {
			err = fmt.Errorf("the account %s cannot export: %w", ex.User, err)
			if errors.Is(err, auth.ErrBadCredentials) {
				err = jobs.Permanent(err)
			}
			return s.finish(ctx, ex, nil, err)
		}
	}
	sh, err := newSheet(ctx, s, j.ID)
	if err == nil {
		err = s.export(ctx, p, ex.Request, sh)
	}
	if errors.Is(err, errFull) {
		ex.Truncated, err = true, nil
	}
	return s.finish(ctx, ex, sh, err)
}

// begin marks the execution running and drops what an earlier attempt
// wrote.
func (s *Service) begin(ctx context.Context, user string, id uint64) (Execution, error) {
	var ex Execution
	err := s.store.Update(ctx, func(tx meta.Tx) error {
		var err error
		if ex, err = executions.In(tx).Get(executionKey(user, id)); err != nil {
			return err
		}
		if err := dropChunks(tx, id); err != nil {
			return err
		}
		ex.Status, ex.StatusText, ex.Rows, ex.Bytes, ex.Chunks, ex.Truncated = StatusRunning, "", 0, 0, 0, false
		return executions.In(tx).Put(ex)
	})
	return ex, err
}

// finish records how the export ended (with the file's last chunk when
// it succeeded) and returns runErr, or the error recording it.
func (s *Service) finish(ctx context.Context, ex Execution, sh *sheet, runErr error) error {
	canceled := ctx.Err() != nil
	ex.EndTime = s.now().UTC()
	switch {
	case runErr == nil:
		ex.Status = StatusSuccess
		ex.Rows, ex.Bytes, ex.Chunks = sh.rows, sh.bytes+int64(sh.buf.Len()), sh.chunks
		if sh.buf.Len() > 0 {
			ex.Chunks++
		}
		if ex.Truncated {
			ex.StatusText = fmt.Sprintf("the export stopped at its size limit of %d bytes, after %d rows", s.limit, ex.Rows)
		}
	case canceled:
		ex.Status, ex.StatusText = StatusStopped, "stopped"
	default:
		ex.Status, ex.StatusText = StatusError, runErr.Error()
	}
	err := s.store.Update(context.WithoutCancel(ctx), func(tx meta.Tx) error {
		if runErr == nil {
			if err := sh.flushTx(tx); err != nil {
				return err
			}
		}
		return executions.In(tx).Put(ex)
	})
	if err != nil {
		s.logger.Warn("cveexport: recording the end of an export", "id", ex.ID, "err", err)
		return errors.Join(runErr, err)
	}
	return runErr
}

// export writes the rows of every repository req selects that p may
// pull from.
func (s *Service) export(ctx context.Context, p auth.Principal, req Request, sh *sheet) error {
	cves, err := req.cveSet()
	if err != nil {
		return jobs.Permanent(err)
	}
	projects := req.Projects
	if len(projects) == 0 {
		all, err := s.projectsIn(ctx)
		if err != nil {
			return err
		}
		for _, p := range all {
			projects = append(projects, p.Name)
		}
	}
	for _, project := range projects {
		var repos []string
		if err := s.store.View(ctx, func(tx meta.Tx) error {
			var err error
			repos, err = meta.RepositoriesWithPrefix(tx, project+"/")
			return err
		}); err != nil {
			return err
		}
		for _, repo := range repos {
			if err := ctx.Err(); err != nil {
				return err
			}
			ok, err := s.selected(ctx, p, req, project, repo)
			if err != nil {
				return err
			}
			if ok {
				if err := s.exportRepository(ctx, req, cves, project, repo, sh); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// projectsIn lists every project, in name order.
func (s *Service) projectsIn(ctx context.Context) ([]accounts.Project, error) {
	var out []accounts.Project
	err := s.store.View(ctx, func(tx meta.Tx) error {
		out = out[:0]
		after := ""
		for {
			page, err := accounts.Projects.In(tx).List(after, 256)
			if err != nil {
				return err
			}
			out = append(out, page...)
			if len(page) < 256 {
				return nil
			}
			after = page[len(page)-1].Name
		}
	})
	return out, err
}

// selected reports whether repo of project matches req's repository
// pattern and p may pull from it.
func (s *Service) selected(ctx context.Context, p auth.Principal, req Request, project, repo string) (bool, error) {
	if req.Repositories != "" {
		if ok, _ := doublestar.Match(req.Repositories, strings.TrimPrefix(repo, project+"/")); !ok {
			return false, nil
		}
	}
	allowed, err := s.authz.Allowed(ctx, p, auth.Resource{Type: "repository", Name: repo}, []string{auth.ActionPull})
	return slices.Contains(allowed, auth.ActionPull), err
}

// page is one transaction's read of a repository: artifacts with their
// tags, and what is known of their CVEs.
type page struct {
	artifacts []securityhub.Artifact
	tags      map[digest.Digest][]string
	info      map[string]securityhub.CVEInfo
	// next is where the next page starts ("": this is the last).
	next digest.Digest
}

// exportRepository writes the rows of repo's artifacts, a page of
// artifacts per transaction.
func (s *Service) exportRepository(ctx context.Context, req Request, cves map[string]bool, project, repo string, sh *sheet) error {
	var labelled map[digest.Digest]bool
	var after digest.Digest
	for {
		var pg page
		err := s.store.View(ctx, func(tx meta.Tx) error {
			if len(req.Labels) > 0 && labelled == nil {
				labelled = map[digest.Digest]bool{}
				for _, id := range req.Labels {
					ds, err := label.ArtifactsWith(tx, repo, id)
					if err != nil {
						return err
					}
					for _, d := range ds {
						labelled[d] = true
					}
				}
			}
			var err error
			pg, err = readPage(tx, req, labelled, repo, after)
			return err
		})
		if err != nil {
			return err
		}
		for _, a := range pg.artifacts {
			if err := writeArtifact(sh, cves, project, a, pg); err != nil {
				return err
			}
		}
		if pg.next == "" {
			return nil
		}
		after = pg.next
	}
}

// readPage reads the artifacts of repo's page after after that the
// label and tag filters keep.
func readPage(tx meta.Tx, req Request, labelled map[digest.Digest]bool, repo string, after digest.Digest) (page, error) {
	pg := page{tags: map[digest.Digest][]string{}}
	all, err := securityhub.ArtifactsIn(tx, repo, after, artifactPage)
	if err != nil {
		return pg, err
	}
	var ids []string
	for _, a := range all {
		if labelled != nil && !labelled[a.Digest] {
			continue
		}
		tags, err := tx.Tags().Of(repo, a.Digest)
		if err != nil && !errors.Is(err, meta.ErrNotFound) {
			return pg, err
		}
		if req.Tags != "" && !slices.ContainsFunc(tags, func(t string) bool { ok, _ := doublestar.Match(req.Tags, t); return ok }) {
			continue
		}
		pg.tags[a.Digest] = tags
		pg.artifacts = append(pg.artifacts, a)
		for _, f := range a.Findings {
			ids = append(ids, f.CVE)
		}
	}
	slices.Sort(ids)
	pg.info, err = securityhub.Info(tx, slices.Compact(ids))
	if len(all) == artifactPage {
		pg.next = all[len(all)-1].Digest
	}
	return pg, err
}

// writeArtifact writes a row per finding of a that cves keeps.
func writeArtifact(sh *sheet, cves map[string]bool, project string, a securityhub.Artifact, pg page) error {
	tags := strings.Join(pg.tags[a.Digest], ",")
	for _, f := range a.Findings {
		if cves != nil && !cves[f.CVE] {
			continue
		}
		row := []string{project, a.Repository, a.Digest.String(), tags, f.CVE, f.Package, f.Version, f.FixVersion,
			string(f.Severity), score(f.CVSS3), f.Vector3, strings.Join(f.CWEs, ","), pg.info[f.CVE].Description, a.Scanner}
		if err := sh.add(row); err != nil {
			return err
		}
	}
	return nil
}
