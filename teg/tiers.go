package teg

import (
	"github.com/sovereign-stack/sovereign/avt"
)

// Tier is a reputation tier and the transfer limits it carries: the largest single transfer
// (or hold) and the most an agent may send over a rolling 24 hours. The tier table is part of
// the ledger's parameters; the policy decides who may transfer at all, the ledger checks the
// amounts against these limits in the same step that applies the transfer.
type Tier struct {
	Name string `json:"name"`
	// MinReputation is the score (0–1000) from which an agent is in the tier.
	MinReputation int        `json:"min_reputation"`
	PerTransfer   avt.Amount `json:"per_transfer"`
	Daily         avt.Amount `json:"daily"`
}

// The tier names, lowest first.
const (
	TierUntrusted = "Untrusted"
	TierNew       = "New"
	TierTrusted   = "Trusted"
	TierVerified  = "Verified"
	TierElite     = "Elite"
)

// DefaultTier is the tier of an agent without a score: a newly registered agent is New.
const DefaultTier = TierNew

// DailyFactor is the default daily limit as a multiple of the per-transfer limit.
const DailyFactor = 10

// DefaultTiers is the default tier table: Untrusted < 100 ≤ New < 400 ≤ Trusted < 700 ≤ Verified
// < 900 ≤ Elite, with per-transfer limits of 10 / 100 / 1,000 / 10,000 / 1,000,000 AVT and daily
// limits ten times those. (policy/rego/tiers.rego holds the same thresholds for the decisions
// that need a tier, e.g. filing disputes; a test keeps the two equal.)
func DefaultTiers() []Tier {
	t := func(name string, minRep int, per uint64) Tier {
		return Tier{Name: name, MinReputation: minRep, PerTransfer: avt.AVT(per), Daily: avt.AVT(per * DailyFactor)}
	}
	return []Tier{
		t(TierUntrusted, 0, 10),
		t(TierNew, 100, 100),
		t(TierTrusted, 400, 1_000),
		t(TierVerified, 700, 10_000),
		t(TierElite, 900, 1_000_000),
	}
}

// Limits are the transfer limits the ledger enforces on one sender (see Command.Limits).
//
// With Resolve set, the ledger takes the limits from the parameter set in force when it applies
// the command — those of the tier TierOf(Tier, Reputation) — so that a change of the tier table
// applies to every command after it in the log, whichever replica took the request; PerTransfer
// and Daily are then ignored.
type Limits struct {
	Tier        string
	PerTransfer avt.Amount
	Daily       avt.Amount
	Reputation  int
	Resolve     bool
}

// SubjectLimits are the limits of a subject of the given tier name and reputation, resolved by
// the ledger from the tier table in force (see Limits.Resolve).
func SubjectLimits(tier string, reputation int) *Limits {
	return &Limits{Tier: tier, Reputation: reputation, Resolve: true}
}

// TierOf is the tier of a subject: from its reputation score when it has one (reputation > 0),
// else the tier it names when that is a known tier, else DefaultTier. (A subject whose real
// score is 0 names the tier "Untrusted".)
func (p *Params) TierOf(tier string, reputation int) Tier {
	tiers := p.EffectiveTiers()
	if reputation > 0 {
		best := tiers[0]
		for _, t := range tiers {
			if reputation >= t.MinReputation {
				best = t
			}
		}
		return best
	}
	name := tier
	if name == "" {
		name = DefaultTier
	}
	for _, t := range tiers {
		if t.Name == name {
			return t
		}
	}
	for _, t := range tiers {
		if t.Name == DefaultTier {
			return t
		}
	}
	return tiers[0]
}

// LimitsFor are the transfer limits of a subject of the given tier name and reputation.
func (p *Params) LimitsFor(tier string, reputation int) *Limits {
	t := p.TierOf(tier, reputation)
	return &Limits{Tier: t.Name, PerTransfer: t.PerTransfer, Daily: t.Daily}
}

// EffectiveTiers is the tier table in force.
func (p *Params) EffectiveTiers() []Tier {
	if len(p.Tiers) == 0 {
		return DefaultTiers()
	}
	return p.Tiers
}
