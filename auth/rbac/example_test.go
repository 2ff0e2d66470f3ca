package rbac_test

import (
	"context"
	"fmt"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/rbac"
)

// projects is a fixed ProjectLookup: "team" is private.
type projects struct{}

func (projects) Project(_ context.Context, name string) (rbac.Project, error) {
	if name != "team" {
		return rbac.Project{}, rbac.ErrNoProject
	}
	return rbac.Project{Name: "team"}, nil
}

// Example makes alice a developer of project team and a robot able to pull
// only team/app-* repositories.
func Example() {
	a, err := rbac.New(projects{})
	if err != nil {
		panic(err)
	}
	_ = a.AddMember("team", rbac.Subject(auth.User, "alice"), rbac.Developer)
	_ = a.AddGrant("team", rbac.Subject(auth.Robot, "robot$team+ci"), "team/app-*", auth.ActionPull)

	ctx := context.Background()
	actions := []string{auth.ActionPull, auth.ActionPush, auth.ActionDelete}
	alice := auth.Principal{Name: "alice", Kind: auth.User}
	robot := auth.Principal{Name: "robot$team+ci", Kind: auth.Robot}
	for _, c := range []struct {
		p    auth.Principal
		repo string
	}{{alice, "team/app"}, {robot, "team/app-web"}, {robot, "team/db"}} {
		got, _ := a.Allowed(ctx, c.p, auth.Resource{Type: auth.TypeRepository, Name: c.repo}, actions)
		fmt.Println(c.p.Name, c.repo, got)
	}
	// Output:
	// alice team/app [pull push]
	// robot$team+ci team/app-web [pull]
	// robot$team+ci team/db []
}
