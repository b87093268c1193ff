// Package fee is the transfer fee: fee = clamp(amount × rate, min, max), paid by
// the sender on top of the amount and split among the treasury, the validator pool, the staking
// reward pool and the burn sink, exactly in base units.
//
// The package is pure arithmetic on avt.Amount: no I/O, no floats, no rounding other than the
// floor of each share, whose remainder goes to the treasury so that the shares always add up to the
// fee to the unit.
package fee

import (
	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
)

// BasisPoints is 100 %, in basis points: rates and shares are fractions of it.
const BasisPoints = 10000

// The default schedule's numbers.
const (
	DefaultRateBps       = 10   // 0.1 % of the amount
	DefaultTreasuryBps   = 4000 // 40 %
	DefaultValidatorsBps = 3000 // 30 %
	DefaultStakersBps    = 2000 // 20 %
	DefaultBurnBps       = 1000 // 10 %
)

// Default minimum and maximum fee: 0.001 AVT and 10 AVT.
var (
	DefaultMin = avt.MustParse("0.001")
	DefaultMax = avt.AVT(10)
)

// CodeInvalidSchedule is the error code of Validate.
const CodeInvalidSchedule = "INVALID_FEE_SCHEDULE"

// Schedule is a fee schedule: a rate clamped to [Min, Max], and the split of the fee in basis points.
// A schedule is valid (see Validate) when RateBps ≤ BasisPoints, Min ≤ Max, and the four shares add
// up to exactly BasisPoints; it is part of the governance-controlled parameter set.
type Schedule struct {
	// RateBps is the fee as a fraction of the amount, in basis points (10 = 0.1 %).
	RateBps uint64 `json:"rate_bps"`
	// Min and Max bound the fee: a fee below Min is raised to Min, one above Max lowered to Max.
	Min avt.Amount `json:"min"`
	Max avt.Amount `json:"max"`
	// TreasuryBps, ValidatorsBps, StakersBps and BurnBps are the shares of the fee, in basis
	// points, that go to the treasury, the validator pool, the staking reward pool and the burn
	// sink. They must add up to BasisPoints. The treasury also receives the rounding remainder.
	TreasuryBps   uint64 `json:"treasury_bps"`
	ValidatorsBps uint64 `json:"validators_bps"`
	StakersBps    uint64 `json:"stakers_bps"`
	BurnBps       uint64 `json:"burn_bps"`
}

// Default returns the default schedule: 10 bps clamped to [0.001 AVT, 10 AVT], split
// 40 % treasury, 30 % validators, 20 % stakers, 10 % burned.
func Default() Schedule {
	return Schedule{
		RateBps:       DefaultRateBps,
		Min:           DefaultMin,
		Max:           DefaultMax,
		TreasuryBps:   DefaultTreasuryBps,
		ValidatorsBps: DefaultValidatorsBps,
		StakersBps:    DefaultStakersBps,
		BurnBps:       DefaultBurnBps,
	}
}

// Validate returns nil for a valid schedule, or an *apperr.Error of kind Invalid and code
// INVALID_FEE_SCHEDULE whose details list every rule broken ("problems", a []string) together with
// the offending values: "rate_bps" above BasisPoints, "min" above "max", or shares ("shares_bps")
// that do not add up to BasisPoints (each share is checked against BasisPoints first, so a sum
// cannot wrap around to look right).
func (s Schedule) Validate() error {
	var problems []string
	details := map[string]any{}
	if s.RateBps > BasisPoints {
		problems = append(problems, "rate_bps must be at most 10000 (100 %)")
		details["rate_bps"] = s.RateBps
	}
	if s.Min.Cmp(s.Max) > 0 {
		problems = append(problems, "min must not exceed max")
		details["min"], details["max"] = s.Min.String(), s.Max.String()
	}
	shares := [...]uint64{s.TreasuryBps, s.ValidatorsBps, s.StakersBps, s.BurnBps}
	var sum uint64
	sharesOK := true
	for _, b := range shares {
		if b > BasisPoints {
			sharesOK = false
			break
		}
		sum += b // at most 4 × 10000: cannot overflow
	}
	if !sharesOK || sum != BasisPoints {
		problems = append(problems, "treasury_bps + validators_bps + stakers_bps + burn_bps must equal 10000")
		details["shares_bps"] = map[string]uint64{
			"treasury": s.TreasuryBps, "validators": s.ValidatorsBps, "stakers": s.StakersBps, "burn": s.BurnBps,
		}
	}
	if len(problems) == 0 {
		return nil
	}
	err := apperr.New(apperr.Invalid, CodeInvalidSchedule, "invalid fee schedule: "+problems[0]).
		With("problems", problems)
	for k, v := range details {
		err = err.With(k, v)
	}
	return err
}

// Compute returns the fee on a transfer of amount: floor(amount × RateBps / 10000), raised to Min or
// lowered to Max. A zero amount pays Min; transfers of 0 AVT are rejected before a fee is charged,
// so that case only matters to callers quoting a fee. Compute is meant for a valid schedule; on an
// invalid one it still returns a value clamped the same way and never panics.
func (s Schedule) Compute(amount avt.Amount) avt.Amount {
	f, ok := amount.MulDiv(s.RateBps, BasisPoints)
	if !ok { // only when RateBps > BasisPoints: the exact fee is above avt.Max, hence above Max
		f = avt.Max
	}
	switch {
	case f.Cmp(s.Min) < 0:
		return s.Min
	case f.Cmp(s.Max) > 0:
		return s.Max
	}
	return f
}

// Split is a fee divided among the system accounts that receive it.
type Split struct {
	Treasury   avt.Amount `json:"treasury"`
	Validators avt.Amount `json:"validators"`
	Stakers    avt.Amount `json:"stakers"`
	Burn       avt.Amount `json:"burn"`
}

// Split divides fee by the schedule's shares: the validator pool, the staking reward pool and the
// burn sink each get floor(fee × bps / 10000), and the treasury gets the rest — its own floor share
// plus the rounding remainder, which is at most 3 units (one less than the number of shares). The
// shares always add up to fee exactly, even for an invalid schedule (shares are then capped so that
// none exceeds what is left, and Split never panics).
func (s Schedule) Split(fee avt.Amount) Split {
	rest := fee
	take := func(bps uint64) avt.Amount {
		part, ok := fee.MulDiv(min(bps, BasisPoints), BasisPoints)
		if !ok || part.Cmp(rest) > 0 { // impossible for a valid schedule
			part = rest
		}
		rest, _ = rest.Sub(part)
		return part
	}
	var sp Split
	sp.Validators = take(s.ValidatorsBps)
	sp.Stakers = take(s.StakersBps)
	sp.Burn = take(s.BurnBps)
	sp.Treasury = rest
	return sp
}

// Total returns the sum of the shares, which equals the fee that was split. It saturates at avt.Max,
// which a Split made by Schedule.Split never reaches.
func (sp Split) Total() avt.Amount {
	t := sp.Treasury
	for _, p := range [...]avt.Amount{sp.Validators, sp.Stakers, sp.Burn} {
		var ok bool
		if t, ok = t.Add(p); !ok {
			return avt.Max
		}
	}
	return t
}
