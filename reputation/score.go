package reputation

import (
	"math"
	"time"

	"github.com/sovereign-stack/sovereign/teg"
)

// Weights are the parameters of the score: part of the ledger's parameter set
// (teg.ReputationWeights, changed like any other parameter), so every replica scores alike.
type Weights = teg.ReputationWeights

// DefaultWeights: base 100, trust 400 (full at twice the average trust), tasks 250, attestations
// 100 (20 of them), stake 150 (log-scaled to 100,000 AVT); −150 a lost dispute, −200 a confirmed
// flag, 90-day half-life.
func DefaultWeights() Weights { return teg.DefaultReputationWeights() }

// Inputs are what the score of one agent is computed from.
type Inputs struct {
	// RelativeTrust is the agent's EigenTrust value × the number of agents (1: average).
	RelativeTrust float64 `json:"relative_trust"`
	// Completed and Failed count the agent's paid tasks as payee, each weighted by TaskWeight of
	// its payer.
	Completed float64 `json:"completed"`
	Failed    float64 `json:"failed"`
	// Attestations counts its verified attestations.
	Attestations int `json:"attestations"`
	// StakeAVT is its bonded stake, in AVT.
	StakeAVT float64 `json:"stake_avt"`
	// DisputesLost and Flags are when it lost disputes and had auditor flags confirmed.
	DisputesLost []time.Time `json:"disputes_lost,omitempty"`
	Flags        []time.Time `json:"flags,omitempty"`
}

// Factor is one term of a score, for a person to see why: its input value, its weight (the most
// points it can add, or for a penalty the points of one occurrence) and the points it gave.
type Factor struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Weight float64 `json:"weight"`
	Points float64 `json:"points"`
}

// Score is an agent's score (0–1000) and the factors it is the sum of.
type Score struct {
	Score   int      `json:"score"`
	Factors []Factor `json:"factors"`
}

// Compute returns the score of in under w at now.
func Compute(in Inputs, w Weights, now time.Time) Score {
	var fs []Factor
	add := func(name string, value, weight, points float64) {
		fs = append(fs, Factor{Name: name, Value: value, Weight: weight, Points: points})
	}
	add("base", 1, w.Base, w.Base)
	r := math.Max(in.RelativeTrust, 0)
	tc := w.TrustCap
	if tc <= 0 {
		tc = 2
	}
	add("transitive_trust", r, w.Trust, w.Trust*math.Min(r, tc)/tc)
	all := in.Completed + in.Failed
	rate := (in.Completed + 1) / (all + 2)
	conf := 1.0
	if w.TaskConfidence > 0 {
		conf = 1 - math.Exp(-all/w.TaskConfidence)
	}
	add("paid_tasks", rate, w.Tasks, w.Tasks*rate*conf)
	att := 0.0
	if w.AttestationCap > 0 {
		att = math.Min(float64(in.Attestations)/float64(w.AttestationCap), 1)
	}
	add("attestations", float64(in.Attestations), w.Attestations, w.Attestations*att)
	st := 0.0
	if w.StakeCap > 0 && in.StakeAVT > 0 {
		st = math.Min(math.Log1p(in.StakeAVT)/math.Log1p(w.StakeCap), 1)
	}
	add("stake", in.StakeAVT, w.Stake, w.Stake*st)
	decay := func(ts []time.Time) float64 {
		var s float64
		for _, t := range ts {
			age := now.Sub(t).Hours() / 24
			if age < 0 {
				age = 0
			}
			if w.HalfLifeDays > 0 {
				s += math.Pow(0.5, age/w.HalfLifeDays)
			} else {
				s++
			}
		}
		return s
	}
	d, f := decay(in.DisputesLost), decay(in.Flags)
	add("disputes_lost", float64(len(in.DisputesLost)), -w.DisputeLost, -w.DisputeLost*d)
	add("auditor_flags", float64(len(in.Flags)), -w.Flag, -w.Flag*f)
	var total float64
	for _, x := range fs {
		total += x.Points
	}
	return Score{Score: int(math.Round(math.Min(math.Max(total, 0), 1000))), Factors: fs}
}

// TaskWeight is how much a paid task's outcome counts, given its payer's relative trust r:
// min(r, 1)² — fully from a payer trusted at least as much as the average agent, and falling
// off fast below (a payer a third as trusted counts a ninth), so that volume bought by a ring's
// members or by sybils, whose trust is only what the pre-trusted distribution lends them, buys
// little score.
func TaskWeight(payerRelativeTrust float64) float64 {
	w := math.Min(math.Max(payerRelativeTrust, 0), 1)
	return w * w
}

// Satisfaction is a rating's contribution to local trust: 4 and 5 stars add 1 and 2, 1 and 2
// stars take 2 and 1 away, 3 is neutral (EigenTrust's satisfied minus unsatisfied).
func Satisfaction(stars int) float64 { return float64(stars - 3) }
