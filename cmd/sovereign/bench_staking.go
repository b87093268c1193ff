package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
)

// benchStakingOptions are bench staking's flags.
type benchStakingOptions struct {
	dsn                   string
	validators, delegates int
	epochs, transfers     int
}

func newBenchStaking() *cobra.Command {
	var o benchStakingOptions
	c := &cobra.Command{
		Use:   "staking",
		Short: "Pay reward epochs over many delegators and show their cost does not grow with them",
		Long: `bench staking opens the ledger on --store (default: a fresh SQLite file in a temporary
directory) with a clock it moves itself, creates --validators validators (1,000 AVT self-stake
each) and --delegators delegators, each delegating to one validator, then runs --epochs reward
epochs: before each, --transfers fee-paying transfers fill the reward pools; then the clock
moves one epoch and the epoch is paid (the treasury's emission and the pools, to every
validator and, through the per-share accumulator, to every delegator). The time of each epoch
command is what is measured: with the F1 method it depends on the number of validators, not of
delegators. It then claims the rewards of a sample of delegators, runs teg verify (which also
checks that the staking records account for every bonded, unbonding and reward token) and
prints, last:
validators=… delegators=… epochs=… epoch_ms_p50=… epoch_ms_max=… verified=true`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.validators < 1 || o.delegates < 0 || o.epochs < 1 || o.transfers < 0 {
				return errors.New("bench staking: need --validators ≥ 1, --delegators ≥ 0, --epochs ≥ 1, --transfers ≥ 0")
			}
			dsn, cleanup, err := benchDSN(o.dsn)
			if err != nil {
				return err
			}
			defer cleanup()
			o.dsn = dsn
			return benchStaking(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.dsn, "store", "", "ledger store DSN (default: a fresh SQLite file)")
	fl.IntVar(&o.validators, "validators", 100, "validators")
	fl.IntVar(&o.delegates, "delegators", 10000, "delegators, each delegating to one validator")
	fl.IntVar(&o.epochs, "epochs", 10, "reward epochs to pay")
	fl.IntVar(&o.transfers, "transfers", 1000, "fee-paying transfers before each epoch")
	return c
}

// benchClock is the bench's clock: it starts now and moves only when the bench moves it.
type benchClock struct {
	start time.Time
	off   atomic.Int64
}

func (c *benchClock) now() time.Time { return c.start.Add(time.Duration(c.off.Load())) }

func benchStaking(ctx context.Context, out io.Writer, o benchStakingOptions) error {
	db, err := store.Open(ctx, o.dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	clock := &benchClock{start: time.Now().UTC()}
	params := teg.DefaultParams()
	l := tegsql.Open(db, params, clock.now)
	defer l.Close()
	run := fmt.Sprintf("%d", time.Now().UnixNano())
	fmt.Fprintf(out, "store %s, %d validators, %d delegators, %d epochs, %d transfers an epoch\n",
		store.Redact(o.dsn), o.validators, o.delegates, o.epochs, o.transfers)

	submit := func(cmds []teg.Command) error {
		for len(cmds) > 0 {
			k := min(len(cmds), 8000)
			res, err := l.Submit(ctx, cmds[:k], false)
			if err != nil {
				return err
			}
			for _, r := range res {
				if r.Err != nil {
					return r.Err
				}
			}
			cmds = cmds[k:]
		}
		return nil
	}
	setupStart := time.Now()
	need := uint64(o.validators)*2000 + uint64(o.delegates)*100 + 1_000_000
	if _, _, err := l.Do(ctx, teg.Command{Kind: teg.KindMint, ID: "bench-mint-" + run, Amount: avt.AVT(need * 2)}); err != nil {
		return err
	}
	vals := make([]teg.AccountID, o.validators)
	dels := make([]teg.AccountID, o.delegates)
	var cmds []teg.Command
	fund := func(id teg.AccountID, amount avt.Amount) {
		cmds = append(cmds, teg.Command{Kind: teg.KindOpen, ID: "bench-open-" + string(id), To: id},
			teg.Command{Kind: teg.KindGrant, ID: "bench-grant-" + string(id), To: id, Amount: amount})
	}
	for i := range vals {
		vals[i] = teg.AccountID(fmt.Sprintf("agt_v%s_%d", run, i))
		fund(vals[i], avt.AVT(2000))
	}
	for i := range dels {
		dels[i] = teg.AccountID(fmt.Sprintf("agt_d%s_%d", run, i))
		fund(dels[i], avt.AVT(100))
	}
	if err := submit(cmds); err != nil {
		return fmt.Errorf("fund accounts: %w", err)
	}
	cmds = cmds[:0]
	for i, v := range vals {
		commission := uint64(500 + i%1000)
		cmds = append(cmds, teg.Command{Kind: teg.KindValidatorCreate, ID: "bench-val-" + string(v), From: v, Amount: avt.AVT(1000),
			Staking: &teg.StakingArgs{CommissionBps: &commission}})
	}
	for i, d := range dels {
		cmds = append(cmds, teg.Command{Kind: teg.KindStake, ID: "bench-stake-" + string(d), From: d, Amount: avt.AVT(10 + uint64(i%50)),
			Staking: &teg.StakingArgs{Validator: vals[i%len(vals)]}})
	}
	if err := submit(cmds); err != nil {
		return fmt.Errorf("stake: %w", err)
	}
	fmt.Fprintf(out, "set up in %v\n", time.Since(setupStart).Round(time.Millisecond))

	payers := vals
	if len(dels) > 1 {
		payers = dels
	}
	var times []time.Duration
	var paid avt.Amount
	for e := 1; e <= o.epochs; e++ {
		cmds = cmds[:0]
		for i := range o.transfers {
			from, to := payers[(e*o.transfers+i)%len(payers)], payers[(e*o.transfers+i+1)%len(payers)]
			if from == to {
				continue
			}
			cmds = append(cmds, teg.Command{Kind: teg.KindTransfer, ID: fmt.Sprintf("bench-pay-%s-%d-%d", run, e, i), From: from, To: to,
				Amount: avt.FromUnits(uint64(1_000_000_000_000_000 + i))})
		}
		if err := submit(cmds); err != nil {
			return fmt.Errorf("epoch %d transfers: %w", e, err)
		}
		clock.off.Add(int64(time.Duration(params.Staking.EpochSeconds) * time.Second))
		start := time.Now()
		tr, _, err := l.Do(ctx, teg.Command{Kind: teg.KindEpoch, ID: fmt.Sprintf("epoch:%d", e), Staking: &teg.StakingArgs{Epoch: uint64(e)}})
		if err != nil {
			return fmt.Errorf("epoch %d: %w", e, err)
		}
		times = append(times, time.Since(start))
		paid, _ = paid.Add(tr.Amount)
	}
	// Claim a sample: the rewards the epochs paid reach the delegators.
	cmds = cmds[:0]
	for i := 0; i < len(dels); i += max(1, len(dels)/1000) {
		cmds = append(cmds, teg.Command{Kind: teg.KindClaim, ID: "bench-claim-" + string(dels[i]), From: dels[i], Staking: &teg.StakingArgs{}})
	}
	if err := submit(cmds); err != nil {
		return fmt.Errorf("claims: %w", err)
	}
	verifyStart := time.Now()
	rep, err := l.Verify(ctx)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	slices.Sort(times)
	fmt.Fprintf(out, "paid %s AVT over %d epochs, %d claims; verify %v over %d events\n", paid, o.epochs, len(cmds),
		time.Since(verifyStart).Round(time.Millisecond), rep.Events)
	fmt.Fprintf(out, "validators=%d delegators=%d epochs=%d epoch_ms_p50=%.2f epoch_ms_max=%.2f verified=true\n",
		o.validators, o.delegates, o.epochs, ms(times[len(times)/2]), ms(times[len(times)-1]))
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
