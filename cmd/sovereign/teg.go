package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
)

func newTeg(f *flags) *cobra.Command {
	c := &cobra.Command{Use: "teg", Short: "The token economy: ledger checks"}
	c.AddCommand(&cobra.Command{
		Use:   "verify",
		Short: "Replay the ledger's event log: check the hash chain, every balance and the supply",
		Long: `verify reads the whole hash-chained event log in one snapshot, recomputes every balance from
it, and compares them with the stored balances; it checks the chain (each event's hash covers the
previous one) and the supply (minted − burned = Σ balances). It rebuilds the staking records
(pools, delegations, unbonding entries) from the log, compares them with the stored ones, and
checks that the bonded, unbonding and reward accounts hold exactly what the records say. It
exits non-zero with the first discrepancy. The ledger is the store's: --store, or the SQLite
database of --data (DATA/sovereign.db), which must exist — a restored copy, for instance.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, err := f.load(cmd)
			if err != nil {
				return err
			}
			if path, ok := strings.CutPrefix(cfg.Store, "sqlite://"); ok && path != ":memory:" {
				if _, err := os.Stat(path); err != nil {
					return fmt.Errorf("teg verify: no ledger database at %s (are --data and --store right?)", path)
				}
			}
			db, err := store.Open(ctx, cfg.Store, store.WithLogger(newLogger(cfg.LogLevel)))
			if err != nil {
				return err
			}
			defer db.Close()
			l, err := openLedger(ctx, db)
			if err != nil {
				return err
			}
			defer l.Close()
			rep, err := l.Verify(ctx)
			if err != nil {
				return fmt.Errorf("teg verify: FAILED: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "teg verify: OK: %d events, %d accounts, %d staking records, head %d/%.16s…, minted %s, burned %s, supply %s, parameters version %d\n",
				rep.Events, rep.Accounts, rep.StateRecords, rep.Head.Seq, rep.Head.Hash, rep.Minted, rep.Burned, rep.Supply, rep.ParamsVersion)
			return nil
		},
	})
	c.AddCommand(newTegParams())
	return c
}

// openLedger migrates db and opens the ledger on it with the default parameters (and opts).
func openLedger(ctx context.Context, db *store.DB, opts ...tegsql.Option) (*tegsql.Ledger, error) {
	if _, err := db.Migrate(ctx); err != nil {
		return nil, err
	}
	return tegsql.Open(db, teg.DefaultParams(), nil, opts...), nil
}
