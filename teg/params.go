package teg

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/teg/fee"
)

// StakingParams are the numbers of staking, delegation and rewards in the parameter set. They are
// part of every version of the set (so a change to them is an event like any other); the staking
// commands read them from the set in force.
type StakingParams struct {
	// MinStake is the smallest amount that may be staked or delegated at once.
	MinStake avt.Amount `json:"min_stake"`
	// MinSelfStake is the self-stake an agent needs to be a validator.
	MinSelfStake avt.Amount `json:"min_self_stake"`
	// UnbondingSeconds is how long unstaked tokens stay unbonding (and slashable).
	UnbondingSeconds int64 `json:"unbonding_seconds"`
	// DefaultCommissionBps is a new validator's commission, in basis points.
	DefaultCommissionBps uint64 `json:"default_commission_bps"`
	// MaxCommissionChangeBps is the most a validator's commission may change in a day.
	MaxCommissionChangeBps uint64 `json:"max_commission_change_bps"`
	// EpochSeconds is the length of a reward epoch.
	EpochSeconds int64 `json:"epoch_seconds"`
	// EmissionAPRBps is the yearly emission from the treasury, as a fraction of total stake.
	EmissionAPRBps uint64 `json:"emission_apr_bps"`
}

// DefaultStakingParams are the staking defaults: stake at least 10 AVT; validators self-stake
// 1,000 AVT and take 10 % commission, changed by at most 1 % a day; unbonding lasts 7 days;
// epochs last a day; the emission is 5 % a year of total stake.
func DefaultStakingParams() StakingParams {
	return StakingParams{MinStake: avt.AVT(10), MinSelfStake: avt.AVT(1000), UnbondingSeconds: 7 * 24 * 3600,
		DefaultCommissionBps: 1000, MaxCommissionChangeBps: 100, EpochSeconds: 24 * 3600, EmissionAPRBps: 500}
}

// ReputationWeights are the parameters of the reputation score: the points each factor can add (their sum with Base
// is the maximum, 1000 by default), the caps of the saturating factors, and the penalties.
type ReputationWeights struct {
	// Base is what every registered agent starts with (a fresh agent is tier New).
	Base float64 `json:"base"`
	// Trust is the points of transitive trust: Trust × min(r, TrustCap)/TrustCap, where r is the
	// agent's EigenTrust value relative to the average agent (r = 1: average).
	Trust    float64 `json:"trust"`
	TrustCap float64 `json:"trust_cap"`
	// Tasks is the points of paid-task outcomes: the smoothed success rate (completed+1)/(all+2),
	// scaled by confidence 1 − e^(−all/TaskConfidence). Outcomes count weighted by the payer's
	// relative trust (at most 1: see TaskWeight), so tasks bought by untrusted agents — a ring's
	// members, sybils — count for little.
	Tasks          float64 `json:"tasks"`
	TaskConfidence float64 `json:"task_confidence"`
	// Attestations is the points of verified attestations, linear up to AttestationCap of them.
	Attestations   float64 `json:"attestations"`
	AttestationCap int     `json:"attestation_cap"`
	// Stake is the points of bonded stake, log-scaled: log(1+stake)/log(1+StakeCap), capped at 1.
	Stake    float64 `json:"stake"`
	StakeCap float64 `json:"stake_cap_avt"`
	// DisputeLost and Flag are the points each lost dispute and each confirmed auditor flag take
	// away, halving every HalfLifeDays.
	DisputeLost  float64 `json:"dispute_lost"`
	Flag         float64 `json:"flag"`
	HalfLifeDays float64 `json:"half_life_days"`
}

// DefaultReputationWeights: base 100, trust 400 (full at twice the average trust), tasks 250, attestations
// 100 (20 of them), stake 150 (log-scaled to 100,000 AVT); −150 a lost dispute, −200 a confirmed
// flag, 90-day half-life.
func DefaultReputationWeights() ReputationWeights {
	return ReputationWeights{Base: 100, Trust: 400, TrustCap: 2, Tasks: 250, TaskConfidence: 50, Attestations: 100, AttestationCap: 20,
		Stake: 150, StakeCap: 100_000, DisputeLost: 150, Flag: 200, HalfLifeDays: 90}
}

// validate adds the rules w breaks to bad.
func (w *ReputationWeights) validate(bad func(string)) {
	for _, f := range []struct {
		name string
		v    float64
	}{{"base", w.Base}, {"trust", w.Trust}, {"tasks", w.Tasks}, {"attestations", w.Attestations}, {"stake", w.Stake},
		{"dispute_lost", w.DisputeLost}, {"flag", w.Flag}} {
		if !(f.v >= 0 && f.v <= 1000) {
			bad("reputation." + f.name + " must be 0 to 1000")
		}
	}
	if !(w.TrustCap > 0 && w.TrustCap <= 1000) || !(w.TaskConfidence > 0 && w.TaskConfidence <= 1e6) ||
		!(w.StakeCap > 0 && w.StakeCap <= 1e12) || !(w.HalfLifeDays > 0 && w.HalfLifeDays <= 3650) {
		bad("reputation: trust_cap (0–1000], task_confidence (0–1e6], stake_cap_avt (0–1e12] and half_life_days (0–3650] must be in range")
	}
	if w.AttestationCap < 1 || w.AttestationCap > 10000 {
		bad("reputation.attestation_cap must be 1 to 10000")
	}
	if w.Base+w.Trust+w.Tasks+w.Attestations+w.Stake > 1000 {
		bad("reputation: base + trust + tasks + attestations + stake must be at most 1000 (the top score)")
	}
}

