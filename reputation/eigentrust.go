// Package reputation computes agents' reputation: transitive trust over the graph of rated
// interactions with EigenTrust (Kamvar, Schlosser and Garcia-Molina, 2003), and the 0–1000 score
// that combines it with paid-task outcomes, verified attestations and stake, minus decaying
// penalties. It is pure computation — no storage, no HTTP — so that a full pass over a million
// agents is a few arrays and a few seconds, and so that its defences (a ring rating itself, sybils
// rating one agent) are tested in simulated time.
package reputation

import (
	"errors"
	"math"
	"runtime"
	"slices"
	"sync"
)

// Edge is the local trust of one agent in another: the satisfaction From had with To, summed
// over their interactions (EigenTrust's s_ij = sat − unsat, only the positive part counts).
// Agents are numbered 0..n−1.
type Edge struct {
	From, To uint32
	Weight   float64
}

// Graph is the trust graph in the form one iteration reads fastest: the edges grouped by their
// target (compressed sparse columns), each carrying its source's normalised local trust c_ij =
// s_ij / Σ_k s_ik, so that an iteration is a gather per agent and splits across cores without
// locks.
type Graph struct {
	n int
	// in[start[j]:start[j+1]] are the edges into j: their sources and normalised weights.
	start []int64
	src   []uint32
	w     []float32
	// dangling are the agents that trust nobody (their trust goes to the pre-trusted).
	dangling []uint32
}

// ErrAgentOutOfRange reports an edge naming an agent ≥ n.
var ErrAgentOutOfRange = errors.New("reputation: an edge names an agent outside the graph")

// NewGraph builds the graph of n agents from edges (self-trust and non-positive weights are
// ignored; parallel edges add up).
func NewGraph(n int, edges []Edge) (*Graph, error) {
	out := make([]float64, n)
	count := make([]int64, n+1)
	for _, e := range edges {
		if int(e.From) >= n || int(e.To) >= n {
			return nil, ErrAgentOutOfRange
		}
		if e.From == e.To || !(e.Weight > 0) {
			continue
		}
		out[e.From] += e.Weight
		count[e.To+1]++
	}
	for j := 1; j <= n; j++ {
		count[j] += count[j-1]
	}
	g := &Graph{n: n, start: count, src: make([]uint32, count[n]), w: make([]float32, count[n])}
	next := make([]int64, n)
	copy(next, count[:n])
	for _, e := range edges {
		if e.From == e.To || !(e.Weight > 0) {
			continue
		}
		k := next[e.To]
		next[e.To]++
		g.src[k] = e.From
		g.w[k] = float32(e.Weight / out[e.From])
	}
	for i, s := range out {
		if s == 0 {
			g.dangling = append(g.dangling, uint32(i))
		}
	}
	return g, nil
}

// N is the number of agents.
func (g *Graph) N() int { return g.n }

// Edges is the number of (positive, non-self) edges.
func (g *Graph) Edges() int { return len(g.src) }

// Options are EigenTrust's parameters.
type Options struct {
	// Damping is the weight of the pre-trusted distribution in every step (a); 0.15 by default.
	Damping float64
	// Epsilon stops the iteration when the L1 change of the trust vector falls below it.
	Epsilon float64
	// MaxIterations bounds the iteration.
	MaxIterations int
	// Workers splits each iteration (0: the number of CPUs).
	Workers int
}

// DefaultOptions are damping 0.15, ε = 1e-10, at most 100 iterations.
func DefaultOptions() Options { return Options{Damping: 0.15, Epsilon: 1e-10, MaxIterations: 100} }

// Result is the global trust vector (summing to 1) and how it was reached.
type Result struct {
	Trust      []float64
	Iterations int
	Delta      float64
}

// EigenTrust computes the global trust t = (1−a)·Cᵀt + a·p, where C is the normalised local
// trust and p the pre-trusted distribution (uniform over pretrusted; uniform over everyone when
// it is empty). Agents who trust nobody pass their trust to p. The pre-trusted peers are the
// defence against collusion: a group that only rates itself keeps no more trust than p gives it.
func (g *Graph) EigenTrust(pretrusted []uint32, o Options) Result {
	n := g.n
	if n == 0 {
		return Result{}
	}
	if o.Damping <= 0 || o.Damping >= 1 {
		o.Damping = 0.15
	}
	if o.MaxIterations <= 0 {
		o.MaxIterations = 100
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	p := make([]float64, n)
	if len(pretrusted) == 0 {
		for i := range p {
			p[i] = 1 / float64(n)
		}
	} else {
		seen := 0
		for _, i := range pretrusted {
			if int(i) < n && p[i] == 0 {
				p[i] = 1
				seen++
			}
		}
		for i := range p {
			p[i] /= float64(seen)
		}
	}
	t := make([]float64, n)
	copy(t, p)
	next := make([]float64, n)
	a := o.Damping
	res := Result{}
	deltas := make([]float64, workers)
	// The gather reads t at random places: a float32 copy of it halves the memory those reads
	// touch (4 MB for a million agents, which stays in cache), while sums and the vector itself
	// stay float64.
	t32 := make([]float32, n)
	for res.Iterations < o.MaxIterations {
		for i, v := range t {
			t32[i] = float32(v)
		}
		var lost float64 // the trust of agents who trust nobody, redistributed by p
		for _, i := range g.dangling {
			lost += t[i]
		}
		var wg sync.WaitGroup
		for w := range workers {
			lo, hi := w*n/workers, (w+1)*n/workers
			wg.Add(1)
			go func() {
				defer wg.Done()
				var d float64
				for j := lo; j < hi; j++ {
					var s float64
					for k := g.start[j]; k < g.start[j+1]; k++ {
						s += float64(g.w[k] * t32[g.src[k]])
					}
					v := (1-a)*(s+lost*p[j]) + a*p[j]
					d += math.Abs(v - t[j])
					next[j] = v
				}
				deltas[w] = d
			}()
		}
		wg.Wait()
		t, next = next, t
		res.Iterations++
		res.Delta = 0
		for _, d := range deltas {
			res.Delta += d
		}
		if res.Delta < o.Epsilon {
			break
		}
	}
	res.Trust = t
	return res
}

// EdgesFrom turns summed local trust (rater, ratee → satisfaction) into the graph's edges: the
// positive ones, in a fixed order (by rater, then ratee), so that a pass's floating-point sums —
// and so its scores — are the same in every run.
func EdgesFrom(local map[[2]uint32]float64) []Edge {
	edges := make([]Edge, 0, len(local))
	for k, v := range local {
		if v > 0 {
			edges = append(edges, Edge{From: k[0], To: k[1], Weight: v})
		}
	}
	slices.SortFunc(edges, func(a, b Edge) int {
		if a.From != b.From {
			return int(a.From) - int(b.From)
		}
		return int(a.To) - int(b.To)
	})
	return edges
}
