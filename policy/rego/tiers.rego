# Reputation tiers and the privileges they carry (DESIGN §8.3), for sovereign.authz and for the
# ledger, which reads a subject's limits from `limits` (Engine.Limits).
#
# Amounts are decimal strings of AVT ("12.5"). They are compared exactly: avt_units turns them
# into integers of 10^-18 AVT, so a sum such as daily_total + amount has no float rounding at the
# limit. (OPA compares plain numbers exactly too, but adds non-integers as floats.)
package sovereign.tiers

# tiers, lowest first: a score of min_reputation or more reaches the tier
# (Untrusted < 100 ≤ New < 400 ≤ Trusted < 700 ≤ Verified < 900 ≤ Elite).
# per_transfer is the largest single transfer in AVT; the daily limit is daily_factor times it.
tiers := [
	{"name": "Untrusted", "min_reputation": 0, "per_transfer": 10},
	{"name": "New", "min_reputation": 100, "per_transfer": 100},
	{"name": "Trusted", "min_reputation": 400, "per_transfer": 1000},
	{"name": "Verified", "min_reputation": 700, "per_transfer": 10000},
	{"name": "Elite", "min_reputation": 900, "per_transfer": 1000000},
]

daily_factor := 10

# default_tier is the tier of a subject whose input has neither a reputation nor a known tier:
# a newly registered agent starts as New (it may file disputes and send up to 100 AVT).
default_tier := "New"

# validator_min_stake is the self-stake that makes an agent a validator (§8.2); arbitration
# needs it.
validator_min_stake := 1000

# proposal_min_stake is the stake a governance proposal needs (§8.7).
proposal_min_stake := 1000

# units_per_avt: 10^18 units make one AVT.
units_per_avt := 1000000000000000000

# rank orders the tiers: rank["Untrusted"] == 0 … rank["Elite"] == 4.
rank[t.name] := i if some i, t in tiers

# tier_of is the tier of a reputation score (any number; below 100 is Untrusted).
tier_of(reputation) := tiers[n].name if {
	is_number(reputation)
	n := count([i | some i, t in tiers; i > 0; reputation >= t.min_reputation])
}

# at_least holds when tier is min or above; undefined for unknown names.
at_least(tier, min) if rank[tier] >= rank[min]

# limits_of is a tier's transfer limits in AVT.
limits_of(tier) := {"tier": tier, "per_transfer": p, "daily": p * daily_factor} if {
	p := tiers[rank[tier]].per_transfer
}

# subject_tier is the input subject's tier: from subject.reputation when the input has one (the
# score is authoritative), else subject.tier when it names a tier, else default_tier.
# A Go caller cannot send reputation 0 (the field is omitempty): it sends tier "Untrusted".
subject_tier := tier_of(input.subject.reputation) if {
	is_number(input.subject.reputation)
} else := input.subject.tier if {
	rank[input.subject.tier]
} else := default_tier

# limits are the input subject's transfer limits: {"tier", "per_transfer", "daily"} in AVT.
limits := limits_of(subject_tier)

# avt_units is a decimal AVT amount ("12.5", "0.001", "1000") as an exact integer count of
# 10^-18 AVT; undefined for anything else (signs, exponents, more than 18 decimals, non-strings).
avt_units(s) := (to_number(parts[0]) * units_per_avt) + to_number(fraction) if {
	is_string(s)
	regex.match(`^[0-9]{1,16}(\.[0-9]{1,18})?$`, s)
	parts := split(s, ".")
	fraction := substring(concat("", [concat("", array.slice(parts, 1, 2)), "000000000000000000"]), 0, 18)
}

# stake_at_least holds when subject.stake (decimal AVT) is at least min AVT.
stake_at_least(min) if avt_units(input.subject.stake) >= min * units_per_avt

# transfer_amount is context.amount in 10^-18 AVT.
transfer_amount := avt_units(input.context.amount)

# daily_total is context.daily_total in 10^-18 AVT: what the subject already sent today, by the
# ledger's count. 0 when the input has none, undefined when it is not a decimal amount.
daily_total := 0 if {
	not input.context.daily_total
} else := avt_units(input.context.daily_total)

# transfer_denial is why a transfer of context.amount is not allowed to the input subject:
# not a positive amount, over the tier's per-transfer limit, or over its daily limit counting
# daily_total. Undefined when the transfer is within the limits.
transfer_denial := "token.transfer needs context.amount: a positive decimal amount of AVT" if {
	not valid_amount
} else := msg if {
	transfer_amount > limits.per_transfer * units_per_avt
	msg := sprintf("%s AVT is over the %s tier's per-transfer limit of %v AVT", [input.context.amount, subject_tier, limits.per_transfer])
} else := "token.transfer needs context.daily_total: a decimal amount of AVT" if {
	not valid_daily_total
} else := msg if {
	daily_total + transfer_amount > limits.daily * units_per_avt
	msg := sprintf("%s AVT more would pass the %s tier's daily limit of %v AVT (%s AVT sent today)", [input.context.amount, subject_tier, limits.daily, input.context.daily_total])
}

# (helpers, so that `not` sees an undefined amount as invalid: see authz.rego)
valid_amount if transfer_amount > 0

valid_daily_total if daily_total >= 0
