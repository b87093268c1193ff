package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/registry"
	"github.com/sovereign-stack/sovereign/server"
)

func newDeveloper(f *flags) *cobra.Command {
	c := &cobra.Command{Use: "developer", Short: "Operator actions on developer accounts"}
	c.AddCommand(&cobra.Command{
		Use:   "verify EMAIL",
		Short: "Mark a developer's email verified (for installations without SMTP)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return onLocalStore(cmd, f, func(srv *server.Server) error {
				d, err := srv.Accounts().VerifyEmailDirect(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "verified %s (%s)\n", d.Email, d.ID)
				return nil
			})
		},
	})
	var revoke bool
	makeAdmin := &cobra.Command{
		Use:   "make-admin EMAIL",
		Short: "Give a developer the admin role (so they can use the portal's admin pages with their password)",
		Long: `make-admin gives the account with EMAIL the admin role, on this machine's store. The admin
account 'sovereign up' creates signs in with its API key only; an admin who uses the portal signs
up as a developer first, then an operator runs this. --revoke takes the role away again.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return onLocalStore(cmd, f, func(srv *server.Server) error {
				role := registry.RoleAdmin
				if revoke {
					role = registry.RoleDeveloper
				}
				d, err := srv.Accounts().SetRoleDirect(cmd.Context(), args[0], role)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s (%s) is now %s\n", d.Email, d.ID, d.Role)
				return nil
			})
		},
	}
	makeAdmin.Flags().BoolVar(&revoke, "revoke", false, "take the admin role away instead")
	c.AddCommand(makeAdmin)
	return c
}

// onLocalStore runs fn with a server built on this machine's configured store (the operator's
// commands act on the database directly, not through a running server's API).
func onLocalStore(cmd *cobra.Command, f *flags, fn func(*server.Server) error) error {
	cfg, err := f.load(cmd)
	if err != nil {
		return err
	}
	srv, err := server.New(cmd.Context(), server.Options{Config: cfg, Logger: newLogger("error")})
	if err != nil {
		return err
	}
	defer srv.Close()
	return fn(srv)
}
