package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/economy"
	"github.com/sovereign-stack/sovereign/reputation"
)

func newSim() *cobra.Command {
	c := &cobra.Command{Use: "sim", Short: "Simulations of the economy in simulated time"}
	cfg := reputation.DefaultSimConfig(1)
	var asJSON bool
	rep := &cobra.Command{
		Use:   "reputation",
		Short: "Simulate honest agents, a self-rating ring and sybils, and show their scores",
		Long: `sim reputation runs --days simulated days: honest agents of random true quality buy
paid tasks from each other and rate them truthfully; a ring of --ring agents trades among itself
and rates itself 5/5; --sybils agents of one developer rate one agent (the target) 5/5. Every
developer's first agent is pre-trusted. It then computes EigenTrust over the ratings and every
agent's score, and prints each agent's role, true quality, tasks sold and score, then a last line:
median_honest=… ring_max=… target=… spearman=… iterations=…`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := reputation.Simulate(cfg)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return json.NewEncoder(out).Encode(res)
			}
			agents := slices.Clone(res.Agents)
			slices.SortStableFunc(agents, func(a, b reputation.SimAgent) int { return b.Score.Score - a.Score.Score })
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "AGENT\tROLE\tQUALITY\tSOLD\tSCORE")
			for _, a := range agents {
				q := "-"
				if a.Role != "sybil" {
					q = fmt.Sprintf("%.2f", a.Quality)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\n", a.ID, a.Role, q, a.Sold, a.Score.Score)
			}
			tw.Flush()
			fmt.Fprintf(out, "median_honest=%.1f ring_max=%d target=%d spearman=%.3f iterations=%d\n", res.MedianHonest, res.RingMax, res.Target, res.Spearman, res.Iterations)
			return nil
		},
	}
	fl := rep.Flags()
	fl.IntVar(&cfg.Agents, "agents", cfg.Agents, "agents in all (honest: agents − ring − sybils − 1)")
	fl.IntVar(&cfg.Ring, "ring", cfg.Ring, "agents of the self-rating ring")
	fl.IntVar(&cfg.Sybils, "sybils", cfg.Sybils, "sybils rating the target")
	fl.IntVar(&cfg.Days, "days", cfg.Days, "simulated days")
	fl.IntVar(&cfg.TasksADay, "tasks", cfg.TasksADay, "tasks each honest agent and ring member buys a day")
	fl.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed")
	fl.BoolVar(&asJSON, "json", false, "print the whole result as JSON")
	c.AddCommand(rep, newSimEconomy())
	return c
}

func newSimEconomy() *cobra.Command {
	cfg := economy.DefaultConfig(1)
	var asJSON bool
	c := &cobra.Command{
		Use:   "economy",
		Short: "Run the whole economy in simulated time and prove it holds together",
		Long: `sim economy runs the ledger (with its staking, dispute and governance schedulers), the
policy, reputation and the auditor in one process, as the server wires them, on a fresh SQLite
file in a temporary directory (or --store), under a clock it moves itself, for --days simulated
days. A tenth of the --agents (at least 5) become validators; three form a ring; the others
delegate every other one. Every day each agent buys paid tasks and rates them. On days 3 and 4
the ring washes value round itself; the auditor flags the CIRCULAR_FLOW; on day 6 an admin
escalates the flag to a dispute, which a panel of validators rules on by commit and reveal: the
ring's member is slashed, its score and tier drop, and a transfer over its new limit is refused.
On day 5 validators propose to halve the fee (passed: the next transfer pays the new fee), a
mint (vetoed: the deposit is burnt) and a treasury spend (passed: the grant is paid). At the end
teg verify runs over the whole log. It prints what happens, day by day, then a last line:
agents=… days=… transfers=… disputes=… proposals=… flags=… supply_conserved=true verified=true
It fails when a step does not happen as it must.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dsn, cleanup, err := benchDSN(cfg.DSN)
			if err != nil {
				return err
			}
			defer cleanup()
			cfg.DSN = dsn
			out := cmd.OutOrStdout()
			if !asJSON {
				cfg.Out = out
			}
			res, err := economy.Run(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(out).Encode(res)
			}
			fmt.Fprintf(out, "ran in %v\n%s\n", res.Elapsed.Round(time.Millisecond), res.Line())
			return nil
		},
	}
	fl := c.Flags()
	fl.IntVar(&cfg.Agents, "agents", cfg.Agents, fmt.Sprintf("agents (at least %d)", economy.MinAgents))
	fl.IntVar(&cfg.Days, "days", cfg.Days, fmt.Sprintf("simulated days (at least %d)", economy.MinDays))
	fl.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed")
	fl.IntVar(&cfg.TasksADay, "tasks", cfg.TasksADay, "paid tasks each agent buys a day (validators three times as many)")
	fl.StringVar(&cfg.DSN, "store", "", "store DSN, migrated by the run (default: a fresh SQLite file)")
	fl.BoolVar(&asJSON, "json", false, "print the whole result as JSON instead")
	return c
}
