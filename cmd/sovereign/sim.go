package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"text/tabwriter"

	"github.com/spf13/cobra"

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
	c.AddCommand(rep)
	return c
}
