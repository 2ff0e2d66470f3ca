package accounts

import (
	"context"
	"errors"
	"fmt"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/meta"
)

// Principal returns the principal of account name as the store has it
// now, to re-check what a token issued to it may still do
// (guard.WithRecheck): a usable robot, or an enabled user account
// (directory users are recorded at their first verification, with the
// groups of their latest). Anything else, a deleted account included, is
// an error wrapping auth.ErrBadCredentials.
func (m *Manager) Principal(ctx context.Context, name string) (auth.Principal, error) {
	var (
		p      auth.Principal
		usable bool
	)
	err := m.store.View(ctx, func(tx meta.Tx) error {
		if IsRobot(name) {
			r, err := Robots.In(tx).Get(name)
			if err != nil {
				return err
			}
			p = auth.Principal{Name: r.Name, Kind: auth.Robot}
			usable = m.robotUsable(r)
			return nil
		}
		u, err := Users.In(tx).Get(name)
		if err != nil {
			return err
		}
		p, usable = userPrincipal(u), !u.Disabled
		return nil
	})
	switch {
	case errors.Is(err, meta.ErrNotFound) || (err == nil && !usable):
		return auth.Principal{}, fmt.Errorf("%s: %w", name, auth.ErrBadCredentials)
	case err != nil:
		return auth.Principal{}, err
	}
	return p, nil
}
