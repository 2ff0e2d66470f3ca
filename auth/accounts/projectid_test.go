package accounts

import (
	"errors"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
)

// TestProjectIDsNeverReused: a project re-created under a deleted one's
// name gets another, greater ID; deleting a project deletes its webhook
// policies with their deliveries and delivery jobs, and no other
// project's.
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
		var p meta.Project
		if err := s.View(t.Context(), func(tx meta.Tx) error { p, err = tx.Projects().Get(name); return err }); err != nil {
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
	var job meta.Job
	if err := s.Update(t.Context(), func(tx meta.Tx) error {
		for i, p := range []string{"team", "team-b", "teamc"} {
			pol := meta.WebhookPolicy{ID: uint64(100 + i), Name: "deploy", Project: p, ProjectID: id(p)}
			if err := tx.WebhookPolicies().Put(pol); err != nil {
				return err
			}
		}
		job, err = tx.Jobs().Enqueue(meta.Job{Kind: "webhook.deliver"}, m.now())
		if err != nil {
			return err
		}
		return tx.Deliveries().Put(meta.Delivery{ID: "d1", JobID: job.ID, Policy: "deploy", Project: "team", PolicyID: 100})
	}); err != nil {
		t.Fatal(err)
	}
	if err := m.DeleteProject(t.Context(), "team"); err != nil {
		t.Fatal(err)
	}
	if err := s.View(t.Context(), func(tx meta.Tx) error {
		ps, err := tx.WebhookPolicies().List("", 0)
		if err != nil || len(ps) != 2 || ps[0].Project != "team-b" || ps[1].Project != "teamc" {
			t.Errorf("policies left: %+v, %v", ps, err)
		}
		if _, err := tx.Deliveries().Get("d1"); !errors.Is(err, meta.ErrNotFound) {
			t.Errorf("the delivery: %v", err)
		}
		if _, err := tx.Jobs().Get(job.ID); !errors.Is(err, meta.ErrNotFound) {
			t.Errorf("the delivery job: %v", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := m.CreateProject(t.Context(), auth.Principal{Kind: auth.User, Name: "bob"}, "team", false); err != nil {
		t.Fatal(err)
	}
	if again := id("team"); again <= first {
		t.Errorf("re-created team: id %d, the deleted one had %d", again, first)
	}
}
