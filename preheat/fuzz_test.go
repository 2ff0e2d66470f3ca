package preheat_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/internal/testjobs"
	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/preheat"
)

// policyFields are the fields a refusal may name: Harbor's JSON names of
// a policy's fields.
var policyFields = map[string]bool{
	"name": true, "description": true, "project": true, "provider_id": true, "filters.repository": true, "filters.tag": true,
	"filters.label": true, "filters.vulnerability": true, "trigger.type": true, "trigger.trigger_setting.cron": true, "scope": true,
}

// FuzzPolicy: any policy (as a Go caller gives it, or JSON decodes it) is
// either refused by CheckPolicy with a FieldError naming one of its
// fields, or one the Service stores, schedules and reads back as it was
// given (its scope spelled out, a cron only on a scheduled trigger), and
// whose filters match names without failing.
func FuzzPolicy(f *testing.F) {
	for _, s := range []string{
		`{"name":"warm","project":"team","provider_id":1,"trigger":{"type":"manual"},"enabled":true}`,
		`{"name":"n","project":"team","provider_id":1,"filters":{"repository":"app/**","tag":"v*","label":["prod"],"signature":true,
		  "vulnerability":"High"},"trigger":{"type":"scheduled","trigger_setting":{"cron":"0 0 3 * * *"}},"scope":"all_peers"}`,
		`{"name":"e","project":"team","provider_id":1,"trigger":{"type":"event_based","trigger_setting":{"cron":"junk"}}}`,
		`{"name":"x","project":"team","provider_id":1,"filters":{"repository":"["},"trigger":{"type":"manual"}}`,
		`{"name":"x","project":"team","provider_id":1,"trigger":{"type":"scheduled","trigger_setting":{"cron":"@every 1h"}}}`,
		`{"name":"x y","project":"team"}`, `{"name":"x","project":"team","provider_id":1,"trigger":{"type":"weekly"}}`,
		`{"name":"x","project":"team","provider_id":1,"filters":{"vulnerability":"none"},"trigger":{"type":"manual"}}`,
		`{"name":"x","project":"team","provider_id":1,"scope":"nodes","trigger":{"type":"manual"}}`,
	} {
		f.Add(s)
	}
	store := teststores.Open(f)
	m, err := accounts.New(f.Context(), store, accounts.WithHashCost(bcrypt.MinCost))
	must(f, err)
	must(f, m.CreateProject(f.Context(), admin, "team", false))
	runner := testjobs.Runner(f, store)
	svc, err := preheat.New(store, testjobs.Queue(f, store), newStoreArtifacts(store), preheat.WithProvider("fake", newFake().factory),
		preheat.WithScheduler(runner))
	must(f, err)
	in, err := svc.CreateInstance(f.Context(), admin, preheat.Instance{Name: "df", Vendor: "fake", Endpoint: "https://df.example", Enabled: true})
	must(f, err)

	f.Fuzz(func(t *testing.T, body string) {
		var p preheat.Policy
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			return
		}
		err := preheat.CheckPolicy(p)
		if err != nil {
			var fe *preheat.FieldError
			if !errors.Is(err, preheat.ErrInvalid) || !errors.As(err, &fe) || !policyFields[fe.Field] || fe.Reason == "" {
				t.Fatalf("refusal %v of %s is not a FieldError naming a policy field", err, body)
			}
			return
		}
		p.Project, p.ProviderID = "team", in.ID
		_ = p.Filters.Names(p.Project, "team/app", "v1")
		created, err := svc.CreatePolicy(t.Context(), admin, p)
		if err != nil {
			t.Fatalf("CheckPolicy accepted %s, CreatePolicy refused it: %v", body, err)
		}
		defer func() { must(t, svc.DeletePolicy(t.Context(), admin, "team", p.Name)) }()
		got, err := svc.Policy(t.Context(), admin, "team", p.Name)
		must(t, err)
		want := p
		if want.Scope == "" {
			want.Scope = preheat.ScopeSinglePeer
		}
		if want.Trigger.Type != preheat.TriggerScheduled {
			want.Trigger.Settings = preheat.TriggerSettings{}
		}
		if len(want.Filters.Labels) == 0 {
			want.Filters.Labels = nil
		}
		want.ID, want.ProjectID, want.ProviderName, want.CreatedBy, want.CreatedAt, want.UpdatedAt =
			created.ID, created.ProjectID, "df", admin.Name, created.CreatedAt, created.UpdatedAt
		got.CreatedAt, got.UpdatedAt = created.CreatedAt, created.UpdatedAt
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("stored %+v,\nwant %+v", got, want)
		}
		cron, _, scheduled := runner.ScheduleOf(preheat.ScheduleName(created.ID))
		if wantSched := p.Enabled && p.Trigger.Type == preheat.TriggerScheduled; scheduled != wantSched || (scheduled && cron != p.Trigger.Settings.Cron) {
			t.Fatalf("scheduled %v (%q) for %+v", scheduled, cron, p)
		}
		if p.Trigger.Type == preheat.TriggerScheduled {
			if err := jobs.ValidSchedule(p.Trigger.Settings.Cron); err != nil {
				t.Fatalf("accepted cron %q: %v", p.Trigger.Settings.Cron, err)
			}
		}
	})
}
