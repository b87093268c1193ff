package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/server"
)

func newDeveloper(f *flags) *cobra.Command {
	c := &cobra.Command{Use: "developer", Short: "Operator actions on developer accounts"}
	c.AddCommand(&cobra.Command{
		Use:   "verify EMAIL",
		Short: "Mark a developer's email verified (for installations without SMTP)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := f.load(cmd)
			if err != nil {
				return err
			}
			srv, err := server.New(cmd.Context(), server.Options{Config: cfg, Logger: newLogger("error")})
			if err != nil {
				return err
			}
			defer srv.Close()
			d, err := srv.Accounts().VerifyEmailDirect(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "verified %s (%s)\n", d.Email, d.ID)
			return nil
		},
	})
	return c
}