// EffectiveReputation is the reputation weights in force: a set made before they were part of
// it (zero) has the defaults.
func (p *Params) EffectiveReputation() ReputationWeights {
	if p.Reputation == (ReputationWeights{}) {
		return DefaultReputationWeights()
	}
	return p.Reputation
}

// AttestationParams are the economy's numbers of attestations: the treasury's reward for each
// accepted attestation (every type alike), the cooldown between two attestations of one
// (subject, type, attester), and how many attestations of one subject a rolling 24 hours
// accepts.
type AttestationParams struct {
	Reward          avt.Amount `json:"reward"`
	CooldownSeconds int64      `json:"cooldown_seconds"`
	DailyLimit      int        `json:"daily_limit"`
}

// DefaultAttestationParams: 0.5 AVT a reward, a 24-hour cooldown, 10 a day.
func DefaultAttestationParams() AttestationParams {
	return AttestationParams{Reward: avt.MustParse("0.5"), CooldownSeconds: 24 * 3600, DailyLimit: 10}
}

// EffectiveAttestations are the attestation numbers in force: a set made before they were part
// of it (zero) has the defaults.
func (p *Params) EffectiveAttestations() AttestationParams {
	if p.Attestations == (AttestationParams{}) {
		return DefaultAttestationParams()
	}
	return p.Attestations
}

func (a *AttestationParams) validate(bad func(string)) {
	if a.Reward.Cmp(avt.AVT(1000)) > 0 {
		bad("attestations.reward must be at most 1000 AVT")
	}
	if a.CooldownSeconds < 0 || a.CooldownSeconds > 30*24*3600 {
		bad("attestations.cooldown_seconds must be 0 to 2592000 (30 days)")
	}
	if a.DailyLimit < 1 || a.DailyLimit > 1000 {
		bad("attestations.daily_limit must be 1 to 1000")
	}
}

// MaxParamsBytes bounds the encoded parameter set a KindParams command may carry.
const MaxParamsBytes = 16 << 10

// MaxTiers bounds the tier table.
const MaxTiers = 32

// The errors of a parameter change.
var (
	ErrInvalidParams   = apperr.New(apperr.Invalid, "INVALID_PARAMS", "invalid parameter set")
	ErrParamsConflict  = apperr.New(apperr.Conflict, "PARAMS_VERSION_CONFLICT", "the parameter set changed since the version the change was made for")
	errParamsCorrupted = "the parameter set in force cannot be read"
)

// Validate returns nil for a parameter set the ledger can run with, or ErrInvalidParams whose
// details list every rule broken ("problems") — or the fee schedule's own INVALID_FEE_SCHEDULE.
func (p *Params) Validate() error {
	if err := p.Fee.Validate(); err != nil {
		return err
	}
	var problems []string
	bad := func(s string) { problems = append(problems, s) }
	if p.MaxSupply.IsZero() {
		bad("max_supply must be greater than zero")
	}
	if len(p.Tiers) == 0 || len(p.Tiers) > MaxTiers {
		bad(fmt.Sprintf("tiers must hold 1 to %d tiers", MaxTiers))
	}
	names := map[string]bool{}
	for i, t := range p.Tiers {
		if t.Name == "" || len(t.Name) > 64 || names[t.Name] {
			bad(fmt.Sprintf("tiers[%d].name must be 1 to 64 bytes and unique", i))
		}
		names[t.Name] = true
		if i == 0 && t.MinReputation != 0 {
			bad("tiers[0].min_reputation must be 0")
		}
		if i > 0 && t.MinReputation <= p.Tiers[i-1].MinReputation {
			bad(fmt.Sprintf("tiers[%d].min_reputation must be above the tier before", i))
		}
		if t.MinReputation < 0 || t.MinReputation > 1000 {
			bad(fmt.Sprintf("tiers[%d].min_reputation must be 0 to 1000", i))
		}
		if t.PerTransfer.IsZero() || t.PerTransfer.Cmp(t.Daily) > 0 {
			bad(fmt.Sprintf("tiers[%d]: per_transfer must be above zero and at most daily", i))
		}
	}
	s := &p.Staking
	if s.MinStake.IsZero() {
		bad("staking.min_stake must be greater than zero")
	}
	if s.MinSelfStake.Cmp(s.MinStake) < 0 {
		bad("staking.min_self_stake must be at least staking.min_stake")
	}
	if s.UnbondingSeconds < 1 || s.UnbondingSeconds > 365*24*3600 {
		bad("staking.unbonding_seconds must be 1 to 31536000 (a year)")
	}
	if s.EpochSeconds < 1 || s.EpochSeconds > 365*24*3600 {
		bad("staking.epoch_seconds must be 1 to 31536000 (a year)")
	}
	if s.DefaultCommissionBps > fee.BasisPoints || s.MaxCommissionChangeBps > fee.BasisPoints || s.EmissionAPRBps > fee.BasisPoints {
		bad("staking: default_commission_bps, max_commission_change_bps and emission_apr_bps must be at most 10000")
	}
	if p.Reputation != (ReputationWeights{}) {
		p.Reputation.validate(bad)
	}
	if p.Attestations != (AttestationParams{}) {
		p.Attestations.validate(bad)
	}
	p.Governance.validate(bad)
	p.Disputes.validate(bad)
	if len(problems) == 0 {
		return nil
	}
	return ErrInvalidParams.With("problems", problems)
}

