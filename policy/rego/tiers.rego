# Reputation tiers, for the decisions that depend on one (filing disputes, proposing,
# arbitrating). The tiers' transfer limits are not here: they are ledger parameters, and the
# ledger checks every transfer's amount against them, and the sender's rolling 24-hour total,
# in the step that applies it (an amount check here could not see concurrent transfers).
package sovereign.tiers

# tiers, lowest first: a score of min_reputation or more reaches the tier
# (Untrusted < 100 ≤ New < 400 ≤ Trusted < 700 ≤ Verified < 900 ≤ Elite). The ledger's tier
# table (teg.DefaultTiers) has the same thresholds; a Go test keeps them equal.
tiers := [
	{"name": "Untrusted", "min_reputation": 0},
	{"name": "New", "min_reputation": 100},
	{"name": "Trusted", "min_reputation": 400},
	{"name": "Verified", "min_reputation": 700},
	{"name": "Elite", "min_reputation": 900},
]

# default_tier is the tier of a subject whose input has neither a reputation nor a known tier:
# a newly registered agent starts as New.
default_tier := "New"

# validator_min_stake is the self-stake that makes an agent a validator; arbitration needs it.
validator_min_stake := 1000

# proposal_min_stake is the stake a governance proposal needs.
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

# subject_tier is the input subject's tier: from subject.reputation when the input has one (the
# score is authoritative), else subject.tier when it names a tier, else default_tier.
# A Go caller cannot send reputation 0 (the field is omitempty): it sends tier "Untrusted".
subject_tier := tier_of(input.subject.reputation) if {
	is_number(input.subject.reputation)
} else := input.subject.tier if {
	rank[input.subject.tier]
} else := default_tier

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
