package webhook

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/meta"
)

// TestProjectDeletionTakesItsPolicies: with DeleteProjectPolicies as the
// accounts Manager's project cleanup, deleting a project deletes its
// webhook policies with their deliveries and delivery jobs, and no other
// project's (team-b and teamc share team's prefix).
func TestProjectDeletionTakesItsPolicies(t *testing.T) {
	s := teststores.Open(t)
	m, err := accounts.New(t.Context(), s, accounts.WithHashCost(bcrypt.MinCost), accounts.WithProjectCleanup(DeleteProjectPolicies))
	if err != nil {
		t.Fatal(err)
	}
	alice := auth.Principal{Kind: auth.User, Name: "alice"}
	for _, n := range []string{"team", "team-b", "teamc"} {
		if err := m.CreateProject(t.Context(), alice, n, false); err != nil {
			t.Fatal(err)
		}
	}
	var job meta.Job
	if err := s.Update(t.Context(), func(tx meta.Tx) error {
		for i, p := range []string{"team", "team-b", "teamc"} {
			if err := PolicyRecords.In(tx).Put(Policy{ID: uint64(100 + i), Name: "deploy", Project: p}); err != nil {
				return err
			}
		}
		var err error
		if job, err = tx.Jobs().Enqueue(meta.Job{Kind: JobKind}, time.Now()); err != nil {
			return err
		}
		return DeliveryRecords.In(tx).Put(Delivery{ID: "d1", JobID: job.ID, Policy: "deploy", Project: "team", PolicyID: 100})
	}); err != nil {
		t.Fatal(err)
	}
	if err := m.DeleteProject(t.Context(), "team"); err != nil {
		t.Fatal(err)
	}
	if err := s.View(t.Context(), func(tx meta.Tx) error {
		ps, err := PolicyRecords.In(tx).List("", 0)
		if err != nil || len(ps) != 2 || ps[0].Project != "team-b" || ps[1].Project != "teamc" {
			t.Errorf("policies left: %+v, %v", ps, err)
		}
		if _, err := DeliveryRecords.In(tx).Get("d1"); !errors.Is(err, meta.ErrNotFound) {
			t.Errorf("the delivery: %v", err)
		}
		if _, err := tx.Jobs().Get(job.ID); !errors.Is(err, meta.ErrNotFound) {
			t.Errorf("the delivery job: %v", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
