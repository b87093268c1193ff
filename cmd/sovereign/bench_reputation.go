package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/reputation"
	"github.com/sovereign-stack/sovereign/reputation/repsql"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
)

// benchReputationOptions are bench reputation's flags.
type benchReputationOptions struct {
	dsn                       string
	memory                    bool
	agents, edges, pretrusted int
	seed                      uint64
	cpuprofile                string
}

func newBenchReputation() *cobra.Command {
	var o benchReputationOptions
	c := &cobra.Command{
		Use:   "reputation",
		Short: "Time a full reputation pass (load the rating graph, EigenTrust, store every score)",
		Long: `bench reputation stores --edges ratings among --agents agents (raters uniform,
ratees drawn from a Zipf distribution, so a few agents are rated by many, as in a real market;
1 to 5 stars) in --store (default: a fresh SQLite file), --pretrusted of the agents pre-trusted,
then times one full pass of the reputation service — the pass the server runs on its schedule:
load_s reads the rating graph from the store (every rated agent and, per rater and ratee, the
sum of their ratings), compute_s runs EigenTrust with damping 0.15 to an L1 change below 1e-10
and adds up every agent's paid tasks, and seconds is the whole pass, including reading stakes
and writing every agent's score and factors back to the store. Storing the ratings beforehand
is not timed. With --memory the graph is generated in memory and only EigenTrust is timed
(load_s: building its compressed form). It prints, last:
agents=… edges=… iterations=… load_s=… compute_s=… seconds=…`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.agents < 2 || o.edges < 1 || o.pretrusted < 0 || o.pretrusted > o.agents || o.agents > 1<<31 {
				return errors.New("bench reputation: need --agents 2..2^31, --edges ≥ 1, 0 ≤ --pretrusted ≤ --agents")
			}
			if o.memory {
				return benchReputationMemory(cmd.OutOrStdout(), o)
			}
			dsn, cleanup, err := benchDSN(o.dsn)
			if err != nil {
				return err
			}
			defer cleanup()
			o.dsn = dsn
			return benchReputationStore(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.dsn, "store", "", "store DSN (default: a fresh SQLite file)")
	fl.BoolVar(&o.memory, "memory", false, "time EigenTrust over a graph generated in memory, without the store")
	fl.IntVar(&o.agents, "agents", 1_000_000, "agents")
	fl.IntVar(&o.edges, "edges", 10_000_000, "rated interactions")
	fl.IntVar(&o.pretrusted, "pretrusted", 10_000, "pre-trusted agents")
	fl.Uint64Var(&o.seed, "seed", 1, "random seed")
	fl.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the timed pass to this file")
	return c
}

// benchRatings generates the bench's ratings: fn gets each (rater, ratee, stars), raters
// uniform, ratees Zipf-distributed and scattered over the agents.
func benchRatings(o benchReputationOptions, fn func(from, to uint32, stars int) error) error {
	rng := rand.New(rand.NewPCG(o.seed, o.seed+1))
	zipf := rand.NewZipf(rand.New(rand.NewPCG(o.seed+2, o.seed+3)), 1.2, 10, uint64(o.agents-1))
	for range o.edges {
		from := uint32(rng.IntN(o.agents))
		to := uint32((zipf.Uint64() + uint64(from)*2654435761) % uint64(o.agents))
		if err := fn(from, to, 1+rng.IntN(5)); err != nil {
			return err
		}
	}
	return nil
}

// benchPretrusted picks the pre-trusted agents' numbers.
func benchPretrusted(o benchReputationOptions) []uint32 {
	rng := rand.New(rand.NewPCG(o.seed+4, o.seed+5))
	pre := make([]uint32, o.pretrusted)
	for i := range pre {
		pre[i] = uint32(rng.IntN(o.agents))
	}
	return pre
}

func benchReputationMemory(out io.Writer, o benchReputationOptions) error {
	list := make([]reputation.Edge, 0, o.edges)
	_ = benchRatings(o, func(from, to uint32, stars int) error {
		list = append(list, reputation.Edge{From: from, To: to, Weight: float64(1 + stars%2)})
		return nil
	})
	pre := benchPretrusted(o)
	fmt.Fprintf(out, "in memory: %d agents, %d edges, %d pre-trusted, %d CPUs\n", o.agents, o.edges, o.pretrusted, runtime.NumCPU())
	start := time.Now()
	g, err := reputation.NewGraph(o.agents, list)
	if err != nil {
		return err
	}
	list = nil
	runtime.GC()
	load := time.Since(start)
	t0, c0 := time.Now(), processCPU()
	res := g.EigenTrust(pre, reputation.DefaultOptions())
	compute, cpu := time.Since(t0), processCPU()-c0
	fmt.Fprintf(out, "converged to an L1 change of %.2g; EigenTrust used %.2f s of CPU on %d cores (wall time on a loaded machine overstates it)\n",
		res.Delta, cpu.Seconds(), runtime.NumCPU())
	fmt.Fprintf(out, "agents=%d edges=%d iterations=%d load_s=%.2f compute_s=%.2f seconds=%.2f\n",
		o.agents, g.Edges(), res.Iterations, load.Seconds(), compute.Seconds(), time.Since(start).Seconds())
	return nil
}

// benchAgentName is the name of the bench's agent i: as long as a real agent id.
func benchAgentName(i uint32) string { return fmt.Sprintf("agt_bench%022d", i) }

func benchReputationStore(ctx context.Context, out io.Writer, o benchReputationOptions) error {
	db, err := store.Open(ctx, o.dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "store %s: %d agents, %d ratings, %d pre-trusted, %d CPUs\n", store.Redact(o.dsn), o.agents, o.edges, o.pretrusted, runtime.NumCPU())
	seedStart := time.Now()
	rs := repsql.New(db)
	g := benchGraph(o)
	if err := rs.LoadGraph(ctx, g); err != nil {
		return err
	}
	fmt.Fprintf(out, "stored the rating graph (%d agents, %d rater→ratee pairs) in %.1f s (not timed)\n", len(g.Agents), len(g.Pairs), time.Since(seedStart).Seconds())
	g = reputation.RatingGraph{}
	pre := map[string]bool{}
	for _, i := range benchPretrusted(o) {
		pre[benchAgentName(i)] = true
	}
	pretrusted := make([]string, 0, len(pre))
	for a := range pre {
		pretrusted = append(pretrusted, a)
	}
	ledger := tegsql.Open(db, teg.DefaultParams(), nil)
	defer ledger.Close()
	authz := policy.New()
	svc := &reputation.Service{Store: rs, Ledger: ledger, Authz: authz,
		Staking:    reputation.LedgerStaking{Service: &teg.Service{Store: ledger, Authz: authz}},
		Pretrusted: func(context.Context) ([]string, error) { return pretrusted, nil }}
	runtime.GC()
	stop, err := startCPUProfile(o.cpuprofile)
	if err != nil {
		return err
	}
	c0 := processCPU()
	res, err := svc.RunPass(ctx)
	stop()
	if err != nil {
		return err
	}
	cpu := processCPU() - c0
	fmt.Fprintf(out, "pass: %d agents scored from %d ratings (%d distinct rater→ratee pairs with positive trust); %.2f s of CPU on %d cores (wall time on a loaded machine overstates it); storing the scores took %.2f s\n",
		res.Agents, res.Ratings, res.Edges, cpu.Seconds(), runtime.NumCPU(), (res.Total - res.LoadTime - res.Compute).Seconds())
	fmt.Fprintf(out, "agents=%d edges=%d iterations=%d load_s=%.2f compute_s=%.2f seconds=%.2f\n",
		res.Agents, res.Ratings, res.Iterations, res.LoadTime.Seconds(), res.Compute.Seconds(), res.Total.Seconds())
	return nil
}

// benchGraph is the bench's rating graph: its ratings added up per (rater, ratee), sorted.
func benchGraph(o benchReputationOptions) reputation.RatingGraph {
	type sums struct{ sat, good, bad int64 }
	pairs := make(map[uint64]*sums, o.edges)
	_ = benchRatings(o, func(from, to uint32, stars int) error {
		k := uint64(from)<<32 | uint64(to)
		p := pairs[k]
		if p == nil {
			p = &sums{}
			pairs[k] = p
		}
		p.sat += int64(stars - 3)
		if stars >= 3 {
			p.good++
		} else {
			p.bad++
		}
		return nil
	})
	keys := make([]uint64, 0, len(pairs))
	for k := range pairs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	g := reputation.RatingGraph{Agents: make([]string, o.agents), Pairs: make([]reputation.Pair, len(keys))}
	for i := range g.Agents {
		g.Agents[i] = benchAgentName(uint32(i))
	}
	for i, k := range keys {
		p := pairs[k]
		g.Pairs[i] = reputation.Pair{Rater: uint32(k >> 32), Ratee: uint32(k), Satisfaction: p.sat, Good: p.good, Bad: p.bad}
	}
	return g
}
