package accounts_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/meta/bolt"
)

// Example creates a user, a private project and a robot that may pull one
// repository pattern, then logs the robot in with the secret it got once.
func Example() {
	dir, _ := os.MkdirTemp("", "accounts-example")
	defer os.RemoveAll(dir)
	store, err := bolt.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		panic(err)
	}
	defer store.Close()
	ctx := context.Background()
	m, err := accounts.New(ctx, store)
	if err != nil {
		panic(err)
	}
	_ = m.SetUser(ctx, "alice", "alice-password", false)
	alice, _ := m.Authenticate(ctx, "alice", "alice-password")
	_ = m.CreateProject(ctx, alice, "team", false) // alice becomes its projectAdmin
	name, secret, err := m.CreateRobot(ctx, alice, accounts.RobotSpec{
		Project: "team", Name: "ci",
		Grants: []accounts.Grant{{Project: "team", Pattern: "team/app-*", Actions: []string{auth.ActionPull}}},
	})
	if err != nil {
		panic(err)
	}
	robot, err := m.Authenticate(ctx, name, secret)
	fmt.Println(robot.Name, robot.Kind, err)
	got, _ := m.Authorizer().Allowed(ctx, robot, auth.Resource{Type: auth.TypeRepository, Name: "team/app-web"},
		[]string{auth.ActionPull, auth.ActionPush})
	fmt.Println(got)
	// Output:
	// robot$team+ci robot <nil>
	// [pull]
}
