package accounts

import (
	"errors"
	"testing"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/rbac"
)

// newRobot creates a robot as creator and logs it in.
func newRobot(t *testing.T, m *Manager, creator auth.Principal, spec RobotSpec) (auth.Principal, string) {
	t.Helper()
	name, secret, err := m.CreateRobot(t.Context(), creator, spec)
	if err != nil {
		t.Fatalf("CreateRobot %s: %v", spec.Name, err)
	}
	p, err := login(t, m, name, secret)
	if err != nil {
		t.Fatal(err)
	}
	return p, secret
}

// TestRobotManagersStayWithinTheirRights: refreshing, disabling, enabling
// and deleting a robot needs the target's grants and expiry within the
// acting principal's, as creating it does. The two takeovers an outside
// review found: a pull-only project robot holding robot update rotated a
// push+delete robot's secret; a system robot holding only robot list and
// update re-enabled an administrator's disabled "*" robot.
func TestRobotManagersStayWithinTheirRights(t *testing.T) {
	m, _, clock := clockedManager(t)
	ctx := t.Context()
	root := auth.Principal{Name: "root", Kind: auth.User, Admin: true}
	alice := auth.Principal{Name: "alice", Kind: auth.User}
	if err := m.CreateProject(ctx, alice, "team", false); err != nil {
		t.Fatal(err)
	}
	all := []string{auth.ActionPull, auth.ActionPush, auth.ActionDelete}
	strong, strongSecret := newRobot(t, m, alice, RobotSpec{Project: "team", Name: "strong",
		Grants: []Grant{{Project: "team", Pattern: "team/**", Actions: all}}})
	weak, _ := newRobot(t, m, alice, RobotSpec{Project: "team", Name: "weak", Grants: []Grant{
		{Project: "team", Pattern: "team/**", Actions: []string{auth.ActionPull}},
		{Project: "team", Resource: rbac.ResourceRobot, Actions: []string{rbac.ActionRead, rbac.ActionUpdate, rbac.ActionDelete}},
	}})

	if _, err := m.RotateRobotSecret(ctx, weak, strong.Name); !errors.Is(err, ErrForbidden) {
		t.Errorf("a pull-only robot rotates a push+delete robot's secret: %v", err)
	}
	if err := m.SetRobotDisabled(ctx, weak, strong.Name, true); !errors.Is(err, ErrForbidden) {
		t.Errorf("a pull-only robot disables a push+delete robot: %v", err)
	}
	if err := m.DeleteRobot(ctx, weak, strong.Name); !errors.Is(err, ErrForbidden) {
		t.Errorf("a pull-only robot deletes a push+delete robot: %v", err)
	}
	if _, err := login(t, m, strong.Name, strongSecret); err != nil {
		t.Errorf("the strong robot after the attempts: %v", err)
	}

	// Within its rights it manages robots; expiry counts too: a robot
	// that expires may not act on one that lives longer.
	puller, _ := newRobot(t, m, alice, RobotSpec{Project: "team", Name: "puller",
		Grants: []Grant{{Project: "team", Pattern: "team/app", Actions: []string{auth.ActionPull}}}})
	if _, err := m.RotateRobotSecret(ctx, weak, puller.Name); err != nil {
		t.Errorf("rotating a weaker robot's secret: %v", err)
	}
	if err := m.SetRobotDisabled(ctx, weak, puller.Name, true); err != nil {
		t.Errorf("disabling a weaker robot: %v", err)
	}
	if err := m.SetRobotDisabled(ctx, weak, puller.Name, false); err != nil {
		t.Errorf("enabling a weaker robot: %v", err)
	}
	brief, _ := newRobot(t, m, alice, RobotSpec{Project: "team", Name: "brief", ExpiresAt: clock.Add(time.Hour), Grants: []Grant{
		{Project: "team", Pattern: "team/**", Actions: []string{auth.ActionPull}},
		{Project: "team", Resource: rbac.ResourceRobot, Actions: []string{rbac.ActionUpdate}},
	}})
	if _, err := m.RotateRobotSecret(ctx, brief, puller.Name); !errors.Is(err, ErrForbidden) {
		t.Errorf("an expiring robot rotates the secret of one that never expires: %v", err)
	}
	if err := m.DeleteRobot(ctx, weak, puller.Name); err != nil {
		t.Errorf("deleting a weaker robot: %v", err)
	}

	// A robot without the permission, or anonymous, may not even try.
	if _, err := m.RotateRobotSecret(ctx, strong, weak.Name); !errors.Is(err, ErrForbidden) {
		t.Errorf("a robot without robot update: %v", err)
	}
	if err := m.SetRobotDisabled(ctx, auth.AnonymousPrincipal, weak.Name, true); !errors.Is(err, ErrForbidden) {
		t.Errorf("anonymous disables a robot: %v", err)
	}

	// The system robot holding only robot list and update.
	star, starSecret := newRobot(t, m, root, RobotSpec{Name: "star",
		Grants: []Grant{{Project: "*", Pattern: "**", Actions: all}}})
	if err := m.SetRobotDisabled(ctx, root, star.Name, true); err != nil {
		t.Fatal(err)
	}
	ops, _ := newRobot(t, m, root, RobotSpec{Name: "ops",
		Grants: []Grant{{Project: "*", Resource: rbac.ResourceRobot, Actions: []string{rbac.ActionRead, rbac.ActionUpdate}}}})
	if err := m.SetRobotDisabled(ctx, ops, star.Name, false); !errors.Is(err, ErrForbidden) {
		t.Errorf("a robot-managing system robot re-enables a disabled \"*\" robot: %v", err)
	}
	if _, err := m.RotateRobotSecret(ctx, ops, star.Name); !errors.Is(err, ErrForbidden) {
		t.Errorf("a robot-managing system robot rotates a \"*\" robot's secret: %v", err)
	}
	if _, err := login(t, m, star.Name, starSecret); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("the disabled \"*\" robot logs in: %v", err)
	}
	// A project robot's grants stay in its project; its manager there is
	// a user with no rights on "*".
	if err := m.SetRobotDisabled(ctx, alice, star.Name, false); !errors.Is(err, ErrForbidden) {
		t.Errorf("a project admin enables a system robot: %v", err)
	}

	// A robot never enables itself, even within its rights.
	if err := m.SetRobotDisabled(ctx, weak, weak.Name, false); !errors.Is(err, ErrForbidden) {
		t.Errorf("a robot enables itself: %v", err)
	}
	if err := m.SetRobotDisabled(ctx, weak, weak.Name, true); err != nil {
		t.Errorf("a robot disables itself: %v", err)
	}
}
