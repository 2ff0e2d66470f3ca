package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// The accounts and names of the scenarios.
const (
	project       = "team"
	guestUser     = "gina"
	guestPassword = "Gina-Password-1"
	guestEmail    = "gina@example.org"
	labelName     = "release"
)

// alpineCVEs are the vulnerabilities the built-in scanner finds in the
// Alpine fixture (with the OSV fixtures), by package: 7 in all, one
// critical, two high, four medium (libssl3 shares libcrypto3's).
var alpineCVEs = map[string]string{
	"CVE-2022-48174": "busybox",
	"CVE-2023-2975":  "libcrypto3",
	"CVE-2023-3446":  "libcrypto3",
	"CVE-2023-5363":  "libcrypto3",
}

// alpineVulns is how many vulnerabilities the scan reports.
const alpineVulns = 7

// team is what the scenarios after the first start from, made through
// the admin API and crane: the private project "team" holding
// team/alpine:3.18 (the Alpine fixture, pushed by the administrator), the
// user gina as its guest, and the project label "release".
type team struct {
	b      *berth
	crane  *crane
	digest string // of team/alpine:3.18
	id     uint64 // the project's id
}

// newTeam makes the team fixture on b.
func newTeam(t *testing.T, b *berth) *team {
	t.Helper()
	b.api(t, "POST", "/projects", `{"project_name":"`+project+`","metadata":{"public":"false"}}`, 201)
	var p struct {
		ID uint64 `json:"project_id"`
	}
	if err := json.Unmarshal(b.api(t, "GET", "/projects/"+project, "", 200), &p); err != nil {
		t.Fatal(err)
	}
	b.api(t, "POST", "/users", fmt.Sprintf(`{"username":%q,"email":%q,"realname":"Gina Guest","password":%q}`, guestUser, guestEmail, guestPassword), 201)
	b.api(t, "POST", "/projects/"+project+"/members", `{"role_id":3,"member_user":{"username":"`+guestUser+`"}}`, 201)
	b.api(t, "POST", "/labels", fmt.Sprintf(`{"name":%q,"scope":"p","project_id":%d}`, labelName, p.ID), 201)
	c := b.newCrane(t, "admin", adminPassword)
	return &team{b: b, crane: c, digest: c.pushAlpine(t, project+"/alpine", "3.18"), id: p.ID}
}

// artifactJSON is what the scenarios read of an artifact from the API.
type artifactJSON struct {
	Digest string `json:"digest"`
	Tags   []struct {
		Name string `json:"name"`
	} `json:"tags"`
	Labels []struct {
		Name string `json:"name"`
	} `json:"labels"`
}

// artifact reads an artifact of repo (within project) from the API, with
// its tags and labels.
func (b *berth) artifact(t testing.TB, repo, ref string) artifactJSON {
	t.Helper()
	var a artifactJSON
	path := "/projects/" + project + "/repositories/" + url.PathEscape(repo) + "/artifacts/" + ref + "?with_tag=true&with_label=true"
	if err := json.Unmarshal(b.api(t, "GET", path, "", 200), &a); err != nil {
		t.Fatal(err)
	}
	return a
}

// pullToken asks the registry's token service for a pull token of repo
// as user with secret: nil when it issues one.
func (b *berth) pullToken(user, secret, repo string) error {
	reg, err := name.NewRegistry(b.host, name.Insecure)
	if err != nil {
		return err
	}
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	_, err = transport.NewWithContext(context.Background(), reg, &authn.Basic{Username: user, Password: secret}, base,
		[]string{reg.Repo(repo).Scope(transport.PullScope)})
	return err
}
