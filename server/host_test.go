package server

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/scan/engine"
)

// TestHostPeopleAndBerthRobots: with the host's authenticator, the
// host's people sign in through it (and its groups carry project
// memberships made from Go), while robots the host issues through
// Accounts are checked by the server alone: their names never reach the
// host's authenticator. ProjectScans sets the pull gate from Go.
func TestHostPeopleAndBerthRobots(t *testing.T) {
	var mu sync.Mutex
	var asked []string
	people := auth.AuthenticatorFunc(func(_ context.Context, name, secret string) (auth.Principal, error) {
		mu.Lock()
		asked = append(asked, name)
		mu.Unlock()
		switch {
		case name == "ops" && secret == "ops-secret":
			return auth.Principal{Name: "ops", Kind: auth.User, Admin: true}, nil
		case name == "dev" && secret == "dev-secret":
			return auth.Principal{Name: "dev", Kind: auth.User, Groups: []string{"tenant-a"}}, nil
		}
		return auth.Principal{}, auth.ErrBadCredentials
	})
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	host, srv := serveServer(t, cfg, WithAuthenticator(people))
	ctx := t.Context()
	ops := auth.Principal{Name: "ops", Kind: auth.User, Admin: true}
	m := srv.Accounts()
	if m == nil || srv.ProjectScans() == nil {
		t.Fatal("Accounts or ProjectScans is nil with auth on")
	}
	for _, p := range []string{"a", "b"} {
		if err := m.CreateProject(ctx, ops, p, false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.AddMember(ctx, ops, "a", "group", "tenant-a", rbac.Developer); err != nil {
		t.Fatal(err)
	}
	robot, secret, err := m.CreateRobot(ctx, ops, accounts.RobotSpec{Project: "a", Name: "builder",
		Grants: []accounts.Grant{{Project: "a", Pattern: "a/**", Actions: []string{auth.ActionPull, auth.ActionPush}}}})
	if err != nil {
		t.Fatal(err)
	}
	push := func(ref, user, pass string) error {
		r, err := name.ParseReference(host+"/"+ref, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		img, _ := random.Image(256, 1)
		return remote.Write(r, img, remote.WithAuth(&authn.Basic{Username: user, Password: pass}))
	}
	if err := push("a/app:v1", robot, secret); err != nil {
		t.Errorf("the robot's push: %v", err)
	}
	if err := push("a/app:v1", robot, "wrong"); err == nil {
		t.Error("the robot pushed with a wrong secret")
	}
	if err := push("a/lib:v1", "dev", "dev-secret"); err != nil {
		t.Errorf("a push by a member through its group: %v", err)
	}
	if err := push("b/lib:v1", "dev", "dev-secret"); err == nil {
		t.Error("dev pushed to a project its groups are not members of")
	}
	if err := push("b/app:v1", robot, secret); err == nil {
		t.Error("the robot pushed outside its project")
	}
	mu.Lock()
	if i := slices.IndexFunc(asked, accounts.IsRobot); i >= 0 {
		t.Errorf("the host's authenticator was asked about %q", asked[i])
	}
	mu.Unlock()

	// The pull gate, from Go: unscanned images are refused.
	deny := true
	if err := srv.ProjectScans().Update(ctx, "a", engine.SettingsChange{DenyUnscanned: &deny}); err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(host+"/a/app:v1", name.Insecure)
	_, err = remote.Get(ref, remote.WithAuth(&authn.Basic{Username: "dev", Password: "dev-secret"}))
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusPreconditionFailed {
		t.Errorf("a pull of an unscanned image behind the gate: %v, want 412", err)
	}
}
