package api

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/replication"
)

// FuzzReplicationPolicyBody: any policy body either is refused with a
// message that names a field (what a 400 carries), or becomes a record
// that replication's check accepts and that reads back as the same JSON.
// (replication's FuzzReplicationPolicy fuzzes the check itself.)
func FuzzReplicationPolicyBody(f *testing.F) {
	for _, s := range []string{
		`{"name":"p","dest_registry":{"name":"dc2"},"trigger":{"type":"manual"},"enabled":true}`,
		`{"name":"p","src_registry":{"name":"dc2"},"dest_namespace":"cache","dest_namespace_replace_count":-1,
		  "filters":[{"type":"name","value":"team/**"},{"type":"tag","value":"v*","decoration":"excludes"},{"type":"label","value":["a=b"]}],
		  "trigger":{"type":"scheduled","trigger_settings":{"cron":"0 0 * * * *"}}}`,
		`{"name":"p","dest_registry":{"name":"dc2"},"filters":[{"type":"resource","value":"image"}],"trigger":{"type":"event_based"},"speed":-1}`,
		`{"filters":[{"type":"tag","value":"["}]}`, `{"name":"x","trigger":{"type":"weekly"}}`, `[]`, `{"filters":[{"type":"label","value":5}]}`,
	} {
		f.Add(s)
	}
	store := testbolt.Open(f)
	if err := store.Update(f.Context(), func(tx meta.Tx) error {
		return replication.Registries.In(tx).Put(replication.Registry{Name: "dc2", URL: "https://dc2.example"})
	}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var req replicationPolicyJSON
		if err := json.Unmarshal([]byte(body), &req); err != nil {
			return // the handler answers 400 with the decoder's message
		}
		rec, origins, err := fromReplicationPolicyJSON(req)
		if err == nil {
			err = store.View(t.Context(), func(tx meta.Tx) error { return replication.CheckPolicy(tx, rec) })
			if err != nil {
				err = policyError(err, origins)
			}
		}
		if err != nil {
			field, _, ok := strings.Cut(err.Error(), ": ")
			if !ok || field == "" {
				t.Fatalf("refusal %q names no field", err)
			}
			return
		}
		again, _, err := fromReplicationPolicyJSON(toReplicationPolicyJSON(rec))
		if err != nil {
			t.Fatalf("an accepted policy does not read back: %v", err)
		}
		a, _ := json.Marshal(toReplicationPolicyJSON(rec))
		b, _ := json.Marshal(toReplicationPolicyJSON(again))
		if string(a) != string(b) {
			t.Fatalf("round trip changed the policy:\n%s\n%s", a, b)
		}
	})
}

// FuzzRegistryEndpointBody: any endpoint body either is refused with a
// message naming a field, or yields a record whose address the engine
// can use (scheme and host only) and whose JSON never shows the secret.
// (replication's FuzzRegistryEndpoint fuzzes the check itself.)
func FuzzRegistryEndpointBody(f *testing.F) {
	for _, s := range []string{
		`{"name":"dc2","url":"https://dc2.example:5000","credential":{"type":"basic","access_key":"u","access_secret":"s3cret"}}`,
		`{"name":"x","url":"http://127.0.0.1:5000/path"}`, `{"name":"x","url":"ftp://h"}`, `{"url":"http://h"}`,
		`{"name":"x","url":"https://h","ca_cert":"nope"}`, `{"name":"x","url":"http://u:p@h"}`, `{"name":"x","url":"http://h","access_secret":"s3cret"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var req registryJSON
		if err := json.Unmarshal([]byte(body), &req); err != nil {
			return
		}
		rec := replication.Registry{Name: req.Name}
		_, err := applyRegistryJSON(&rec, req)
		if err == nil {
			if err = replication.CheckEndpoint(rec); err != nil {
				err = endpointError(err)
			}
		}
		if err != nil {
			if field, _, ok := strings.Cut(err.Error(), ": "); !ok || field == "" {
				t.Fatalf("refusal %q names no field", err)
			}
			return
		}
		r, err := replication.RemoteOf(rec)
		if err != nil || r.Host == "" || strings.ContainsAny(r.Host, "/@?#") {
			t.Fatalf("accepted %+v gives host %q (%v)", rec, r.Host, err)
		}
		out, _ := json.Marshal(toRegistryJSON(rec))
		if strings.Contains(string(out), "access_secret") {
			t.Fatalf("the secret shows in %s", out)
		}
	})
}
