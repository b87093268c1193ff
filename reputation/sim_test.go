package reputation_test

import (
	"testing"

	"github.com/sovereign-stack/sovereign/reputation"
)

// TestSimulation_RingAndSybilsScoreBelowHonest: over 30 simulated days, for many seeds, every
// member of a ring rating itself 5/5 and the agent 20 sybils rate score below the median honest
// agent, and the honest agents' scores rank them by their true quality (Spearman ρ ≥ 0.8).
func TestSimulation_RingAndSybilsScoreBelowHonest(t *testing.T) {
	for seed := uint64(1); seed <= 100; seed++ {
		res, err := reputation.Simulate(reputation.DefaultSimConfig(seed))
		if err != nil {
			t.Fatal(err)
		}
		if float64(res.RingMax) >= res.MedianHonest {
			t.Errorf("seed %d: a ring member scores %d, the median honest agent %.1f", seed, res.RingMax, res.MedianHonest)
		}
		if float64(res.Target) >= res.MedianHonest {
			t.Errorf("seed %d: the sybil-boosted agent scores %d, the median honest agent %.1f", seed, res.Target, res.MedianHonest)
		}
		if res.Spearman < 0.8 {
			t.Errorf("seed %d: Spearman ρ of quality and score %.3f < 0.8", seed, res.Spearman)
		}
		if seed == 1 {
			t.Logf("seed 1: median honest %.1f, best ring member %d, target %d, ρ %.3f, %d iterations", res.MedianHonest, res.RingMax, res.Target, res.Spearman, res.Iterations)
		}
	}
}
