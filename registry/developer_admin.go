package registry

import (
	"context"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/policy"
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
	return a.byEmailDirect(ctx, email, func(s AccountStore, d *Developer) (*Developer, error) {
		if d.Role == RoleAdmin && role != RoleAdmin {
			n, err := s.CountAdmins(ctx)
			if err != nil {
				return nil, err
			}
			if n <= 1 {
				return nil, ErrLastAdmin
			}
		}
		if d.Role != role {
			d.Role, d.UpdatedAt = role, a.clock()
			if err := s.UpdateDeveloper(ctx, d); err != nil {
				return nil, err
			}
		}
		return d, nil
	})
}

// byEmailDirect runs change in one transaction on the account with email, without a caller
// (the operator's command-line paths), and returns what change returns.
func (a *Accounts) byEmailDirect(ctx context.Context, email string, change func(s AccountStore, d *Developer) (*Developer, error)) (*Developer, error) {
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
		out, err = change(s, d)
		return err
	})
	return out, err
}

// ErrDeveloperSuspended refuses every credential of a suspended developer account.
var ErrDeveloperSuspended = apperr.New(apperr.Forbidden, "DEVELOPER_SUSPENDED", "this developer account is suspended; an admin can reactivate it")

// ErrSuspendSelf refuses an admin's suspension of their own account.
var ErrSuspendSelf = apperr.New(apperr.Conflict, "CANNOT_SUSPEND_SELF", "you cannot suspend your own account")

// SetDeveloperSuspended suspends (suspended true) or reactivates a developer account (admins,
// as the policy decides with developer.suspend). A suspension ends every session of the
// account at once; its API keys are refused while it lasts (they work again after a
// reactivation, its sessions do not). An admin cannot suspend their own account.
func (a *Accounts) SetDeveloperSuspended(ctx context.Context, caller policy.Subject, id string, suspended bool) (*Developer, error) {
	if err := a.authorize(ctx, caller, policy.ActionDeveloperSuspend, developerResource(id)); err != nil {
		return nil, err
	}
	if suspended && caller.ID == id {
		return nil, ErrSuspendSelf
	}
	var out *Developer
	err := a.store.Tx(ctx, func(s AccountStore) error {
		d, err := s.Developer(ctx, id)
		if err != nil {
			return err
		}
		now := a.clock()
		switch {
		case suspended && d.SuspendedAt == nil:
			d.SuspendedAt = &now
			if err := s.RevokeDeveloperSessions(ctx, d.ID, now, "account suspended"); err != nil {
				return err
			}
		case !suspended && d.SuspendedAt != nil:
			d.SuspendedAt = nil
		default:
			out = d
			return nil
		}
		d.UpdatedAt = now
		out = d
		return s.UpdateDeveloper(ctx, d)
	})
	return out, err
}
