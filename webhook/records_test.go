package webhook

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/metatest"
)

// fullPolicy is a policy with every field set.
func fullPolicy() Policy {
	return Policy{
		ID: 31, Name: "deploy", Description: "redeploy on push", Project: "team", ProjectID: 12, Repositories: "team/app-*",
		EventTypes: []string{"PUSH_ARTIFACT"}, Enabled: true, CreatedBy: "alice", CreatedAt: metatest.At(7), UpdatedAt: metatest.At(8),
		Targets: []Target{{Type: "http", Address: "https://ci.example/hook", Format: "cloudevents",
			AuthHeader: "Bearer x", Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", SkipCertVerify: true, Timeout: 5 * time.Second}},
	}
}

// TestRecordTypes round-trips every field of the webhook records through
// the bbolt backend, with the record-type checks of metatest.
func TestRecordTypes(t *testing.T) {
	s := teststores.Open(t)
	metatest.RecordType(t, s, PolicyRecords, fullPolicy(), func(p Policy, i int) Policy {
		p.Targets = nil
		switch {
		case i > 6:
			p.Project, p.Name = "", fmt.Sprintf("system-%02d", i) // system policies
		case i > 0:
			p.Project = fmt.Sprintf("team-%02d", i)
		}
		return p
	})
	metatest.RecordType(t, s, DeliveryRecords, Delivery{ID: "00000000000000000042", JobID: 42, Policy: "deploy", Project: "team",
		PolicyID: 31, Target: 1, Address: "https://ci.example/hook", EventSeq: 9, EventType: "PUSH_ARTIFACT", CreatedAt: metatest.At(9),
		Attempts: []DeliveryAttempt{{At: metatest.At(10), Duration: time.Second, Status: 500, Error: "500 Internal Server Error"}}},
		func(d Delivery, i int) Delivery {
			d.Attempts = nil
			if i > 0 {
				d.ID = DeliveryID(uint64(100 + i))
			}
			return d
		})
}

// TestPolicyScopes: policies of one name in two projects and the system
// scope are three records, and deletePolicy takes one of them with its
// deliveries and jobs only.
func TestPolicyScopes(t *testing.T) {
	s := teststores.Open(t)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	p := fullPolicy()
	p.Name = "scoped"
	other, system := p, p
	other.Project, other.ID = "other", p.ID+1
	system.Project, system.ID = "", p.ID+2
	var jobs []meta.Job
	must("Update", s.Update(t.Context(), func(tx meta.Tx) error {
		for i, v := range []Policy{p, other, system} {
			must("Put", PolicyRecords.In(tx).Put(v))
			j, err := tx.Jobs().Enqueue(meta.Job{Kind: JobKind}, metatest.At(20))
			must("Enqueue", err)
			jobs = append(jobs, j)
			must("Put delivery", DeliveryRecords.In(tx).Put(Delivery{ID: fmt.Sprintf("scoped-%d", i), JobID: j.ID,
				Policy: v.Name, Project: v.Project, PolicyID: v.ID, CreatedAt: metatest.At(20)}))
		}
		return nil
	}))
	must("Update", s.Update(t.Context(), func(tx meta.Tx) error {
		for _, v := range []Policy{p, other, system} {
			got, err := PolicyRecords.In(tx).Get(v.Key())
			must("Get "+v.Key(), err)
			if got.Project != v.Project || got.ID != v.ID {
				t.Errorf("Get(%q) = %+v", v.Key(), got)
			}
		}
		return deletePolicy(tx, other, metatest.At(21))
	}))
	must("View", s.View(t.Context(), func(tx meta.Tx) error {
		gone := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, meta.ErrNotFound) {
				t.Errorf("%s: %v, want gone", what, err)
			}
		}
		_, err := PolicyRecords.In(tx).Get(other.Key())
		gone("the deleted policy", err)
		_, err = DeliveryRecords.In(tx).Get("scoped-1")
		gone("the deleted policy's delivery", err)
		_, err = tx.Jobs().Get(jobs[1].ID)
		gone("the deleted policy's job", err)
		for _, i := range []int{0, 2} {
			_, err := DeliveryRecords.In(tx).Get(fmt.Sprintf("scoped-%d", i))
			must("another policy's delivery", err)
			_, err = tx.Jobs().Get(jobs[i].ID)
			must("another policy's job", err)
		}
		return nil
	}))
}
