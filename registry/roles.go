package registry

import (
	"context"

	"github.com/sovereign-stack/sovereign/apperr"
)

// ErrLastAdmin refuses to take the admin role from the only admin.
var ErrLastAdmin = apperr.New(apperr.Conflict, "LAST_ADMIN", "this is the only admin: make another account admin first")

// SetRoleDirect gives the account with email the role (admin or developer) without a caller:
// the operator's command-line path (`sovereign developer make-admin EMAIL`), run on the
// registry's own machine. It is how an admin who signs in with a password (the portal) comes
// to be: the admin account `sovereign up` creates has an API key and no password. The last
// admin keeps the role (ErrLastAdmin).
func (a *Accounts) SetRoleDirect(ctx context.Context, email string, role Role) (*Developer, error) {
	if role != RoleAdmin && role != RoleDeveloper {
		return nil, apperr.New(apperr.Invalid, "INVALID_FIELD", "role must be admin or developer").With("field", "role")
	}
	e, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	var out *Developer
	err = a.store.Tx(ctx, func(s AccountStore) error {
		d, err := s.DeveloperByEmail(ctx, e)
		if err != nil {
			return err
		}
		if d.Role == RoleAdmin && role != RoleAdmin {
			n, err := s.CountAdmins(ctx)
			if err != nil {
				return err
			}
			if n <= 1 {
				return ErrLastAdmin
			}
		}
		if d.Role != role {
			d.Role, d.UpdatedAt = role, a.clock()
			if err := s.UpdateDeveloper(ctx, d); err != nil {
				return err
			}
		}
		out = d
		return nil
	})
	return out, err
}
