package quota

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// Report is what Recompute found in one project: the usage counted, the
// usage its repositories' manifests and links hold, and how the
// bookkeeping differs.
type Report struct {
	// Project is the project's name.
	Project string `json:"project"`
	// Counted is the usage the counter held; Actual what the project's
	// manifests and the blobs they reference add up to, each once.
	Counted int64 `json:"counted"`
	Actual  int64 `json:"actual"`
	// Drift is Counted − Actual.
	Drift int64 `json:"drift"`
	// MarksWrong counts digests marked that the project does not hold,
	// held but not marked, or marked with another size; HoldersWrong
	// counts holder records missing or extra.
	MarksWrong   int `json:"marksWrong"`
	HoldersWrong int `json:"holdersWrong"`
	// Fixed reports that the bookkeeping was rewritten to match.
	Fixed bool `json:"fixed"`
}

// Clean reports that nothing was found wrong.
func (r Report) Clean() bool { return r.Drift == 0 && r.MarksWrong == 0 && r.HoldersWrong == 0 }

// truth is what a project holds, read from its repositories.
type truth struct {
	sizes   map[digest.Digest]int64
	holders map[string]bool
}

// Recompute derives project's usage from its repositories (each manifest,
// and each blob a manifest references that is linked into the
// manifest's repository, once in the project) and compares it with the
// counter and its bookkeeping, in one consistent snapshot. With fix, it
// does so in a write transaction and rewrites whatever differs, so that
// usage is exact again. Its cost grows with the project's size.
func (s *Service) Recompute(ctx context.Context, project string, fix bool) (Report, error) {
	var rep Report
	run := func(tx meta.Tx) error {
		var err error
		rep, err = s.recomputeIn(ctx, tx, project, fix)
		return err
	}
	if fix {
		return rep, s.store.Update(ctx, run)
	}
	return rep, s.store.View(ctx, run)
}

func (s *Service) recomputeIn(ctx context.Context, tx meta.Tx, project string, fix bool) (Report, error) {
	rep := Report{Project: project}
	t, err := readTruth(tx, project)
	if err != nil {
		return rep, err
	}
	for _, n := range t.sizes {
		rep.Actual += n
	}
	all, err := shardsIn(tx, project)
	if err != nil {
		return rep, err
	}
	rep.Counted = all.used()
	rep.Drift = rep.Counted - rep.Actual

	marks, holders := tx.Records(Kind), tx.Records(Kind)
	var fixes []func() error
	seen := map[digest.Digest]bool{}
	if err := forEach(marks, markPrefix(project), func(rec meta.Record) error {
		d := digest.Digest(strings.TrimPrefix(rec.Key, markPrefix(project)))
		seen[d] = true
		var mk mark
		if err := json.Unmarshal(rec.Value, &mk); err != nil {
			return fmt.Errorf("quota: mark %s: %w", rec.Key, err)
		}
		if size, ok := t.sizes[d]; !ok || size != mk.Size {
			rep.MarksWrong++
			key := rec.Key
			fixes = append(fixes, func() error {
				if !ok {
					return marks.Delete(key)
				}
				return putMark(marks, key, size)
			})
		}
		return nil
	}); err != nil {
		return rep, err
	}
	for d, size := range t.sizes {
		if !seen[d] {
			rep.MarksWrong++
			key := markKey(project, d)
			fixes = append(fixes, func() error { return putMark(marks, key, size) })
		}
	}
	found := map[string]bool{}
	if err := forEach(holders, holdersOf(project), func(rec meta.Record) error {
		found[rec.Key] = true
		if !t.holders[rec.Key] {
			rep.HoldersWrong++
			key := rec.Key
			fixes = append(fixes, func() error { return holders.Delete(key) })
		}
		return nil
	}); err != nil {
		return rep, err
	}
	for key := range t.holders {
		if !found[key] {
			rep.HoldersWrong++
			fixes = append(fixes, func() error { return holders.Put(key, present) })
		}
	}
	if !fix || rep.Clean() {
		return rep, nil
	}
	for _, f := range fixes {
		if err := f(); err != nil {
			return rep, err
		}
	}
	a := &account{s: s, ctx: ctx, tx: tx, part: fixedPart(0)}
	for i, sh := range all {
		sh.Used = 0
		if i == 0 {
			sh.Used = rep.Actual
		}
		all[i] = sh
		if err := a.putShard(project, i, sh); err != nil {
			return rep, err
		}
	}
	if _, ok := all[0]; !ok {
		if err := a.putShard(project, 0, shard{Used: rep.Actual}); err != nil {
			return rep, err
		}
	}
	lim, err := s.limitIn(tx, project)
	if err != nil {
		return rep, err
	}
	if _, err := a.rebalance(project, lim, 0); err != nil {
		return rep, err
	}
	rep.Fixed = true
	return rep, nil
}

func putMark(r meta.Records, key string, size int64) error { return r.Put(key, markValue(size)) }

// forEach calls fn for every record of r whose key starts with prefix.
func forEach(r meta.Records, prefix string, fn func(meta.Record) error) error {
	recs, err := meta.RecordsWithPrefix(r, prefix, 0)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if err := fn(rec); err != nil {
			return err
		}
	}
	return nil
}

// readTruth reads what project holds from its repositories: the
// repository named like the project, and those under "project/".
func readTruth(tx meta.Tx, project string) (truth, error) {
	t := truth{sizes: map[digest.Digest]int64{}, holders: map[string]bool{}}
	var repos []string
	if _, err := tx.Repositories().Get(project); err == nil {
		repos = append(repos, project)
	} else if !errors.Is(err, meta.ErrNotFound) {
		return t, err
	}
	under, err := meta.RepositoriesWithPrefix(tx, project+"/")
	if err != nil {
		return t, err
	}
	repos = append(repos, under...)
	for _, repo := range repos {
		if err := readRepoTruth(tx, project, repo, &t); err != nil {
			return t, err
		}
	}
	return t, nil
}

func readRepoTruth(tx meta.Tx, project, repo string, t *truth) error {
	var after digest.Digest
	for {
		page, err := tx.Manifests().List(repo, after, 512)
		if err != nil {
			return err
		}
		for _, d := range page {
			m, err := tx.Manifests().Get(repo, d)
			if err != nil {
				return err
			}
			for _, h := range holdings(m) {
				size, stored, err := h.sizeIn(tx, repo)
				if err != nil {
					return err
				}
				// A manifest holds what it names, here or not yet (a
				// fill brings it); only what is here counts.
				t.holders[holderKey(project, h.digest, repo, m.Digest)] = true
				if stored {
					t.sizes[h.digest] = size
				}
			}
		}
		if len(page) < 512 {
			return nil
		}
		after = page[len(page)-1]
	}
}
