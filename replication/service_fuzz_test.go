package replication

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/berthreg/berth/internal/testjobs"
	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/meta"
)

// jsonFields are the JSON names of a record type's fields.
func jsonFields(v any) map[string]bool {
	out := map[string]bool{}
	t := reflect.TypeOf(v)
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out[name] = true
	}
	return out
}

// wantFieldError fails unless err is ErrInvalid, a *FieldError naming
// only fields of the record (by their JSON names) and saying why.
func wantFieldError(t *testing.T, err error, fields map[string]bool) {
	t.Helper()
	var fe *FieldError
	if !errors.Is(err, ErrInvalid) || !errors.As(err, &fe) || fe.Reason == "" {
		t.Fatalf("refusal %v is not a FieldError", err)
	}
	for _, f := range strings.Split(fe.Field, ", ") {
		if !fields[f] {
			t.Fatalf("refusal %q names %q, not a field of the record", err, f)
		}
	}
}

// FuzzReplicationPolicy: any policy record (as a Go caller or the store
// holds it) is either refused by CheckPolicy with a FieldError naming
// one of its fields, or one that the engine can run: it resolves into
// a Policy with a usable filter, and reads back from its JSON the same.
func FuzzReplicationPolicy(f *testing.F) {
	for _, s := range []string{
		`{"name":"p","destination":"dc2","trigger":"manual","enabled":true}`,
		`{"name":"p","source":"dc2","namespace":"cache","flatten":-1,"repositories":["team/**"],"excludeTags":["v*"],"labels":["a=b"],
		  "trigger":"scheduled","cron":"0 0 * * * *"}`,
		`{"name":"p","destination":"dc2","artifactTypes":["image"],"trigger":"event_based","speed":5}`,
		`{"name":"p","destination":"dc2","tags":["["]}`, `{"name":"x","trigger":"weekly"}`, `{"name":"bad name"}`,
		`{"name":"p","destination":"dc2","labels":["=v"],"trigger":"manual"}`, `{"name":"p","source":"dc2","destination":"dc2"}`,
	} {
		f.Add(s)
	}
	store := teststores.Open(f)
	if err := store.Update(f.Context(), func(tx meta.Tx) error {
		return Registries.In(tx).Put(Registry{Name: "dc2", URL: "https://dc2.example"})
	}); err != nil {
		f.Fatal(err)
	}
	e, err := NewEngine(store, testjobs.Queue(f, store), WithLocalTransport(http.DefaultTransport))
	if err != nil {
		f.Fatal(err)
	}
	fields := jsonFields(PolicyRecord{})
	f.Fuzz(func(t *testing.T, body string) {
		var rec PolicyRecord
		if err := json.Unmarshal([]byte(body), &rec); err != nil {
			return
		}
		err := store.View(t.Context(), func(tx meta.Tx) error {
			if err := CheckPolicy(tx, rec); err != nil {
				return err
			}
			p, err := e.resolve(tx, rec, nil)
			if err != nil {
				t.Fatalf("accepted %+v does not resolve: %v", rec, err)
			}
			if err := p.Filter.Check(); err != nil {
				t.Fatalf("accepted %+v has a filter Plan refuses: %v", rec, err)
			}
			return nil
		})
		if err != nil {
			wantFieldError(t, err, fields)
			return
		}
		raw, _ := json.Marshal(rec)
		var again PolicyRecord
		if err := json.Unmarshal(raw, &again); err != nil || !reflect.DeepEqual(normalized(again), normalized(rec)) {
			t.Fatalf("round trip changed the policy:\n%+v\n%+v (%v)", rec, again, err)
		}
	})
}

// normalized is a policy with its empty lists nil (omitempty drops
// them).
func normalized(p PolicyRecord) PolicyRecord {
	for _, l := range []*[]string{&p.Repositories, &p.ExcludeRepositories, &p.Tags, &p.ExcludeTags, &p.Labels, &p.ArtifactTypes} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return p
}

// FuzzRegistryEndpoint: any endpoint record is either refused by the
// service's check with a FieldError naming one of its fields, or one
// whose address the engine can use (scheme and host only), and which
// the service returns without its password.
func FuzzRegistryEndpoint(f *testing.F) {
	for _, s := range []string{
		`{"name":"dc2","url":"https://dc2.example:5000","username":"u","password":"s3cret"}`,
		`{"name":"x","url":"http://127.0.0.1:5000/path"}`, `{"name":"x","url":"ftp://h"}`, `{"url":"http://h"}`,
		`{"name":"x","url":"https://h","caCert":"nope"}`, `{"name":"x","url":"http://u:p@h"}`, `{"name":"x y","url":"http://h"}`,
		`{"name":"x","url":"http://h","password":"s3cret"}`, `{"name":"x","url":"http://10.0.0.1"}`,
	} {
		f.Add(s)
	}
	store := teststores.Open(f)
	eng, err := NewEngine(store, testjobs.Queue(f, store))
	if err != nil {
		f.Fatal(err)
	}
	svc, err := NewService(store, eng)
	if err != nil {
		f.Fatal(err)
	}
	fields := jsonFields(Registry{})
	f.Fuzz(func(t *testing.T, body string) {
		var rec Registry
		if err := json.Unmarshal([]byte(body), &rec); err != nil {
			return
		}
		if err := svc.checkRegistry(rec); err != nil {
			wantFieldError(t, err, fields)
			return
		}
		r, err := RemoteOf(rec)
		if err != nil || r.Host == "" || strings.ContainsAny(r.Host, "/@?#") {
			t.Fatalf("accepted %+v gives host %q (%v)", rec, r.Host, err)
		}
		out := redacted(rec)
		if raw, _ := json.Marshal(out); out.Password != "" || out.HasPassword != (rec.Password != "") || strings.Contains(string(raw), `"password"`) {
			t.Fatalf("the password shows in %+v (%s)", out, raw)
		}
	})
}