// Encode is the canonical text of the set (JSON with fields in declaration order): what a
// KindParams event records and the head carries.
func (p *Params) Encode() string {
	b, err := json.Marshal(p)
	if err != nil { // only plain values: cannot fail
		panic(err)
	}
	return string(b)
}

// ParseParams decodes a set from its canonical text, rejecting unknown fields.
func ParseParams(s string) (Params, error) {
	var p Params
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	d.DisallowUnknownFields()
	if err := d.Decode(&p); err != nil {
		return Params{}, ErrInvalidParams.With("problems", []string{err.Error()})
	}
	return p, nil
}

// versionOrOne is the set's version; the configured set is version 1 even when it names none.
func (p *Params) versionOrOne() int { return max(p.Version, 1) }

// parsedParams caches the decoding of the head's parameter text.
type parsedParams struct {
	text string
	p    Params
}

// InForce returns the parameters in force after head: the set its last KindParams event recorded,
// or the configured set (as version 1 at least) when there was none.
func (l *Ledger) InForce(head Head) (Params, error) {
	if head.Params == "" {
		p := l.Params
		p.Version = 1
		return p, nil
	}
	if c := l.cache.parsed.Load(); c != nil && c.text == head.Params {
		return c.p, nil
	}
	p, err := ParseParams(head.Params)
	if err != nil {
		return Params{}, apperr.Internalf("%s: %w", errParamsCorrupted, err)
	}
	l.cache.parsed.Store(&parsedParams{text: head.Params, p: p})
	return p, nil
}

// ledgerCache is the state a Ledger keeps between calls: only caches of what the head says.
type ledgerCache struct {
	parsed atomic.Pointer[parsedParams]
}

// setParams applies a KindParams command: c.Params, whose version must be the next one, becomes
// the set in force. It returns the event's data.
//
// With c.Gov it executes the passed parameter-change proposal prop (govExecute checked it and
// marked it executed in sw): the proposal's changes made to the set in force are the next set.
// Without, it is the bootstrap change of an admin, refused once a proposal was made.
func (b *batch) setParams(c *Command, prop *Proposal) (map[string]string, error) {
	var next Params
	if prop != nil {
		var err error
		if next, err = ApplyChanges(b.params, prop.Content.Changes); err != nil {
			return nil, err
		}
	} else {
		if governed, err := b.governed(); err != nil {
			return nil, err
		} else if governed {
			return nil, ErrParamsGoverned
		}
		next = *c.Params
	}
	if want := b.params.versionOrOne() + 1; next.Version != want {
		return nil, ErrParamsConflict.With("field", "version").With("current_version", b.params.versionOrOne()).
			With("expected_version", want)
	}
	if next.MaxSupply.Cmp(b.head.Minted) < 0 {
		return nil, ErrInvalidParams.With("problems", []string{"max_supply must be at least the AVT minted so far (" + b.head.Minted.String() + ")"})
	}
	text := next.Encode()
	b.params = next
	b.head.Params = text
	data := map[string]string{"version": strconv.Itoa(next.Version), "params": text}
	if prop != nil {
		data["proposal"] = strconv.FormatUint(prop.ID, 10)
	}
	return data, nil
}

// validateParams checks a KindParams command's set.
func validateParams(c *Command) error {
	if c.Gov != nil { // a proposal's execution: the set is the proposal's changes
		if c.Params != nil || c.Gov.Proposal == 0 {
			return ErrProposalMismatch.With("field", "params")
		}
		return nil
	}
	if c.Params == nil {
		return ErrInvalidParams.With("field", "params").With("problems", []string{"a parameter change needs the new set"})
	}
	if err := c.Params.Validate(); err != nil {
		return err
	}
	if len(c.Params.Encode()) > MaxParamsBytes {
		return ErrInvalidParams.With("field", "params").With("max_bytes", MaxParamsBytes)
	}
	return nil
}

// ParamsVersion is one version of the parameter set and the event that put it in force (none,
// Seq 0, for the configured version 1).
type ParamsVersion struct {
	Params     Params
	Seq        uint64
	TransferID string
	SetAt      time.Time
	Message    string
}
