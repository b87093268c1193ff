package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/policy"
)

// Inputs of bench policy.
const (
	benchInputDeveloper = "developer" // a developer reading their own profile with an API key
	benchInputTransfer  = "transfer"  // an agent paying varying amounts (who may transfer; the ledger checks the amount)
	benchInputMixed     = "mixed"     // the two alternately
)

func newBenchPolicy() *cobra.Command {
	var (
		decisions, concurrency int
		cache                  bool
		input                  string
	)
	c := &cobra.Command{
		Use:   "policy",
		Short: "Measure authorization decisions (the OPA engine the routes ask)",
		Long: `bench policy builds the policy engine with the embedded policies (the decision cache on,
as the server runs it, or off with --cache=false: every decision then evaluates the Rego),
and makes --decisions decisions from --concurrency goroutines for a typical route input:
"developer" (a developer reading their own profile with a read-scoped API key), "transfer" (an
agent's token.transfer, its amount varying from decision to decision) or "mixed" (the two alternately).
Each decision carries a fresh context.time, as a request does. Every decision must be an allow.
It prints, last: decisions/s=… p50_us=… p99_us=… (latency per decision).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if decisions < 1 || concurrency < 1 {
				return fmt.Errorf("bench policy: need --decisions ≥ 1 and --concurrency ≥ 1")
			}
			inputs, err := benchPolicyInputs(input)
			if err != nil {
				return err
			}
			var e *policy.Engine
			if cache {
				e = policy.New()
			} else if e, err = policy.NewWithOptions(policy.WithDecisionCache(0)); err != nil {
				return err
			}
			defer e.Close()
			return benchPolicy(cmd.Context(), cmd.OutOrStdout(), e, cache, input, inputs, decisions, concurrency)
		},
	}
	fl := c.Flags()
	fl.IntVar(&decisions, "decisions", 200000, "decisions to make")
	fl.IntVar(&concurrency, "concurrency", 1, "goroutines making decisions")
	fl.BoolVar(&cache, "cache", true, "use the decision cache (as the server does)")
	fl.StringVar(&input, "input", benchInputMixed, "the decision: developer, transfer or mixed")
	return c
}

// benchPolicyInputs are the inputs a run cycles through.
func benchPolicyInputs(name string) ([]policy.Input, error) {
	developer := policy.Input{
		Subject: policy.Subject{Kind: policy.KindDeveloper, ID: "dev_01JBENCH", Roles: []string{policy.RoleDeveloper},
			AuthMethod: policy.AuthAPIKey, Scopes: []string{policy.ScopeRead}, Verified: true, CredentialID: "key_01JBENCH"},
		Action:   policy.ActionDeveloperRead,
		Resource: policy.Resource{Kind: "developer", ID: "dev_01JBENCH", Owner: "dev_01JBENCH"},
	}
	transfer := policy.Input{
		Subject: policy.Subject{Kind: policy.KindAgent, ID: "agt_bench", SPIFFEID: "spiffe://sovereign.test/agent/agt_bench",
			AuthMethod: "jwt_svid"},
		Action:   policy.ActionTokenTransfer,
		Resource: policy.Resource{Kind: "wallet", ID: "agt_bench", Owner: "agt_bench"},
		Context:  policy.Context{Amount: "12.5"},
	}
	switch name {
	case benchInputDeveloper:
		return []policy.Input{developer}, nil
	case benchInputTransfer:
		return []policy.Input{transfer}, nil
	case benchInputMixed:
		return []policy.Input{developer, transfer}, nil
	}
	return nil, fmt.Errorf("bench policy: --input must be %s, %s or %s, not %q", benchInputDeveloper, benchInputTransfer, benchInputMixed, name)
}

func benchPolicy(ctx context.Context, out io.Writer, e *policy.Engine, cache bool, name string, inputs []policy.Input, decisions, concurrency int) error {
	// Warm up (the first evaluations build the engine's per-query state), unmeasured.
	for i := range min(decisions, 1000) {
		in := inputs[i%len(inputs)]
		in.Context.Time = time.Now().UTC()
		if d, err := e.Decide(ctx, policy.QueryAllow, in); err != nil || !d.Allow {
			return fmt.Errorf("bench policy: %s on %s: allow=%t reason=%q err=%v", in.Action, in.Resource.Kind, d.Allow, d.Reason, err)
		}
	}
	cacheDesc := "off"
	if cache {
		cacheDesc = fmt.Sprintf("on (%d entries)", policy.DefaultDecisionCacheSize)
	}
	fmt.Fprintf(out, "policy revision %.12s, decision cache %s, input %s, %d decisions, %d goroutines, GOMAXPROCS %d\n",
		e.Revision(), cacheDesc, name, decisions, concurrency, runtime.GOMAXPROCS(0))

	var (
		next     atomic.Int64
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	lats := make([][]time.Duration, concurrency)
	amounts := make([]string, 4096)
	for i := range amounts {
		amounts[i] = strconv.Itoa(i+1) + ".5"
	}
	start := time.Now()
	for w := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, decisions/concurrency+1)
			defer func() { lats[w] = lat }()
			for {
				i := next.Add(1) - 1
				if i >= int64(decisions) || ctx.Err() != nil {
					return
				}
				in := inputs[int(i)%len(inputs)]
				in.Context.Time = time.Now().UTC()
				if in.Context.Amount != "" {
					in.Context.Amount = amounts[int(i)%len(amounts)] // amounts vary, as real payments do
				}
				t0 := time.Now()
				d, err := e.Decide(ctx, policy.QueryAllow, in)
				lat = append(lat, time.Since(t0))
				if err == nil && !d.Allow {
					err = fmt.Errorf("%s denied: %s", in.Action, d.Reason)
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					next.Store(int64(decisions)) // stop everyone
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return fmt.Errorf("bench policy: %w", firstErr)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	all := slices.Concat(lats...)
	slices.Sort(all)
	pct := func(p float64) float64 { return float64(quantile(all, p).Nanoseconds()) / 1000 }
	fmt.Fprintf(out, "decisions/s=%.0f p50_us=%.2f p99_us=%.2f\n", float64(len(all))/elapsed.Seconds(), pct(0.50), pct(0.99))
	return nil
}
