package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
)

// addProjects records projects (as accounts would: the id is the sequence
// number of the event that records the creation).
func addProjects(t *testing.T, s meta.Store, names ...string) {
	t.Helper()
	if err := s.Update(t.Context(), func(tx meta.Tx) error {
		for _, n := range names {
			seq, err := tx.Events().Append(meta.Event{Type: "CREATE_PROJECT", Project: n, Resource: n})
			if err != nil {
				return err
			}
			if err := accounts.Projects.In(tx).Put(accounts.Project{ID: seq, Name: n}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// isPermanent reports an error the job queue does not retry.
func isPermanent(err error) bool { return fmt.Sprintf("%T", err) == "jobs.permanent" }

func hook(project, name, address string) Policy {
	return Policy{Name: name, Project: project, EventTypes: []string{"PUSH_ARTIFACT"}, Enabled: true,
		Targets: []Target{{Type: "http", Address: address}}}
}

// TestPolicyNamesPerProject: a policy name is unique within its project
// only (system policies have a scope of their own); every policy gets an
// id of its own, never one a deleted policy had.
func TestPolicyNamesPerProject(t *testing.T) {
	s := teststores.Open(t)
	addProjects(t, s, "a", "b")
	ps := newPolicies(t, s)
	ctx := t.Context()
	pa, err := ps.Create(ctx, hook("a", "deploy", "https://a.example/hook"))
	if err != nil {
		t.Fatal(err)
	}
	pb, err := ps.Create(ctx, hook("b", "deploy", "https://b.example/hook"))
	if err != nil {
		t.Fatalf("the same name in another project: %v", err)
	}
	sys, err := ps.Create(ctx, hook("", "deploy", "https://sys.example/hook"))
	if err != nil {
		t.Fatalf("the same name as a system policy: %v", err)
	}
	if _, err := ps.Create(ctx, hook("a", "deploy", "https://a2.example/hook")); !errors.Is(err, ErrExists) {
		t.Errorf("a second deploy in a: %v, want ErrExists", err)
	}
	if pa.ID == 0 || pb.ID == 0 || sys.ID == 0 || pa.ID == pb.ID || pb.ID == sys.ID || pa.ID == sys.ID {
		t.Errorf("ids %d %d %d", pa.ID, pb.ID, sys.ID)
	}
	if got, err := ps.Get(ctx, "b", "deploy"); err != nil || got.Targets[0].Address != "https://b.example/hook" {
		t.Errorf("Get b/deploy = %+v, %v", got, err)
	}
	if err := ps.Delete(ctx, "a", "deploy"); err != nil {
		t.Fatal(err)
	}
	again, err := ps.Create(ctx, hook("a", "deploy", "https://a.example/hook"))
	if err != nil || again.ID <= max(pa.ID, pb.ID, sys.ID) {
		t.Errorf("re-created deploy: id %d (before: %d), %v", again.ID, pa.ID, err)
	}
	if _, err := ps.Create(ctx, hook("gone", "deploy", "https://x.example/hook")); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("a policy of a missing project: %v", err)
	}
	if _, err := ps.Create(ctx, hook("a", "x/y", "https://x.example/hook")); !errors.Is(err, ErrInvalid) {
		t.Errorf("a name with a slash: %v", err)
	}
}

// TestDeletedPolicyLeavesNothing: deleting a policy deletes its delivery
// log and its pending delivery jobs; a retry of the old policy is not sent
// to a new policy of the same name (another project's, another receiver).
func TestDeletedPolicyLeavesNothing(t *testing.T) {
	old, other := newReceiver(t, 500), newReceiver(t, 200)
	s := newStack(t, jobs.KindOptions{MaxAttempts: 1000, Backoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	addProjects(t, s.store, "team", "evil")
	ps := newPolicies(t, s.store)
	if _, err := ps.Create(t.Context(), hook("team", "deploy", old.url+"/?token=team-secret")); err != nil {
		t.Fatal(err)
	}
	s.push(t, "team/app:v1")
	eventually.True(t, "a failed attempt", func() bool { return len(old.requests()) >= 1 })
	dels := s.deliveries(t)
	if len(dels) != 1 {
		t.Fatalf("deliveries %+v", dels)
	}
	if err := ps.Delete(t.Context(), "team", "deploy"); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.Create(t.Context(), hook("evil", "deploy", other.url)); err != nil {
		t.Fatal(err)
	}
	// The old job is gone, or ended without reaching the new receiver.
	eventually.True(t, "the old job to end", func() bool {
		j, err := s.queue.Get(context.Background(), dels[0].JobID)
		return errors.Is(err, meta.ErrNotFound) || err == nil && !j.State.Active()
	})
	time.Sleep(50 * time.Millisecond) // time for a wrong delivery to show
	if n := len(other.requests()); n != 0 {
		t.Errorf("the new policy's receiver got %d deliveries of the old policy", n)
	}
	if left := s.deliveries(t); len(left) != 0 {
		t.Errorf("the delivery log kept %+v", left)
	}
	if got, err := ps.Deliveries(t.Context(), "evil", "deploy"); err != nil || len(got) != 0 {
		t.Errorf("the new policy's deliveries: %+v, %v", got, err)
	}
}

// TestJobOfAnotherPolicyDropped: a delivery job names its policy's id; a
// job whose policy was replaced by another of the same name (or deleted
// behind its back) fails for good without sending anything.
func TestJobOfAnotherPolicyDropped(t *testing.T) {
	recv := newReceiver(t, 200)
	s := teststores.Open(t)
	addProjects(t, s, "team")
	ps := newPolicies(t, s)
	p, err := ps.Create(t.Context(), hook("team", "deploy", recv.url))
	if err != nil {
		t.Fatal(err)
	}
	var seq uint64
	if err := s.Update(t.Context(), func(tx meta.Tx) error {
		seq, err = tx.Events().Append(meta.Event{Type: "PUSH_ARTIFACT", Project: "team", Repository: "team/app", Tag: "v1"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	d := newDeliverer(t, s, "registry.example", WithGuard(loopbackAllowed))
	for what, payload := range map[string]delivery{
		"an older policy's job": {Policy: "deploy", Project: "team", PolicyID: p.ID - 1, Seq: seq},
		"a job of no id":        {Policy: "deploy", Project: "team", Seq: seq},
		"another project's job": {Policy: "deploy", Project: "other", PolicyID: p.ID, Seq: seq},
	} {
		raw, _ := json.Marshal(payload)
		err := d.Run(t.Context(), meta.Job{ID: 1, Kind: JobKind, Payload: raw})
		if !isPermanent(err) {
			t.Errorf("%s: %v, want a permanent error", what, err)
		}
	}
	if n := len(recv.requests()); n != 0 {
		t.Errorf("the receiver got %d", n)
	}
	raw, _ := json.Marshal(delivery{Policy: "deploy", Project: "team", PolicyID: p.ID, Seq: seq})
	if err := d.Run(t.Context(), meta.Job{ID: 2, Kind: JobKind, Payload: raw}); err != nil || len(recv.requests()) != 1 {
		t.Errorf("the policy's own job: %v, %d requests", err, len(recv.requests()))
	}
}

// TestLegacyPolicyJobs: policies and jobs from before ids (zero) keep
// working: a job without an id is sent to the id-less policy of its name,
// never to a policy created since.
func TestLegacyPolicyJobs(t *testing.T) {
	recv := newReceiver(t, 200)
	s := teststores.Open(t)
	var seq uint64
	if err := s.Update(t.Context(), func(tx meta.Tx) error {
		if err := PolicyRecords.In(tx).Put(hook("team", "legacy", recv.url)); err != nil {
			return err
		}
		var err error
		seq, err = tx.Events().Append(meta.Event{Type: "PUSH_ARTIFACT", Project: "team", Repository: "team/app", Tag: "v1"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	d := newDeliverer(t, s, "registry.example", WithGuard(loopbackAllowed))
	raw, _ := json.Marshal(map[string]any{"policy": "legacy", "target": 0, "seq": seq})
	if err := d.Run(t.Context(), meta.Job{ID: 1, Kind: JobKind, Payload: raw}); err != nil || len(recv.requests()) != 1 {
		t.Fatalf("a legacy job: %v, %d requests", err, len(recv.requests()))
	}
	ps := newPolicies(t, s)
	if err := ps.Delete(t.Context(), "team", "legacy"); err != nil {
		t.Fatal(err)
	}
	addProjects(t, s, "team2")
	if _, err := ps.Create(t.Context(), hook("team2", "legacy", recv.url)); err != nil {
		t.Fatal(err)
	}
	if err := d.Run(t.Context(), meta.Job{ID: 2, Kind: JobKind, Payload: raw}); !isPermanent(err) || len(recv.requests()) != 1 {
		t.Errorf("a legacy job after its policy went: %v, %d requests", err, len(recv.requests()))
	}
}

// TestUpdateKeepsSecretsOfSameAddress: an Update that leaves a target's
// secrets out keeps those of the stored target with the same address
// (wherever it is in the list), and drops them for a new address.
func TestUpdateKeepsSecretsOfSameAddress(t *testing.T) {
	s := teststores.Open(t)
	addProjects(t, s, "team")
	ps := newPolicies(t, s)
	p := hook("team", "deploy", "https://one.example/")
	p.Targets[0].Secret, p.Targets[0].AuthHeader = "one-secret", "Bearer one"
	p.Targets = append(p.Targets, Target{Type: "http", Address: "https://two.example/", AuthHeader: "Bearer two"})
	p, err := ps.Create(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	both := []Keep{{Secret: true, AuthHeader: true}, {Secret: true, AuthHeader: true}}
	p.Targets = []Target{{Type: "http", Address: "https://two.example/"}, {Type: "http", Address: "https://one.example/"}}
	got, err := ps.Update(t.Context(), p, both)
	if err != nil || got.Targets[0].AuthHeader != "Bearer two" || got.Targets[1].Secret != "one-secret" || got.Targets[1].AuthHeader != "Bearer one" {
		t.Errorf("reordered: %+v, %v", got.Targets, err)
	}
	p.Targets = []Target{{Type: "http", Address: "https://evil.example/"}, {Type: "http", Address: "https://one.example/", Secret: "new"}}
	got, err = ps.Update(t.Context(), p, []Keep{{Secret: true, AuthHeader: true}, {AuthHeader: true}})
	if err != nil || got.Targets[0].Secret != "" || got.Targets[0].AuthHeader != "" || got.Targets[1].Secret != "new" || got.Targets[1].AuthHeader != "Bearer one" {
		t.Errorf("a new address and a new secret: %+v, %v", got.Targets, err)
	}
	if stored, _ := ps.Get(t.Context(), "team", "deploy"); stored.ID != p.ID || stored.Targets[0].Secret != "" {
		t.Errorf("stored %+v", stored)
	}
}

// TestPolicyOfEarlierProject: a policy an earlier project of the same name
// left (its project ID is not the current project's) is not the current
// project's: not listed, not found, sends nothing, and a new policy of its
// name replaces it.
func TestPolicyOfEarlierProject(t *testing.T) {
	recv := newReceiver(t, 200)
	s := newStack(t, jobs.KindOptions{}, hook("team", "stale", recv.url))
	addProjects(t, s.store, "team")
	ps := newPolicies(t, s.store)
	if got, err := ps.List(t.Context(), "team"); err != nil || len(got) != 0 {
		t.Errorf("List = %+v, %v", got, err)
	}
	if _, err := ps.Get(t.Context(), "team", "stale"); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("Get = %v", err)
	}
	witness := newReceiver(t, 200)
	if _, err := ps.Create(t.Context(), hook("", "witness", witness.url)); err != nil {
		t.Fatal(err)
	}
	s.push(t, "team/app:v1")
	eventually.True(t, "the witness's delivery", func() bool { return len(witness.requests()) == 1 })
	time.Sleep(50 * time.Millisecond) // time for a wrong delivery to show
	if n := len(recv.requests()); n != 0 {
		t.Errorf("the stale policy sent %d", n)
	}
	p, err := ps.Create(t.Context(), hook("team", "stale", recv.url))
	if err != nil || p.ID == 0 {
		t.Fatalf("a new policy of the name: %+v, %v", p, err)
	}
}

// newPolicies returns the policies kept in s.
func newPolicies(t *testing.T, s meta.Store) *Policies {
	t.Helper()
	ps, err := NewPolicies(s)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// TestPoliciesValidate: every rule of a policy is the Policies' own, so a
// host creating or updating policies from Go gets the admin API's checks
// and errors (ErrInvalid naming the field as the API spells it, ErrExists,
// meta.ErrNotFound for a missing project or policy).
func TestPoliciesValidate(t *testing.T) {
	s := teststores.Open(t)
	addProjects(t, s, "team")
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	ps, err := NewPolicies(s, WithClock(func() time.Time { return at }))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	bad := []struct {
		field  string
		change func(*Policy)
	}{
		{"name", func(p *Policy) { p.Name = "" }},
		{"name", func(p *Policy) { p.Name = "a/b" }},
		{"repositories", func(p *Policy) { p.Repositories = "team/[" }},
		{"event_types", func(p *Policy) { p.EventTypes = nil }},
		{"event_types[0]", func(p *Policy) { p.EventTypes = []string{"PUSH"} }},
		{"targets", func(p *Policy) { p.Targets = nil }},
		{"targets[0].type", func(p *Policy) { p.Targets[0].Type = "email" }},
		{"targets[0].address", func(p *Policy) { p.Targets[0].Address = "ftp://x.example/" }},
		{"targets[0].payload_format", func(p *Policy) { p.Targets[0].Format = "xml" }},
		{"targets[0].payload_format", func(p *Policy) { p.Targets[0].Type, p.Targets[0].Format = "slack", "cloudevents" }},
		{"targets[0].timeout_seconds", func(p *Policy) { p.Targets[0].Timeout = MaxTimeout + time.Second }},
	}
	for _, b := range bad {
		p := hook("team", "deploy", "https://x.example/hook")
		b.change(&p)
		_, createErr := ps.Create(ctx, p)
		if !errors.Is(createErr, ErrInvalid) || !strings.Contains(createErr.Error(), ": "+b.field+":") {
			t.Errorf("Create with a bad %s: %v", b.field, createErr)
		}
		if verr := Validate(p); verr == nil || verr.Error() != createErr.Error() {
			t.Errorf("Validate and Create disagree on a bad %s: %v / %v", b.field, verr, createErr)
		}
	}
	p, err := ps.Create(ctx, hook("team", "deploy", "https://x.example/hook"))
	if err != nil || !p.CreatedAt.Equal(at) || p.ID == 0 {
		t.Fatalf("Create: %+v, %v", p, err)
	}
	if _, err := ps.Create(ctx, hook("team", "deploy", "https://y.example/hook")); !errors.Is(err, ErrExists) {
		t.Errorf("a second deploy: %v, want ErrExists", err)
	}
	if _, err := ps.Create(ctx, hook("nosuch", "deploy", "https://y.example/hook")); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("a policy of a missing project: %v, want meta.ErrNotFound", err)
	}
	p.EventTypes = []string{"NOPE"}
	if _, err := ps.Update(ctx, p, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("Update with a bad event type: %v, want ErrInvalid", err)
	}
	p.EventTypes, p.Name = []string{"PUSH_ARTIFACT"}, "other"
	if _, err := ps.Update(ctx, p, nil); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("Update of a missing policy: %v, want meta.ErrNotFound", err)
	}

	if _, err := NewPolicies(nil); err == nil {
		t.Error("NewPolicies(nil): no error")
	}
	if _, err := NewPolicies(s, WithClock(nil)); err == nil {
		t.Error("NewPolicies with a nil clock: no error")
	}
}
