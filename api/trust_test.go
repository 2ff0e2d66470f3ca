package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/storage/memory"
	"github.com/berthreg/berth/trust"
)

// anyKey accepts every key and identity and verifies nothing: the API
// only translates, and trust/cosign is tested on its own.
type anyKey struct{}

func (anyKey) CheckKey(k string) error {
	if k == "bad" {
		return errors.New("not a key")
	}
	return nil
}
func (anyKey) CheckIdentity(trust.Identity) error { return nil }
func (anyKey) VerifyLegacy(trust.LegacySignature, digest.Digest, trust.Signers) error {
	return errors.New("unverified")
}
func (anyKey) VerifyBundle([]byte, digest.Digest, trust.Signers) error {
	return errors.New("unverified")
}

func TestTrustSettings(t *testing.T) {
	store := openStore(t)
	svc, err := trust.New(store, memory.New(), anyKey{})
	if err != nil {
		t.Fatal(err)
	}
	url, _ := newAPIOn(t, store, WithTrust(svc))
	admin := client{t, url, "admin", "admin-password"}
	alice := client{t, url, "alice", "alice-password"}
	bob := client{t, url, "bob", "bob-password"}
	alice.want("POST", "/projects", `{"project_name":"team","metadata":{"public":"true"}}`, http.StatusCreated, "")
	base := "/projects/team/trust"

	_, out := admin.want("GET", base, "", http.StatusOK, "")
	var got trustJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Enabled || got.Keys == nil || got.Identities == nil {
		t.Fatalf("settings before: %s", out)
	}
	body := `{"enabled":true,"keys":["k"],"identities":[{"issuer":"https://issuer.test","subject_regexp":".+@example\\.test"}]}`
	bob.want("PUT", base, body, http.StatusForbidden, "FORBIDDEN")
	alice.want("PUT", base, body, http.StatusOK, "")
	_, out = admin.want("GET", base, "", http.StatusOK, "")
	if err := json.Unmarshal([]byte(out), &got); err != nil || !got.Enabled || len(got.Keys) != 1 || len(got.Identities) != 1 ||
		got.Identities[0] != (identityJSON{Issuer: "https://issuer.test", SubjectRegExp: `.+@example\.test`}) {
		t.Fatalf("settings after: %s", out)
	}
	for field, bad := range map[string]string{
		"keys[0]":               `{"enabled":true,"keys":["bad"]}`,
		"identities[0].issuer":  `{"enabled":true,"identities":[{"subject":"a@b"}]}`,
		"identities[0].subject": `{"enabled":true,"identities":[{"issuer":"https://i","subject":"a","subject_regexp":"b"}]}`,
		"keys":                  `{"enabled":true}`,
	} {
		_, out := alice.want("PUT", base, bad, http.StatusBadRequest, "BAD_REQUEST")
		if !strings.Contains(out, field) {
			t.Errorf("bad %s not named: %s", field, out)
		}
	}
}
