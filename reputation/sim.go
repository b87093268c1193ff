package reputation

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// SimConfig sets up a simulation in simulated time: honest agents of random quality buying paid
// tasks from each other and rating them truthfully, a ring that trades among itself and rates
// itself 5/5, and sybils of one developer rating one agent 5/5.
type SimConfig struct {
	Agents     int // in all: Agents − Ring − Sybils − 1 are honest
	Ring       int
	Sybils     int
	Days       int
	TasksADay  int // each honest agent and ring member buys this many tasks a day
	Seed       uint64
	Weights    Weights
	Trust      Options
	Start      time.Time
	RingRating int // what ring members and sybils give (5)
}

// DefaultSimConfig is 50 agents (a ring of 5, 20 sybils and their target, 24 honest), 30 days,
// 3 tasks a day.
func DefaultSimConfig(seed uint64) SimConfig {
	return SimConfig{Agents: 50, Ring: 5, Sybils: 20, Days: 30, TasksADay: 3, Seed: seed, Weights: DefaultWeights(), Trust: DefaultOptions(),
		Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), RingRating: 5}
}

// SimAgent is one agent of a simulation and its outcome.
type SimAgent struct {
	ID      int
	Role    string // honest, ring, sybil, target
	Quality float64
	// Sold is the tasks it completed or failed as payee.
	Sold  int
	Score Score
}

// SimResult is a simulation's outcome and the figures the issue asserts on.
type SimResult struct {
	Agents     []SimAgent
	Iterations int
	// MedianHonest is the median score of the honest agents; RingMax the best ring member's,
	// Target the sybil-boosted agent's.
	MedianHonest float64
	RingMax      int
	Target       int
	// Spearman is the rank correlation of the honest agents' true quality with their scores.
	Spearman float64
}

// Simulate runs the simulation. Pre-trusted agents are every developer's first agent (each honest
// agent has its own verified developer; the ring's developer and the sybils' developer each
// have one first agent: a ring member, and the target).
func Simulate(c SimConfig) (SimResult, error) {
	honest := c.Agents - c.Ring - c.Sybils - 1
	if honest < 3 || c.Ring < 2 || c.Sybils < 1 || c.Days < 1 || c.TasksADay < 1 {
		return SimResult{}, fmt.Errorf("simulation: need at least 3 honest agents, a ring of 2, 1 sybil, 1 day and 1 task a day")
	}
	rng := rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15))
	agents := make([]SimAgent, c.Agents)
	for i := range agents {
		agents[i].ID = i
		switch {
		case i < honest:
			agents[i].Role, agents[i].Quality = "honest", 0.1+0.9*rng.Float64()
		case i < honest+c.Ring:
			agents[i].Role, agents[i].Quality = "ring", 0.2
		case i == honest+c.Ring:
			agents[i].Role, agents[i].Quality = "target", 0.2
		default:
			agents[i].Role = "sybil"
		}
	}
	ring0, target := honest, honest+c.Ring
	pretrusted := []uint32{uint32(ring0), uint32(target)}
	for i := range honest {
		pretrusted = append(pretrusted, uint32(i))
	}
	type outcome struct {
		payer, payee int
		ok           bool
	}
	var outcomes []outcome
	local := map[[2]uint32]float64{}
	rate := func(from, to int, stars int) { local[[2]uint32{uint32(from), uint32(to)}] += Satisfaction(stars) }
	for range c.Days {
		for i := range honest {
			for range c.TasksADay {
				j := rng.IntN(honest - 1)
				if j >= i {
					j++
				}
				ok := rng.Float64() < agents[j].Quality
				outcomes = append(outcomes, outcome{i, j, ok})
				stars := 1 + rng.IntN(2) // 1 or 2
				if ok {
					stars = 4
					if rng.Float64() < agents[j].Quality {
						stars = 5
					}
				}
				rate(i, j, stars)
			}
		}
		for k := range c.Ring {
			for range c.TasksADay {
				m := rng.IntN(c.Ring - 1)
				if m >= k {
					m++
				}
				outcomes = append(outcomes, outcome{ring0 + k, ring0 + m, true})
				rate(ring0+k, ring0+m, c.RingRating)
			}
		}
		for s := range c.Sybils {
			outcomes = append(outcomes, outcome{target + 1 + s, target, true})
			rate(target+1+s, target, c.RingRating)
		}
	}
	edges := EdgesFrom(local)
	g, err := NewGraph(c.Agents, edges)
	if err != nil {
		return SimResult{}, err
	}
	tr := g.EigenTrust(pretrusted, c.Trust)
	rel := make([]float64, c.Agents)
	for i, t := range tr.Trust {
		rel[i] = t * float64(c.Agents)
	}
	ins := make([]Inputs, c.Agents)
	for i := range ins {
		ins[i].RelativeTrust = rel[i]
	}
	for _, o := range outcomes {
		w := TaskWeight(rel[o.payer])
		if o.ok {
			ins[o.payee].Completed += w
		} else {
			ins[o.payee].Failed += w
		}
		agents[o.payee].Sold++
	}
	now := c.Start.Add(time.Duration(c.Days) * 24 * time.Hour)
	res := SimResult{Iterations: tr.Iterations}
	var honestScores, quality []float64
	for i := range agents {
		agents[i].Score = Compute(ins[i], c.Weights, now)
		switch agents[i].Role {
		case "honest":
			honestScores = append(honestScores, float64(agents[i].Score.Score))
			quality = append(quality, agents[i].Quality)
		case "ring":
			res.RingMax = max(res.RingMax, agents[i].Score.Score)
		case "target":
			res.Target = agents[i].Score.Score
		}
	}
	res.Agents = agents
	sorted := slices.Clone(honestScores)
	slices.Sort(sorted)
	res.MedianHonest = median(sorted)
	res.Spearman = Spearman(quality, honestScores)
	return res, nil
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// Spearman is the rank correlation of x and y (ties get their average rank).
func Spearman(x, y []float64) float64 {
	rx, ry := ranks(x), ranks(y)
	var mx, my float64
	for i := range rx {
		mx += rx[i]
		my += ry[i]
	}
	n := float64(len(rx))
	mx, my = mx/n, my/n
	var sxy, sxx, syy float64
	for i := range rx {
		dx, dy := rx[i]-mx, ry[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return 0
	}
	return sxy / math.Sqrt(sxx*syy)
}

func ranks(v []float64) []float64 {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case v[a] < v[b]:
			return -1
		case v[a] > v[b]:
			return 1
		}
		return 0
	})
	r := make([]float64, len(v))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && v[idx[j+1]] == v[idx[i]] {
			j++
		}
		avg := float64(i+j)/2 + 1
		for k := i; k <= j; k++ {
			r[idx[k]] = avg
		}
		i = j + 1
	}
	return r
}
