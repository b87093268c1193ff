//go:build !linux

package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newSoak() *cobra.Command {
	return &cobra.Command{
		Use:   "soak",
		Short: "Run the split services under mixed load and faults (Linux only)",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("soak: runs on Linux only (it drives private PostgreSQL and Redis processes)")
		},
	}
}
