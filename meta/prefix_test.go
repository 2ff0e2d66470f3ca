package meta_test

import (
	"fmt"
	"testing"

	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/meta"
)

// The prefix helpers page past one page and stop at the prefix's end.
func TestWithPrefix(t *testing.T) {
	s := testbolt.Open(t)
	if err := s.Update(t.Context(), func(tx meta.Tx) error {
		r := tx.Records("things")
		for i := range 600 {
			for _, p := range []string{"a/", "b/"} {
				if err := r.Put(fmt.Sprintf("%s%04d", p, i), []byte("x")); err != nil {
					return err
				}
			}
		}
		if err := r.Put("a", []byte("x")); err != nil {
			return err
		}
		for _, repo := range []string{"team", "team/a", "team/b", "team-x/a", "team2/a", "teams/a"} {
			if _, _, err := tx.Repositories().Ensure(repo); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.View(t.Context(), func(tx meta.Tx) error {
		r := tx.Records("things")
		all, err := meta.RecordsWithPrefix(r, "a/", 0)
		if err != nil || len(all) != 600 || all[0].Key != "a/0000" || all[599].Key != "a/0599" {
			t.Errorf("all of a/: %d records, %v", len(all), err)
		}
		some, err := meta.RecordsWithPrefix(r, "b/", 3)
		if err != nil || len(some) != 3 || some[2].Key != "b/0002" {
			t.Errorf("3 of b/: %v, %v", some, err)
		}
		none, err := meta.RecordsWithPrefix(r, "c/", 0)
		if err != nil || len(none) != 0 {
			t.Errorf("c/: %v, %v", none, err)
		}
		repos, err := meta.RepositoriesWithPrefix(tx, "team/")
		if err != nil || fmt.Sprint(repos) != "[team/a team/b]" {
			t.Errorf("team/: %v, %v", repos, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
