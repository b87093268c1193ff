package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/reputation"
)

func newBenchReputation() *cobra.Command {
	var agents, edges, pretrusted int
	var seed uint64
	c := &cobra.Command{
		Use:   "reputation",
		Short: "Time a full EigenTrust pass over a large random trust graph",
		Long: `bench reputation generates a trust graph of --agents agents and --edges rated
interactions (raters uniform, ratees drawn from a Zipf distribution, so a few agents are rated
by many, as in a real market), --pretrusted of them pre-trusted, builds the graph (load_s: the
edge list into the compressed form an iteration reads) and runs EigenTrust with damping 0.15
to an L1 change below 1e-10 (compute_s). The ratings store comes with the ratings API; until
then the graph is built from memory. It prints, last:
agents=… edges=… iterations=… load_s=… compute_s=… seconds=…`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if agents < 2 || edges < 1 || pretrusted < 0 || pretrusted > agents || agents > 1<<31 {
				return errors.New("bench reputation: need --agents 2..2^31, --edges ≥ 1, 0 ≤ --pretrusted ≤ --agents")
			}
			out := cmd.OutOrStdout()
			rng := rand.New(rand.NewPCG(seed, seed+1))
			zipf := rand.NewZipf(rand.New(rand.NewPCG(seed+2, seed+3)), 1.2, 10, uint64(agents-1))
			list := make([]reputation.Edge, edges)
			for i := range list {
				from := uint32(rng.IntN(agents))
				to := uint32((zipf.Uint64() + uint64(from)*2654435761) % uint64(agents))
				list[i] = reputation.Edge{From: from, To: to, Weight: float64(1 + rng.IntN(2))}
			}
			pre := make([]uint32, pretrusted)
			for i := range pre {
				pre[i] = uint32(rng.IntN(agents))
			}
			fmt.Fprintf(out, "%d agents, %d edges, %d pre-trusted, %d CPUs\n", agents, edges, pretrusted, runtime.NumCPU())
			start := time.Now()
			g, err := reputation.NewGraph(agents, list)
			if err != nil {
				return err
			}
			list = nil
			runtime.GC()
			load := time.Since(start)
			t0, c0 := time.Now(), processCPU()
			res := g.EigenTrust(pre, reputation.DefaultOptions())
			compute, cpu := time.Since(t0), processCPU()-c0
			fmt.Fprintf(out, "converged to an L1 change of %.2g; the pass used %.2f s of CPU on %d cores (wall time on a loaded machine overstates it)\n",
				res.Delta, cpu.Seconds(), runtime.NumCPU())
			fmt.Fprintf(out, "agents=%d edges=%d iterations=%d load_s=%.2f compute_s=%.2f seconds=%.2f\n",
				agents, g.Edges(), res.Iterations, load.Seconds(), compute.Seconds(), time.Since(start).Seconds())
			return nil
		},
	}
	fl := c.Flags()
	fl.IntVar(&agents, "agents", 1_000_000, "agents")
	fl.IntVar(&edges, "edges", 10_000_000, "rated interactions")
	fl.IntVar(&pretrusted, "pretrusted", 10_000, "pre-trusted agents")
	fl.Uint64Var(&seed, "seed", 1, "random seed")
	return c
}
