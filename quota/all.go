package quota

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/berthreg/berth/meta"
)

// All returns the limit and usage of every project that has either
// recorded (every project pushed to, or given a limit), in project
// order. It reads the limits and usage parts only, never the marks, in
// one read-only transaction: what a metrics collector scrapes.
func (s *Service) All(ctx context.Context) ([]Quota, error) {
	byProject := map[string]*Quota{}
	get := func(project string) *Quota {
		q := byProject[project]
		if q == nil {
			q = &Quota{Project: project, Limit: s.defaultLimit}
			byProject[project] = q
		}
		return q
	}
	err := s.store.View(ctx, func(tx meta.Tx) error {
		r := tx.Records(Kind)
		lims, err := meta.RecordsWithPrefix(r, "limit/", 0)
		if err != nil {
			return err
		}
		for _, rec := range lims {
			lim, err := s.decodeLimit(strings.TrimPrefix(rec.Key, "limit/"), rec.Value)
			if err != nil {
				return err
			}
			q := get(lim.Project)
			q.Limit, q.UpdatedAt = lim.Bytes, lim.UpdatedAt
		}
		parts, err := meta.RecordsWithPrefix(r, "shard/", 0)
		if err != nil {
			return err
		}
		for _, rec := range parts {
			key := strings.TrimPrefix(rec.Key, "shard/")
			i := strings.LastIndexByte(key, '/')
			if i < 0 {
				return fmt.Errorf("quota: usage part %q: no project", rec.Key)
			}
			var sh shard
			if err := json.Unmarshal(rec.Value, &sh); err != nil {
				return fmt.Errorf("quota: usage part %q: %w", rec.Key, err)
			}
			get(key[:i]).Used += sh.Used
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]Quota, 0, len(byProject))
	for _, q := range byProject {
		out = append(out, *q)
	}
	slices.SortFunc(out, func(a, b Quota) int { return strings.Compare(a.Project, b.Project) })
	return out, nil
}
