package accounts

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
)

// TestProjectIDsNeverReused: a project re-created under a deleted one's
// name gets another, greater ID.
func TestProjectIDsNeverReused(t *testing.T) {
	s, err := bolt.Open(filepath.Join(t.TempDir(), "meta.db"), bolt.NoSync())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	m, err := New(t.Context(), s, WithHashCost(bcrypt.MinCost))
	if err != nil {
		t.Fatal(err)
	}
	alice := auth.Principal{Kind: auth.User, Name: "alice"}
	id := func(name string) uint64 {
		var p Project
		if err := s.View(t.Context(), func(tx meta.Tx) error { p, err = Projects.In(tx).Get(name); return err }); err != nil {
			t.Fatal(err)
		}
		return p.ID
	}
	for _, n := range []string{"team", "team-b", "teamc"} {
		if err := m.CreateProject(t.Context(), alice, n, false); err != nil {
			t.Fatal(err)
		}
	}
	first := id("team")
	if first == 0 || first == id("team-b") {
		t.Fatalf("ids %d %d", first, id("team-b"))
	}
	if err := m.DeleteProject(t.Context(), "team"); err != nil {
		t.Fatal(err)
	}
	if err := m.CreateProject(t.Context(), auth.Principal{Kind: auth.User, Name: "bob"}, "team", false); err != nil {
		t.Fatal(err)
	}
	if again := id("team"); again <= first {
		t.Errorf("re-created team: id %d, the deleted one had %d", again, first)
	}
}

// TestProjectCleanupsRunInTheDeletion: the cleanups of WithProjectCleanup
// run in DeleteProject's transaction, with the project's name, and one
// that fails keeps the project and undoes what the others did.
func TestProjectCleanupsRunInTheDeletion(t *testing.T) {
	s, err := bolt.Open(filepath.Join(t.TempDir(), "meta.db"), bolt.NoSync())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	fail := errors.New("feature refuses")
	var cleaned []string
	failing := true
	m, err := New(t.Context(), s, WithHashCost(bcrypt.MinCost), WithProjectCleanup(
		func(tx meta.Tx, project string, _ time.Time) error {
			cleaned = append(cleaned, project)
			return tx.Records("feature").Delete(project)
		},
		func(meta.Tx, string, time.Time) error {
			if failing {
				return fail
			}
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.CreateProject(t.Context(), auth.Principal{Kind: auth.User, Name: "alice"}, "team", false); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(t.Context(), func(tx meta.Tx) error { return tx.Records("feature").Put("team", []byte("kept")) }); err != nil {
		t.Fatal(err)
	}
	if err := m.DeleteProject(t.Context(), "team"); !errors.Is(err, fail) {
		t.Fatalf("DeleteProject with a failing cleanup: %v, want its error", err)
	}
	check := func(wantProject, wantRecord bool) {
		t.Helper()
		if err := s.View(t.Context(), func(tx meta.Tx) error {
			_, perr := Projects.In(tx).Get("team")
			_, rerr := tx.Records("feature").Get("team")
			if (perr == nil) != wantProject || (rerr == nil) != wantRecord {
				t.Errorf("project: %v, feature record: %v; want project %v, record %v", perr, rerr, wantProject, wantRecord)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	check(true, true)
	failing = false
	if err := m.DeleteProject(t.Context(), "team"); err != nil {
		t.Fatal(err)
	}
	check(false, false)
	if len(cleaned) < 2 || cleaned[len(cleaned)-1] != "team" {
		t.Errorf("cleanups saw %q, want team", cleaned)
	}
}
