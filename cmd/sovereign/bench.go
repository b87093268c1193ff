package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
)

func newBench() *cobra.Command {
	c := &cobra.Command{Use: "bench", Short: "Whole-system load benchmarks"}
	var (
		dsn                 string
		accounts, transfers int
		batch, clients, hot int
		overHTTP            bool
		replicas            int
	)
	ledger := &cobra.Command{
		Use:   "ledger",
		Short: "Load the ledger with transfers and verify it afterwards",
		Long: `bench ledger opens the ledger on --store (default: a fresh SQLite file in a temporary
directory), creates and funds --accounts wallets, then --clients goroutines submit --transfers
transfers in linked batches of --batch (1 = single transfers), between random accounts or among
the first --hot accounts only. It runs teg verify at the end and prints, last:
transfers/s=… p50_ms=… p99_ms=… verified=true (latencies are per submitted batch).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			dsn, cleanup, err := benchDSN(dsn)
			if err != nil {
				return err
			}
			defer cleanup()
			if overHTTP {
				return benchLedgerHTTP(ctx, cmd.OutOrStdout(), dsn, accounts, transfers, clients, hot)
			}
			if batch < 1 || batch > teg.MaxBatch || clients < 1 || accounts < 2 || transfers < 1 || replicas < 1 {
				return fmt.Errorf("bench ledger: need --batch 1..%d, --clients ≥ 1, --accounts ≥ 2, --transfers ≥ 1", teg.MaxBatch)
			}
			db, err := store.Open(ctx, dsn)
			if err != nil {
				return err
			}
			defer db.Close()
			if _, err := db.Migrate(ctx); err != nil {
				return err
			}
			l := tegsql.Open(db, teg.DefaultParams(), nil)
			defer l.Close()
			// Replicas: more ledger writers, each with its own connection pool, on the same
			// database (they take turns through the event log's head lock).
			writers := []*tegsql.Ledger{l}
			for r := 1; r < replicas; r++ {
				rdb, err := store.Open(ctx, dsn)
				if err != nil {
					return err
				}
				defer rdb.Close()
				rl := tegsql.Open(rdb, teg.DefaultParams(), nil)
				defer rl.Close()
				writers = append(writers, rl)
			}
			run := fmt.Sprintf("%d", time.Now().UnixNano())
			ids, err := benchAccounts(ctx, l, run, accounts)
			if err != nil {
				return err
			}
			if hot > 0 && hot < len(ids) {
				ids = ids[:hot]
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "store %s, %d accounts (%d in play), %d transfers, batch %d, %d clients, %d writer(s)\n", store.Redact(dsn), accounts, len(ids), transfers, batch, clients, len(writers))

			var next atomic.Int64
			var mu sync.Mutex
			var lat []time.Duration
			var refused atomic.Int64
			var firstErr error
			start := time.Now()
			var wg sync.WaitGroup
			for c := 0; c < clients; c++ {
				w := writers[c%len(writers)]
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						base := next.Add(int64(batch)) - int64(batch)
						if base >= int64(transfers) {
							return
						}
						n := min(int64(batch), int64(transfers)-base)
						cmds := make([]teg.Command, n)
						for i := range cmds {
							k := base + int64(i)
							from := ids[(k*7919)%int64(len(ids))]
							to := ids[(k*104729+1)%int64(len(ids))]
							if to == from {
								to = ids[(k*104729+2)%int64(len(ids))]
							}
							cmds[i] = teg.Command{Kind: teg.KindTransfer, ID: fmt.Sprintf("bench-%s-%d", run, k), From: from, To: to, Amount: avt.FromUnits(uint64(k%1000+1) * 1_000_000_000_000)}
						}
						t0 := time.Now()
						res, err := w.Submit(ctx, cmds, batch > 1)
						d := time.Since(t0)
						if err != nil && batch == 1 {
							refused.Add(1)
						} else if err != nil {
							mu.Lock()
							if firstErr == nil {
								firstErr = err
							}
							mu.Unlock()
							return
						}
						for _, r := range res {
							if r.Err != nil {
								refused.Add(1)
							}
						}
						mu.Lock()
						lat = append(lat, d)
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			if firstErr != nil {
				return fmt.Errorf("bench ledger: %w", firstErr)
			}
			rep, verr := l.Verify(ctx)
			slices.Sort(lat)
			pct := func(p float64) float64 {
				if len(lat) == 0 {
					return 0
				}
				return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
			}
			done := int64(transfers) - refused.Load()
			if verr != nil {
				fmt.Fprintf(out, "verify FAILED: %v\n", verr)
			} else {
				fmt.Fprintf(out, "verified %d events, supply %s\n", rep.Events, rep.Supply)
			}
			fmt.Fprintf(out, "transfers/s=%.0f p50_ms=%.2f p99_ms=%.2f refused=%d verified=%t\n",
				float64(done)/elapsed.Seconds(), pct(0.50), pct(0.99), refused.Load(), verr == nil)
			if verr != nil {
				return verr
			}
			return nil
		},
	}
	fl := ledger.Flags()
	fl.StringVar(&dsn, "store", "", "ledger store DSN (default: a fresh SQLite file)")
	fl.IntVar(&accounts, "accounts", 10000, "wallets to create and fund")
	fl.IntVar(&transfers, "transfers", 100000, "transfers to submit")
	fl.IntVar(&batch, "batch", teg.MaxBatch, "transfers per linked batch (1: single transfers)")
	fl.IntVar(&clients, "clients", 4, "concurrent submitters")
	fl.IntVar(&hot, "hot", 0, "transfer among only the first K accounts (contention)")
	fl.IntVar(&replicas, "replicas", 1, "ledger writers on the same store, each with its own pool (in one process; they order themselves through the head lock)")
	fl.BoolVar(&overHTTP, "http", false, "drive single transfers through the HTTP API on a loopback listener (agents use JWT-SVIDs)")
	c.AddCommand(ledger, newBenchPolicy(), newBenchDiscovery(), newBenchA2A())
	return c
}

// benchDSN is dsn, or when it is empty a fresh SQLite file in a temporary directory that
// cleanup removes.
func benchDSN(dsn string) (string, func(), error) {
	if dsn != "" {
		return dsn, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "sovereign-bench-")
	if err != nil {
		return "", nil, err
	}
	return "sqlite://" + filepath.Join(dir, "bench.db"), func() { os.RemoveAll(dir) }, nil
}

// benchAccounts mints supply and opens and funds n wallets.
func benchAccounts(ctx context.Context, l *tegsql.Ledger, run string, n int) ([]teg.AccountID, error) {
	if _, _, err := l.Do(ctx, teg.Command{Kind: teg.KindMint, ID: "bench-mint-" + run, Amount: avt.AVT(uint64(n) * 1_000_000)}); err != nil {
		return nil, err
	}
	ids := make([]teg.AccountID, n)
	var cmds []teg.Command
	for i := range ids {
		ids[i] = teg.AccountID(fmt.Sprintf("agt_bench_%s_%d", run, i))
		cmds = append(cmds, teg.Command{Kind: teg.KindOpen, ID: "bench-open-" + string(ids[i]), To: ids[i]},
			teg.Command{Kind: teg.KindGrant, ID: "bench-grant-" + string(ids[i]), To: ids[i], Amount: avt.AVT(1_000_000)})
	}
	for len(cmds) > 0 {
		k := min(len(cmds), 8000)
		if _, err := l.Submit(ctx, cmds[:k], true); err != nil {
			return nil, err
		}
		cmds = cmds[k:]
	}
	return ids, nil
}
