package reputation_test

import (
	"math"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/sovereign-stack/sovereign/reputation"
)

// TestEigenTrust_ConservesTrustAndMatchesTheDefinition: on random graphs the trust vector sums to
// 1, is non-negative, and is a fixed point of t = (1−a)·(Cᵀt + dangling·p) + a·p computed
// naively from the edge list.
func TestEigenTrust_ConservesTrustAndMatchesTheDefinition(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		n := rapid.IntRange(1, 30).Draw(rt, "n")
		var edges []reputation.Edge
		for range rapid.IntRange(0, 100).Draw(rt, "edges") {
			edges = append(edges, reputation.Edge{From: uint32(rapid.IntRange(0, n-1).Draw(rt, "from")), To: uint32(rapid.IntRange(0, n-1).Draw(rt, "to")),
				Weight: float64(rapid.IntRange(-2, 4).Draw(rt, "w"))})
		}
		var pre []uint32
		for range rapid.IntRange(0, n).Draw(rt, "pre") {
			pre = append(pre, uint32(rapid.IntRange(0, n-1).Draw(rt, "p")))
		}
		g, err := reputation.NewGraph(n, edges)
		if err != nil {
			rt.Fatal(err)
		}
		res := g.EigenTrust(pre, reputation.DefaultOptions())
		var sum float64
		for _, v := range res.Trust {
			if v < 0 {
				rt.Fatalf("negative trust %v", v)
			}
			sum += v
		}
		if math.Abs(sum-1) > 1e-5 {
			rt.Fatalf("trust sums to %v", sum)
		}
		// The naive fixed point.
		p := make([]float64, n)
		seen := map[uint32]bool{}
		for _, i := range pre {
			seen[i] = true
		}
		for i := range p {
			if len(seen) == 0 {
				p[i] = 1 / float64(n)
			} else if seen[uint32(i)] {
				p[i] = 1 / float64(len(seen))
			}
		}
		out := make([]float64, n)
		for _, e := range edges {
			if e.From != e.To && e.Weight > 0 {
				out[e.From] += e.Weight
			}
		}
		next := make([]float64, n)
		var lost float64
		for i := range out {
			if out[i] == 0 {
				lost += res.Trust[i]
			}
		}
		for _, e := range edges {
			if e.From != e.To && e.Weight > 0 {
				next[e.To] += e.Weight / out[e.From] * res.Trust[e.From]
			}
		}
		for j := range next {
			want := 0.85*(next[j]+lost*p[j]) + 0.15*p[j]
			if math.Abs(want-res.Trust[j]) > 1e-5 {
				rt.Fatalf("agent %d: trust %v, the definition gives %v", j, res.Trust[j], want)
			}
		}
	})
}

// TestEigenTrust_RingKeepsOnlyItsPretrust: a ring of agents rating each other, with one
// pre-trusted member, holds exactly the pre-trusted share it was lent, however much it rates
// itself.
func TestEigenTrust_RingKeepsOnlyItsPretrust(t *testing.T) {
	// Agents 0–3 honest (pre-trusted), trusting each other; 4–8 a ring with 4 pre-trusted.
	var edges []reputation.Edge
	for i := range 4 {
		for j := range 4 {
			edges = append(edges, reputation.Edge{From: uint32(i), To: uint32(j), Weight: 1})
		}
	}
	for i := 4; i < 9; i++ {
		for j := 4; j < 9; j++ {
			edges = append(edges, reputation.Edge{From: uint32(i), To: uint32(j), Weight: 100})
		}
	}
	g, _ := reputation.NewGraph(9, edges)
	res := g.EigenTrust([]uint32{0, 1, 2, 3, 4}, reputation.DefaultOptions())
	var ring float64
	for i := 4; i < 9; i++ {
		ring += res.Trust[i]
	}
	if math.Abs(ring-0.2) > 1e-6 {
		t.Fatalf("the ring holds %.6f of the trust, its pre-trusted share is 0.2", ring)
	}
}

func TestScore_FactorsAddUpAndPenaltiesDecay(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	w := reputation.DefaultWeights()
	fresh := reputation.Compute(reputation.Inputs{}, w, now)
	if fresh.Score < 100 || fresh.Score >= 400 {
		t.Fatalf("a fresh agent scores %d: not tier New", fresh.Score)
	}
	best := reputation.Compute(reputation.Inputs{RelativeTrust: 5, Completed: 1000, Attestations: 50, StakeAVT: 1e6}, w, now)
	if best.Score < 990 || best.Score > 1000 {
		t.Fatalf("a perfect agent scores %d", best.Score)
	}
	var sum float64
	for _, f := range best.Factors {
		sum += f.Points
	}
	if int(math.Round(math.Min(sum, 1000))) != best.Score {
		t.Fatalf("factors add to %v, score %d", sum, best.Score)
	}
	recent := reputation.Compute(reputation.Inputs{RelativeTrust: 1, DisputesLost: []time.Time{now}}, w, now)
	old := reputation.Compute(reputation.Inputs{RelativeTrust: 1, DisputesLost: []time.Time{now.Add(-90 * 24 * time.Hour)}}, w, now)
	none := reputation.Compute(reputation.Inputs{RelativeTrust: 1}, w, now)
	if none.Score-recent.Score != 150 || none.Score-old.Score != 75 {
		t.Fatalf("a lost dispute costs %d now and %d after a half-life; want 150 and 75", none.Score-recent.Score, none.Score-old.Score)
	}
}
